/* Console screens for the four-eyes step: one "Awaiting review" list across release orders,
 * vehicle changes, lane-parameter drafts, manual declaration matches and risk-rule drafts, each
 * opened with what would change and approved or rejected with a note (central refuses the
 * preparer: 403, shown as it is); and the lane-parameter form, which files a draft. */
"use strict";

K.addTerms({
  awaiting: ["Awaiting review", "待复核"], open_item: ["Open", "查看"], kind_col: ["Kind", "类别"], subject: ["Subject", "对象"],
  prepared_by: ["Prepared by", "制单人"], prepared_at: ["Prepared", "制单时间"], what_changes: ["What changes", "变更内容"],
  k_release_order: ["Release order", "核放单"], k_vehicle_change: ["Vehicle change", "换车"], k_parameters: ["Lane parameters", "通道参数"],
  k_manual_match: ["Manual match", "人工匹配"], k_risk_rule: ["Risk rule", "风险规则"],
  field_col: ["Field", "字段"], current: ["Current", "当前值"], proposed: ["Proposed", "拟改为"],
  by_you: ["prepared by you", "您制单"], not_yours_to_review: ["Central refused: the reviewer is never the preparer — another officer must review this.", "中心拒绝：复核人不能是制单人，须由另一名关员复核。"],
  not_waiting: ["Central refused: this no longer awaits review.", "中心拒绝：该项已不在待复核状态。"],
  approved_msg: ["Approved", "已批准"], rejected_msg: ["Rejected", "已驳回"], nothing_waits: ["Nothing awaits review", "暂无待复核事项"],
  scope_pick: ["Scope (lane, or * for every lane)", "范围（通道，* 为全部通道）"], scope: ["Scope", "范围"], load: ["Load", "读取"], file_draft: ["File as draft", "提交草稿"],
  draft_filed: ["Draft #{id} filed: in force once another officer approves it", "已提交草稿 #{id}：须另一名关员批准后生效"],
  param_drafts: ["Parameter drafts", "参数草稿"], params_in_force: ["In force", "生效中"], revision: ["Revision", "修订号"],
  doc_no: ["Document no.", "单号"], stage: ["Stage", "阶段"], trade_mode: ["Trade mode", "监管方式"], item_count: ["Items", "商品项数"],
  total_quantity: ["Total quantity", "总数量"], total_amount: ["Total amount", "总金额"], list_no: ["List no.", "清单编号"], unified_no: ["Unified no.", "统一编号"],
  plate_change: ["Plate", "车牌"], reason: ["Reason", "原因"], draft_doc: ["Draft declaration", "草单"], official_doc: ["Official declaration", "正式报关单"],
  weight_tolerance_kg: ["Weight tolerance (kg)", "重量容差（kg）"], weight_tolerance_pct: ["Weight tolerance (%)", "重量容差（%）"],
  tare_mode: ["Tare", "皮重来源"], random_inspection_rate: ["Random inspection rate (0–1)", "随机查验比例（0–1）"],
  transit_time_limit_h: ["Transit time limit (h)", "转关时限（小时）"], min_plate_confidence: ["Minimum plate confidence (0–1)", "车牌最低置信度（0–1）"],
  require_registered_vehicle: ["Vehicle must be registered", "车辆须备案"], require_driver_card: ["Driver IC card required", "须刷司机卡"],
  k_control_order: ["Control order", "布控"], previous_order: ["Previous order (re-control)", "原布控单（复控）"],
  revoke_reason: ["Why revoke", "撤控原因"], k_control_revoke: ["Control order revocation", "撤控"],
  rv_approve: ["Approve", "批准"], rv_reject: ["Reject", "驳回"], rv_note: ["Note (required to reject)", "审核意见（驳回必填）"],
  rv_confirm_approve: ["Approve this? It takes effect at once.", "确认批准？批准后立即生效。"],
  rv_confirm_reject: ["Reject this? The preparer sees your note.", "确认驳回？制单人将看到您的意见。"],
  rv_confirm: ["Confirm", "确认"], rv_back: ["Back", "返回"],
  rv_reason_needed: ["Write why you reject it.", "驳回须填写理由。"],
  k_declaration: ["Declaration / inventory list", "报关单/核注清单"], k_reconciliation: ["Ledger reconciliation", "报核"],
  theoretical: ["Theoretical", "应剩余"], actual: ["Actual", "实际剩余"],
});

