/* Console screen: the risk-rule editor. Rules in force and drafts awaiting review; a rule's
 * conditions, outcome and explanation edited as a form (the condition kinds and their fields come
 * from central's OpenAPI document); every save is a new version, in force once a second person
 * approves it; each rule's versions with their review status. Uses /api/v1/risk-rules… */
"use strict";

const RISK = "/api/v1/risk-rules";

/* The condition kinds: discriminator value → its schema (resolved). */
function conditionKinds() {
  const rule = C.spec.components && C.spec.components.schemas && C.spec.components.schemas.RiskRuleIn;
  const items = rule && rule.properties.conditions.items;
  const mapping = (items && items.discriminator && items.discriminator.mapping) || {};
  return Object.fromEntries(Object.entries(mapping).map(([k, ref]) => [k, K.resolve(C.spec, { $ref: ref })]));
}

function conditionRow(kinds, value) {
  const kind = K.el("select", { "data-testid": "condition-kind" }, Object.keys(kinds).map((k) => K.el("option", { value: k, text: K.t(k) })));
  const fields = K.el("div", { class: "cond-fields" });
  const row = K.el("div", { class: "condition card", "data-testid": "condition" }, kind, fields,
    K.el("button", { type: "button", class: "ghost", text: K.t("remove"), onclick: () => row.remove() }));
  const paint = (v) => {
    const schema = kinds[kind.value];
    fields.replaceChildren(...Object.entries(schema.properties || {}).filter(([n]) => n !== "kind").map(([n, raw]) => {
      const p = K.resolve(C.spec, raw);
      const itemEnum = p.type === "array" && p.items && K.resolve(C.spec, p.items).enum;
      let input;
      if (itemEnum) {
        input = K.el("span", { class: "checks-inline", "data-name": n, "data-kind": "multi" }, itemEnum.map((e) => K.el("label", {},
          K.el("input", { type: "checkbox", value: e, checked: (v[n] || []).includes(e) }), e)));
      } else if (p.enum) {
        input = K.el("select", { "data-name": n }, p.enum.map((e) => K.el("option", { value: e, text: K.t(e), selected: v[n] === e })));
      } else if (p.type === "number" || p.type === "integer") {
        input = K.el("input", { type: "number", step: "any", "data-name": n, "data-kind": "number", value: v[n] ?? "" });
      } else if (p.type === "array") {
        input = K.el("input", { type: "text", "data-name": n, "data-kind": "list", placeholder: "A, B, …", value: (v[n] || []).join(", ") });
      } else {
        input = K.el("input", { type: "text", "data-name": n, value: v[n] ?? "" });
      }
      input.setAttribute("data-testid", "cond-" + n);
      // A group of checkboxes has a label of its own per box: no wrapping <label> around them.
      return K.el(itemEnum ? "div" : "label", { class: "field" }, K.el("span", { class: "field-label", text: K.t(n) }), input);
    }));
  };
  kind.value = value.kind || Object.keys(kinds)[0];
  kind.addEventListener("change", () => paint({}));
  paint(value);
  row.read = () => {
    const out = { kind: kind.value };
    fields.querySelectorAll("[data-name]").forEach((i) => {
      const n = i.dataset.name;
      if (i.dataset.kind === "multi") out[n] = [...i.querySelectorAll("input:checked")].map((c) => c.value);
      else if (i.dataset.kind === "number") { if (i.value !== "") out[n] = Number(i.value); }
      else if (i.dataset.kind === "list") out[n] = i.value.split(/[,\s]+/).filter(Boolean);
      else if (i.value !== "") out[n] = i.value;
    });
    return out;
  };
  return row;
}

function ruleEditor(rule, onSaved) {
  const kinds = conditionKinds();
  const outcomes = (K.resolve(C.spec, { $ref: "#/components/schemas/Outcome" }).enum) || ["officer", "inspection"];
  const input = (name, attrs = {}) => K.el("input", { name, "data-testid": "rule-" + name, ...attrs });
  const ruleId = input("rule_id", { value: rule.rule_id || "", readonly: !!rule.rule_id, pattern: "[A-Za-z0-9_.-]+" });
  const name = input("name", { value: rule.name || "" });
  const priority = input("priority", { type: "number", value: rule.priority ?? 100 });
  const outcome = K.el("select", { "data-testid": "rule-outcome" }, outcomes.map((o) => K.el("option", { value: o, text: K.both(o), selected: rule.outcome === o })));
  const explanation = K.el("textarea", { rows: 2, "data-testid": "rule-explanation" });
  explanation.value = rule.explanation || "";
  const conds = K.el("div", { class: "conditions", "data-testid": "conditions" }, (rule.conditions || [{}]).map((c) => conditionRow(kinds, c)));
  const msg = K.el("div", { class: "form-msg", "data-testid": "form-msg" });
  const field = (key, el) => K.el("label", { class: "field" }, K.el("span", { class: "field-label", text: K.t(key) }), el);
  const form = K.el("form", { class: "auto-form rule-editor", novalidate: true, "data-testid": "rule-editor" },
    field("rule_id", ruleId), field("name", name), field("outcome_forced", outcome), field("priority", priority),
    field("explanation", explanation),
    K.el("div", {}, K.el("div", { class: "field-label", text: K.t("conditions") }), conds,
      K.el("button", { type: "button", "data-testid": "add-condition", text: "+ " + K.t("add_condition"), onclick: () => conds.append(conditionRow(kinds, {})) })),
    K.el("div", { class: "form-actions" }, K.el("button", { type: "submit", class: "primary", text: K.t("submit") }), msg));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = { rule_id: ruleId.value.trim(), name: name.value.trim(), outcome: outcome.value,
      priority: Number(priority.value || 100), explanation: explanation.value.trim(),
      conditions: [...conds.children].map((r) => r.read()) };
    try {
      const saved = await K.api(RISK, { body });
      msg.textContent = K.t("saved_draft", { v: saved.version }); msg.className = "form-msg good";
      if (onSaved) onSaved(saved);
    } catch (e) {
      msg.className = "form-msg bad";
      const errs = e.body && Array.isArray(e.body.errors) ? e.body.errors.map((x) => `${x.loc.slice(1).join(".")}: ${x.msg}`) : [];
      msg.textContent = `${K.t("error")}: ${errs.length ? errs.join("; ") : e.message}`;
    }
  });
  return form;
}

