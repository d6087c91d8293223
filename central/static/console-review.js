/* Console screens for the four-eyes step: one "Awaiting review" list of every kind central reviews
 * (GET /api/v1/reviews, a page at a time), each opened with what would change and approved or
 * rejected with a note (central refuses the preparer: 403, shown as it is); and the lane-parameter
 * form, which files a draft. */
"use strict";

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

/* What awaits review: one page of GET /api/v1/reviews (every kind, with its count and its name in
 * both languages). What an item would change is read from its record's own endpoint when opened. */
const REVIEW_PAGE = Number(new URLSearchParams(location.search).get("review_page")) || 50;  // ?review_page=N: a smaller page
async function awaitingPage(offset) {
  const page = await K.api(`/api/v1/reviews?limit=${REVIEW_PAGE}&offset=${offset}`);
  K.addTerms(Object.fromEntries(page.kinds.map((k) => ["k_" + k.kind, [k.label_en, k.label]])));
  const items = page.items.map((i) => {
    const item = { kind: i.kind, key: i.key, subject: i.summary, by: i.submitted_by, at: i.submitted_at, url: i.approve_url };
    item.changes = () => (CHANGES[i.kind] || (async () => []))(i.key, item);
    return item;
  });
  return { ...page, items };
}

const ctlFields = ["target_kind", "target_value", "action", "emergency", "valid_from", "valid_until", "reason", "previous_order"];
// Per kind: what would change, as [field, current, proposed] rows (`item.heads` renames the columns).
const CHANGES = {
  control_order: async (key) => {
    const o = await K.api(`/api/v1/control-orders/${encodeURIComponent(key)}`);
    return ctlFields.map((k) => [k, null, typeof o[k] === "boolean" ? K.t(o[k] ? "yes" : "no") : ["target_kind", "action"].includes(k) ? K.t(o[k]) : o[k]]);
  },
  control_revoke: async (key) => {
    const o = await K.api(`/api/v1/control-orders/${encodeURIComponent(key)}`);
    return [["target_value", null, o.target_value], ["revoke_reason", null, o.revoke_reason]];
  },
  release_order: (key) => orderChanges(key),
  vehicle_change: (key) => vehicleChanges(key),
  parameters: async (key) => {
    const [drafts, current] = await Promise.all([K.api("/api/v1/parameters/drafts"), K.api("/api/v1/parameters")]);
    const d = K.items(drafts).find((x) => String(x.id) === key);
    if (!d) return [];
    const now = await paramsNow(current, d.scope);
    return Object.keys(d.data).filter((k) => k !== "scope").map((k) => [k, now[k], d.data[k]]);
  },
  manual_match: async (key, item) => {
    const a = await K.api(`/api/v1/declarations/${encodeURIComponent(key)}`);
    const b = await K.api(`/api/v1/declarations/${a.matched_id}`);
    item.heads = [a, b].map((d) => `${K.t(d.stage === "official" ? "official_doc" : "draft_doc")} #${d.id}`);
    return ["doc_no", "stage", "direction", "trade_mode", "item_count", "total_quantity", "total_amount", "list_no", "unified_no"]
      .map((k) => [k, a[k], b[k]]);
  },
  declaration: async (key) => {
    const d = await K.api(`/api/v1/declarations/${encodeURIComponent(key)}`);
    return ["doc_no", "stage", "doc_type", "direction", "trade_mode", "item_count", "total_quantity", "total_amount", "ledger_no", "list_no", "unified_no"]
      .map((k) => [k, null, d[k]]);
  },
  reconciliation: async (key, item) => {
    const r = await K.api(`/api/v1/ledger-reconciliations/${encodeURIComponent(key)}`);
    item.heads = [K.t("theoretical"), K.t("actual")];
    return r.lines.filter((l) => l.theoretical != null).map((l) => [l.item_no, l.theoretical, l.actual]);
  },
  risk_rule: async (key) => {
    const [ruleId, version] = [key.slice(0, key.lastIndexOf("/")), Number(key.slice(key.lastIndexOf("/") + 1))];
    const [versions, inForce] = await Promise.all([K.api(`/api/v1/risk-rules/${encodeURIComponent(ruleId)}/versions`), K.api("/api/v1/risk-rules")]);
    const v = K.items(versions).find((x) => x.version === version) || { data: {} };
    const now = K.items(inForce).find((r) => r.rule_id === ruleId) || {};
    return ["name", "outcome", "priority", "explanation", "conditions"].map((k) => [k, now[k], v.data[k]]);
  },
  whitelist: async (key) => {
    const e = K.items(await K.api("/api/v1/risk-whitelist?status=draft")).find((x) => String(x.id) === key);
    return e ? [["wl_target", null, K.t(e.target_kind)], ["wl_value", null, e.value], ["wl_reason", null, e.reason], ["wl_valid_until", null, e.valid_until]] : [];
  },
};

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
  let offset = 0;
  async function refresh() {
    let page = await awaitingPage(offset);
    if (!page.items.length && offset > 0) { offset = Math.max(0, offset - REVIEW_PAGE); page = await awaitingPage(offset); }  // the last item of a page decided
    const { items, kinds, total } = page;
    const counts = K.el("div", { class: "kpis", "data-testid": "review-counts" }, kinds.map((k) => K.el("div", { class: "card kpi", "data-testid": "count-" + k.kind },
      K.el("div", { class: "muted", text: K.both("k_" + k.kind) }), K.el("div", { class: "v", text: String(k.count) }))));
    const go = (to) => () => { offset = to; guarded(view, refresh); };
    const pager = K.el("div", { class: "toolbar", "data-testid": "review-pager" },
      K.el("button", { "data-testid": "review-prev", text: "‹", disabled: offset === 0, onclick: go(Math.max(0, offset - REVIEW_PAGE)) }),
      K.el("span", { "data-testid": "review-range", text: total ? ` ${offset + 1}–${offset + items.length} / ${total} ` : " 0 " }),
      K.el("button", { "data-testid": "review-next", text: "›", disabled: offset + items.length >= total, onclick: go(offset + REVIEW_PAGE) }));
    const me = meName();
    const paged = total > REVIEW_PAGE || offset > 0;
    body.replaceChildren(counts, ...(paged ? [pager] : []), items.length ? K.el("table", { class: "grid", "data-testid": "awaiting" },
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