/* Explicit 批准 / 驳回 with a confirmation step; a rejection needs a note. `decide(approve, note)`
 * sends it; its error is shown in the officer's words. Used for every review in the console. */
function reviewBox(decide) {
  const note = K.el("textarea", { rows: 2, placeholder: K.t("rv_note"), "aria-label": K.t("rv_note"), "data-testid": "review-note" });
  const msg = K.el("p", { class: "form-msg", "data-testid": "review-msg", role: "alert" });
  const confirm = K.el("div", { class: "review-confirm", "data-testid": "review-confirm", hidden: true });
  const buttons = K.el("div", { class: "review-buttons" });
  const ask = (approve) => () => {
    if (!approve && !note.value.trim()) {
      msg.className = "form-msg bad"; msg.textContent = K.t("rv_reason_needed"); note.focus(); return;
    }
    msg.textContent = "";
    buttons.hidden = true; confirm.hidden = false;
    confirm.replaceChildren(K.el("b", { text: K.t(approve ? "rv_confirm_approve" : "rv_confirm_reject") }),
      K.el("button", { class: approve ? "approve-btn" : "reject-btn", "data-testid": "confirm", text: K.t("rv_confirm") + " " + K.t(approve ? "rv_approve" : "rv_reject"),
        onclick: async () => {
          confirm.hidden = true; buttons.hidden = false;
          try { await decide(approve, note.value.trim()); } catch (e) { msg.className = "form-msg bad"; msg.textContent = e.message; }
        } }),
      K.el("button", { class: "ghost", "data-testid": "confirm-back", text: K.t("rv_back"), onclick: () => { confirm.hidden = true; buttons.hidden = false; } }));
  };
  note.addEventListener("input", () => { if (note.value.trim() && msg.classList.contains("bad")) { msg.textContent = ""; msg.className = "form-msg"; } });
  buttons.append(
    K.el("button", { class: "approve-btn", "data-testid": "approve", text: "✔ " + K.t("rv_approve"), onclick: ask(true) }),
    K.el("button", { class: "reject-btn", "data-testid": "reject", text: "✘ " + K.t("rv_reject"), onclick: ask(false) }));
  const box = K.el("div", { class: "review-box" }, note, buttons, confirm, msg);
  box.msg = msg;
  return box;
}

/* An error from a review, in the officer's words first, then central's own detail. */
function reviewError(e) {
  const lead = e.status === 403 ? K.t("not_yours_to_review") : e.status === 409 ? K.t("not_waiting") : K.explain(e);
  return e.status === 403 || e.status === 409 ? `${lead} (${e.message})` : lead;
}

const meName = () => (C.user || "").replace(/ \(.*\)$/, "");
const fmtVal = (v) => (v === null || v === undefined || v === "" ? "—" : Array.isArray(v) ? v.join(", ") || "—"
  : typeof v === "object" ? JSON.stringify(v) : /^\d{4}-\d\d-\d\dT/.test(String(v)) ? K.fmtDateTime(v) : String(v));