function statusPill(v) {
  const st = v.active ? "in_force" : v.review_status;
  return K.el("span", { class: "pill st-" + st, "data-testid": "rule-status", text: K.t(st) });
}

async function ruleVersions(ruleId) {
  const versions = await K.api(`${RISK}/${encodeURIComponent(ruleId)}/versions`);
  const reviewOp = K.findOp(C.spec, "post", /\/risk-rules\/\{[^}]+\}\/versions\/\{[^}]+\}\/review$/);
  const rows = versions.slice().reverse().map((v) => K.el("tr", { "data-testid": "version-row" },
    K.el("td", { text: "v" + v.version }), K.el("td", {}, statusPill(v)),
    K.el("td", { text: `${K.both(v.data.outcome)}: ${v.data.explanation}` }),
    K.el("td", { text: (v.data.conditions || []).map((c) => K.t(c.kind)).join(" + ") }),
    K.el("td", { text: `${v.created_by} · ${K.fmtDateTime(v.created_at)}` }),
    K.el("td", { text: v.reviewed_by ? `${v.reviewed_by}${v.review_note ? ": " + v.review_note : ""}` : "—" }),
    K.el("td", {}, v.review_status === "draft" && reviewOp ? reviewButtons(v) : null)));
  openDialog(`${K.t("versions")} — ${ruleId}`, K.el("table", { class: "grid", "data-testid": "rule-versions" },
    K.el("thead", {}, K.el("tr", {}, ["version", "status", "outcome", "conditions", "created_by", "reviewed_by", ""].map((h) => K.el("th", { text: K.t(h) })))),
    K.el("tbody", {}, rows)));
}

function reviewButtons(v) {
  // The console's one review control (console-review.js): 批准 / 驳回, a confirmation, a reason to reject.
  const box = reviewBox(async (approve, note) => {
    try {
      await K.api(`${RISK}/${encodeURIComponent(v.rule_id)}/versions/${v.version}/review`, { body: { approve, note } });
      $("dialog").close(); show(C.section);
    } catch (e) { box.msg.textContent = e.status === 403 || e.status === 409 ? reviewError(e) : e.message; box.msg.className = "form-msg bad"; }
  });
  return box;
}

SCREENS.risk_rules = async function riskRulesView() {
  const view = $("view");
  const editor = K.el("div");
  const table = K.el("div");
  // Saving refreshes the list only: the editor stays open with central's answer ("draft version N").
  const open = (rule) => { editor.replaceChildren(K.el("section", { class: "card" }, ruleEditor(rule, refresh))); editor.scrollIntoView(); };
  const row = (r, status) => K.el("tr", { "data-testid": "rule-row", "data-rule": r.rule_id },
    K.el("td", { text: r.rule_id }), K.el("td", { text: r.name }), K.el("td", { text: "v" + r.version }), K.el("td", {}, status),
    K.el("td", {}, K.el("span", { class: "pill " + r.outcome, text: K.both(r.outcome) })),
    K.el("td", { text: (r.conditions || []).map((c) => K.t(c.kind)).join(" + ") }), K.el("td", { text: r.explanation }),
    K.el("td", { class: "row-actions" },
      K.el("button", { "data-testid": "edit-rule", text: K.t("edit"), onclick: () => open(r) }),
      K.el("button", { "data-testid": "rule-versions-btn", text: K.t("versions"), onclick: () => guarded(view, () => ruleVersions(r.rule_id)) })));
  async function refresh() {
    const [inForce, pending] = await Promise.all([K.api(RISK),
      C.spec.paths[`${RISK}/pending`] ? K.api(`${RISK}/pending`) : Promise.resolve([])]);
    const drafts = pending.map((v) => row({ ...v.data, version: v.version }, statusPill(v)));
    const live = inForce.map((r) => row(r, statusPill({ active: true })));
    table.replaceChildren(drafts.length || live.length ? K.el("table", { class: "grid", "data-testid": "rules" },
      K.el("thead", {}, K.el("tr", {}, ["rule_id", "name", "version", "status", "outcome", "conditions", "explanation", ""].map((h) => K.el("th", { text: K.t(h) })))),
      K.el("tbody", {}, drafts, live)) : K.el("p", { class: "empty", text: K.t("none") }));
  }
  await refresh();
  view.replaceChildren(K.el("h2", { text: K.both("risk_rules") }),
    K.el("div", { class: "toolbar" }, K.el("button", { class: "primary", "data-testid": "new-rule", text: "+ " + K.t("new_rule"), onclick: () => open({}) })),
    table, editor);
};