/* What awaits review, from each endpoint that lists it; a kind whose endpoint is absent is left out. */
async function awaitingItems() {
  const has = (p) => !!C.spec.paths[p];
  const get = (p, url) => (has(p) ? K.api(url).then(K.items) : Promise.resolve([]));
  const [drafts, active, params, current, decls, rules, inForce, ctlPending, ctlActive, ctlRevoke] = await Promise.all([
    get("/api/v1/release-orders", "/api/v1/release-orders?status=draft&limit=500"),
    get("/api/v1/release-orders", "/api/v1/release-orders?status=active&limit=500"),
    get("/api/v1/parameters/drafts", "/api/v1/parameters/drafts"),
    get("/api/v1/parameters", "/api/v1/parameters"),
    get("/api/v1/declarations", "/api/v1/declarations?matched=true&limit=500"),
    get("/api/v1/risk-rules/pending", "/api/v1/risk-rules/pending"),
    get("/api/v1/risk-rules", "/api/v1/risk-rules"),
    get("/api/v1/control-orders", "/api/v1/control-orders?status=pending_review&limit=500"),
    get("/api/v1/control-orders", "/api/v1/control-orders?status=active&limit=500"),
    get("/api/v1/control-orders", "/api/v1/control-orders?status=revoke_pending&limit=500"),
  ]);
  const enc = encodeURIComponent;
  const items = [];
  // The list does not say who prepared a draft order; drafts are few, so each is read once.
  const details = await Promise.all(drafts.map((o) => K.api(`/api/v1/release-orders/${enc(o.order_no)}`).then((d) => d.order).catch(() => o)));
  // Control orders: new ones, emergency ones already in force but not yet reviewed, and revocations.
  const ctlChanges = (o) => async () => ["target_kind", "target_value", "action", "emergency", "valid_from", "valid_until", "reason", "previous_order"]
    .map((k) => [k, null, typeof o[k] === "boolean" ? K.t(o[k] ? "yes" : "no") : ["target_kind", "action"].includes(k) ? K.t(o[k]) : o[k]]);
  for (const o of [...ctlPending, ...ctlActive.filter((o) => o.emergency && !o.reviewed_by)]) {
    items.push({ kind: "control_order", key: o.order_no, subject: `${o.order_no} · ${o.target_value}`, by: o.created_by, at: o.created_at,
      url: `/api/v1/control-orders/${enc(o.order_no)}/review`, changes: ctlChanges(o) });
  }
  for (const o of ctlRevoke) {
    items.push({ kind: "control_revoke", key: o.order_no, subject: `${o.order_no} · ${o.target_value}`, by: o.revoke_requested_by,
      url: `/api/v1/control-orders/${enc(o.order_no)}/revoke/review`,
      changes: async () => [["target_value", null, o.target_value], ["revoke_reason", null, o.revoke_reason]] });
  }
  for (const o of details) {
    items.push({ kind: "release_order", key: o.order_no, subject: `${o.order_no} · ${o.plate}`, by: o.created_by,
      url: `/api/v1/release-orders/${enc(o.order_no)}/review`, changes: () => orderChanges(o.order_no) });
  }
  for (const o of active.filter((o) => o.pending_plate)) {
    items.push({ kind: "vehicle_change", key: o.order_no, subject: `${o.order_no}: ${o.plate} → ${o.pending_plate}`, by: o.pending_by,
      url: `/api/v1/release-orders/${enc(o.order_no)}/vehicle/review`, changes: () => vehicleChanges(o.order_no) });
  }
  for (const d of params) {
    const now = await paramsNow(current, d.scope);
    items.push({ kind: "parameters", key: String(d.id), subject: `#${d.id} · ${d.scope === "*" ? "*" : d.scope}`, by: d.created_by, at: d.created_at,
      url: `/api/v1/parameters/drafts/${d.id}/review`,
      changes: async () => Object.keys(d.data).filter((k) => k !== "scope").map((k) => [k, now[k], d.data[k]]) });
  }
  // Both documents of a pair carry manual_pending: one entry per pair.
  for (const a of decls.filter((x) => x.match_rule === "manual_pending" && x.id < x.matched_id)) {
    const b = decls.find((x) => x.id === a.matched_id) || { doc_no: "#" + a.matched_id };
    items.push({ kind: "manual_match", key: String(a.id), subject: `${a.doc_no} ↔ ${b.doc_no}`, by: a.match_by,
      url: `/api/v1/declarations/${a.id}/match/review`,
      changes: async () => ["doc_no", "stage", "direction", "trade_mode", "item_count", "total_quantity", "total_amount", "list_no", "unified_no"]
        .map((k) => [k, a[k], b[k]]), heads: [a, b].map((d) => `${K.t(d.stage === "official" ? "official_doc" : "draft_doc")} #${d.id || a.matched_id}`) });
  }
  // Documents and 报核 results awaiting a second officer before they count.
  const [pendingDocs, pendingRecs] = await Promise.all([
    get("/api/v1/declarations", "/api/v1/declarations?review_status=pending&limit=500"),
    get("/api/v1/ledger-reconciliations", "/api/v1/ledger-reconciliations?status=pending&limit=500"),
  ]);
  for (const d of pendingDocs) {
    items.push({ kind: "declaration", key: String(d.id), subject: `${d.doc_no} · ${K.t(d.stage === "official" ? "official_doc" : "draft_doc")}`,
      by: d.created_by, at: d.created_at, url: `/api/v1/declarations/${d.id}/review`,
      changes: async () => ["doc_type", "direction", "trade_mode", "item_count", "total_quantity", "total_amount", "ledger_no", "list_no", "unified_no"]
        .map((k) => [k, null, d[k]]) });
  }
  for (const r of pendingRecs) {
    items.push({ kind: "reconciliation", key: String(r.id), subject: `${r.ledger_no} #${r.id}`, by: r.prepared_by, at: r.prepared_at,
      url: `/api/v1/ledger-reconciliations/${r.id}/review`, heads: [K.t("theoretical"), K.t("actual")],
      changes: async () => r.lines.filter((l) => l.theoretical != null).map((l) => [l.item_no, l.theoretical, l.actual]) });
  }
  for (const v of rules) {
    const now = inForce.find((r) => r.rule_id === v.rule_id) || {};
    items.push({ kind: "risk_rule", key: `${v.rule_id}/${v.version}`, subject: `${v.rule_id} v${v.version}`, by: v.created_by, at: v.created_at,
      url: `/api/v1/risk-rules/${enc(v.rule_id)}/versions/${v.version}/review`,
      changes: async () => ["name", "outcome", "priority", "explanation", "conditions"].map((k) => [k, now[k], v.data[k]]) });
  }
  return items;
}

async function orderChanges(no) {
  const o = (await K.api(`/api/v1/release-orders/${encodeURIComponent(no)}`)).order;
  return ["plate", "containers", "direction", "valid_from", "valid_until", "declared_gross_kg", "declared_net_kg", "declarations", "batch_unit", "total_quantity"]
    .map((k) => [k, null, o[k]]).concat([["created_by", null, o.created_by]]);
}

async function vehicleChanges(no) {
  const o = (await K.api(`/api/v1/release-orders/${encodeURIComponent(no)}`)).order;
  return [["plate_change", o.plate, o.pending_plate], ["reason", null, o.pending_reason], ["prepared_by", null, o.pending_by]];
}

/* The values a scope has now: its own row in force, else what applies to it (the "*" row or the built-in defaults). */
async function paramsNow(rows, scope) {
  const own = rows.find((r) => r.scope === scope);
  return own || K.api(`/api/v1/parameters/effective${scope === "*" ? "" : "?lane=" + encodeURIComponent(scope)}`).catch(() => ({}));
}

/* One item opened: what changes, then approve or reject with a note. */
async function openReview(item, onDone) {
  const rows = await item.changes();
  const [h1, h2] = item.heads || [K.t("current"), K.t("proposed")];
  const box = reviewBox(async (approve, note) => {
    try {
      await K.api(item.url, { body: { approve, note } });
      $("dialog").close(); onDone();
    } catch (e) {
      if (e.status === 401) { $("dialog").close(); openLogin(); return; }
      box.msg.className = "form-msg bad"; box.msg.textContent = reviewError(e);
    }
  });
  openDialog(`${K.t("k_" + item.kind)} — ${item.subject}`,
    item.by ? K.el("p", { class: "muted" }, `${K.t("prepared_by")}: ${item.by}`, item.by === meName() ? ` · ${K.t("by_you")}` : "") : null,
    K.el("table", { class: "grid", "data-testid": "review-changes" },
      K.el("thead", {}, K.el("tr", {}, [K.t("field_col"), h1, h2].map((h) => K.el("th", { text: h })))),
      K.el("tbody", {}, rows.map(([k, a, b]) => K.el("tr", { style: a != null && fmtVal(a) !== fmtVal(b) ? "background:#3a2f10" : null, "data-testid": "change-" + k },
        K.el("td", { text: K.t(k) }), K.el("td", { text: fmtVal(a) }), K.el("td", {}, K.el("b", { text: fmtVal(b) })))))),
    box);
}

SCREENS.awaiting = async function awaitingView() {
  const view = $("view");
  const body = K.el("div");
  const kinds = ["control_order", "control_revoke", "release_order", "vehicle_change", "parameters", "manual_match", "risk_rule",
    "declaration", "reconciliation"];
  async function refresh() {
    const items = await awaitingItems();
    const counts = K.el("div", { class: "kpis", "data-testid": "review-counts" }, kinds.map((k) => K.el("div", { class: "card kpi", "data-testid": "count-" + k },
      K.el("div", { class: "muted", text: K.both("k_" + k) }), K.el("div", { class: "v", text: String(items.filter((i) => i.kind === k).length) }))));
    const me = meName();
    body.replaceChildren(counts, items.length ? K.el("table", { class: "grid", "data-testid": "awaiting" },
      K.el("thead", {}, K.el("tr", {}, ["kind_col", "subject", "prepared_by", "prepared_at", ""].map((h) => K.el("th", { text: h && K.t(h) })))),
      K.el("tbody", {}, items.map((i) => K.el("tr", { class: "clickable", "data-testid": "awaiting-row", "data-kind": i.kind, "data-key": i.key,
        onclick: () => guarded(view, () => openReview(i, refresh)) },
      K.el("td", {}, K.el("span", { class: "pill st-draft", text: K.t("k_" + i.kind) })), K.el("td", { text: i.subject }),
      K.el("td", { text: (i.by || "—") + (i.by && i.by === me ? ` (${K.t("by_you")})` : "") }),
      K.el("td", { text: i.at ? K.fmtDateTime(i.at) : "—" }),
      K.el("td", {}, K.el("button", { text: K.t("open_item") })))))) : K.el("p", { class: "empty", "data-testid": "nothing-awaits", text: K.t("nothing_waits") }));
  }
  await refresh();
  view.replaceChildren(K.el("h2", { text: K.both("awaiting") }), body);
};

/* A draft awaiting review: what it would change in the scope's values in force; once reviewed, the revision it became. */
function draftSummary(d, now) {
  if (d.status !== "draft") return d.revision ? `${K.t("revision")} ${d.revision}` : "—";
  const diff = Object.entries(d.data).filter(([k, v]) => k !== "scope" && (!now || fmtVal(now[k]) !== fmtVal(v)));
  return diff.map(([k, v]) => `${K.t(k)}: ${now ? fmtVal(now[k]) + " → " : ""}${fmtVal(v)}`).join("; ") || "—";
}

/* Lane parameters: the scope's values as a form; saving files a draft; the drafts with their status. */
SCREENS.parameters = async function parametersView() {
  const view = $("view");
  const schema = K.resolve(C.spec, { $ref: "#/components/schemas/LaneParameters" });
  const props = Object.entries((schema && schema.properties) || {}).filter(([n]) => n !== "scope");
  const scope = K.el("input", { value: C.paramScope || "*", "data-testid": "param-scope" });
  const form = K.el("form", { class: "auto-form", novalidate: true, "data-testid": "param-form" });
  const msg = K.el("div", { class: "form-msg", "data-testid": "param-msg" });
  const lists = K.el("div");
  let revision = null;
  const inputs = {};
  for (const [n, raw] of props) {
    const p = K.resolve(C.spec, raw);
    const input = p.enum ? K.el("select", {}, p.enum.map((e) => K.el("option", { value: e, text: e })))
      : p.type === "boolean" ? K.el("input", { type: "checkbox" })
        : K.el("input", { type: "number", step: "any", min: p.minimum ?? p.exclusiveMinimum, max: p.maximum });
    input.setAttribute("data-testid", "param-" + n);
    inputs[n] = { input, p };
    form.append(K.el("label", { class: "field" }, K.el("span", { class: "field-label", text: K.t(n) }), input));
  }
  form.append(K.el("div", { class: "form-actions" }, K.el("button", { type: "submit", class: "primary", "data-testid": "file-draft", text: K.t("file_draft") }), msg));
  const fill = (data) => {
    for (const [n, { input, p }] of Object.entries(inputs)) {
      const v = data[n] ?? p.default;
      if (input.type === "checkbox") input.checked = !!v; else input.value = v ?? "";
    }
  };
  async function refresh() {
    const [rows, ...drafts] = await Promise.all([K.api("/api/v1/parameters"),
      ...["draft", "approved", "rejected"].map((s) => K.api(`/api/v1/parameters/drafts?status=${s}`))]);
    const mine = rows.find((r) => r.scope === (scope.value.trim() || "*"));
    revision = mine ? mine.revision : null;
    const all = drafts.flat().sort((a, b) => b.id - a.id).slice(0, 20);
    const now = {};
    for (const d of all) if (d.status === "draft" && !(d.scope in now)) now[d.scope] = await paramsNow(rows, d.scope);
    lists.replaceChildren(
      K.el("h3", { text: K.t("param_drafts") }),
      all.length ? K.el("table", { class: "grid", "data-testid": "param-drafts" },
        K.el("thead", {}, K.el("tr", {}, ["#", "scope", "status", "what_changes", "created_by", "reviewed_by"].map((h) => K.el("th", { text: h === "#" ? h : K.t(h) })))),
        K.el("tbody", {}, all.map((d) => K.el("tr", { "data-testid": "param-draft", "data-id": d.id },
          K.el("td", { text: "#" + d.id }), K.el("td", { text: d.scope }),
          K.el("td", {}, K.el("span", { class: "pill st-" + d.status, "data-testid": "draft-status", text: K.t(d.status) })),
          K.el("td", { text: draftSummary(d, now[d.scope]) }),
          K.el("td", { text: `${d.created_by} · ${K.fmtDateTime(d.created_at)}` }),
          K.el("td", { text: d.reviewed_by ? `${d.reviewed_by}${d.review_note ? ": " + d.review_note : ""}` : "—" }))))) : K.el("p", { class: "empty", text: K.t("none") }),
      K.el("h3", { text: K.t("params_in_force") }),
      K.table(rows, { testid: "params-in-force", columns: ["scope", "revision", ...props.map(([n]) => n), "updated_by"] }));
    return rows;
  }
  const load = async () => {
    C.paramScope = scope.value.trim() || "*";
    const rows = await refresh();
    fill(await paramsNow(rows, C.paramScope));
  };
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = { scope: scope.value.trim() || "*" };
    for (const [n, { input }] of Object.entries(inputs)) {
      body[n] = input.type === "checkbox" ? input.checked : input.type === "number" ? (input.value === "" ? null : Number(input.value)) : input.value;
      if (body[n] === null) delete body[n];
    }
    try {
      const qs = revision ? `?expect_revision=${revision}` : "";
      const d = await K.api(`/api/v1/parameters${qs}`, { method: "PUT", body });
      msg.className = "form-msg good"; msg.textContent = K.t("draft_filed", { id: d.id });
      await refresh();
    } catch (e) {
      if (e.status === 401) { openLogin(); return; }
      msg.className = "form-msg bad";
      const errs = e.body && Array.isArray(e.body.errors) ? e.body.errors.map((x) => `${K.t(String(x.loc.slice(-1)[0]))}: ${x.msg}`) : [];
      msg.textContent = `${K.t("error")}: ${errs.length ? errs.join("; ") : e.message}`;
    }
  });
  view.replaceChildren(K.el("h2", { text: K.both("parameters") }),
    K.el("form", { class: "toolbar", onsubmit: (e) => { e.preventDefault(); guarded(view, load); } },
      K.el("label", {}, K.t("scope_pick"), " ", scope), K.el("button", { type: "submit", text: K.t("load") })),
    K.el("section", { class: "card" }, form), lists);
  await load();
};
