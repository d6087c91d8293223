/* Console screen: ledgers (账册) with reconciliation (报核). Pick a ledger, see each item's opening
 * + imports − exports − consumption = should remain; key the stocktake figures and reconcile:
 * differences over the threshold and negative balances are flagged. Items and consumption
 * ratios are added with their own forms. Uses /api/v1/ledgers/… */
"use strict";

K.addTerms({
  ledger_no: ["Ledger no.", "账册号"], reconcile: ["Reconcile", "报核"], item_no: ["Item", "料号"], kind: ["Kind", "类型"],
  opening: ["Opening", "期初"], imports: ["Imports", "进口"], exports: ["Exports", "出口"], consumption: ["Consumption", "耗用"],
  should_remain: ["Should remain", "应存"], stocktake: ["Stocktake", "盘点"], difference: ["Difference", "差异"],
  pending: ["Not yet through a gate", "未过卡"], warnings: ["Warnings", "提示"], abnormal_pct: ["Flag differences over (%)", "差异超过（%）提示"],
  add_item: ["Add or change an item", "新增/修改料件"], add_ratio: ["Consumption ratio", "单耗"], material: ["Material", "料件"],
  finished: ["Finished good", "成品"], open_ledger: ["Open", "打开"], recent_ledgers: ["Recent", "最近"],
  reconciled_ok: ["Every item reconciles", "全部相符"], reconciled_flags: ["{n} item(s) need attention", "{n} 项需关注"],
});

SCREENS.ledgers = async function ledgersView() {
  const view = $("view");
  const recent = JSON.parse(localStorage.getItem("kakou.ledgers") || "[]");
  const no = K.el("input", { "data-testid": "ledger-no", placeholder: K.t("ledger_no"), value: C.ledger || recent[0] || "" });
  const pct = K.el("input", { type: "number", step: "any", min: 0, value: 5, "data-testid": "abnormal-pct", style: "max-width:6em" });
  const result = K.el("div");
  const stock = {};  // item → stocktake input
  const load = async (withStock) => {
    const ledger = no.value.trim();
    if (!ledger) return;
    C.ledger = ledger;
    localStorage.setItem("kakou.ledgers", JSON.stringify([ledger, ...recent.filter((r) => r !== ledger)].slice(0, 8)));
    const stocktake = {};
    if (withStock) for (const [item, inp] of Object.entries(stock)) if (inp.value !== "") stocktake[item] = Number(inp.value);
    const rows = await K.api(`/api/v1/ledgers/${encodeURIComponent(ledger)}/reconcile`, { body: { stocktake, abnormal_pct: Number(pct.value || 5) } });
    const num = (v) => (v == null ? "—" : Number(v).toLocaleString(undefined, { maximumFractionDigits: 3 }));
    const flagged = rows.filter((r) => r.warnings.length).length;
    result.replaceChildren(
      K.el("p", { class: flagged ? "bad" : "good", "data-testid": "reconcile-summary",
        text: withStock || flagged ? (flagged ? K.t("reconciled_flags", { n: flagged }) : K.t("reconciled_ok")) : "" }),
      K.el("table", { class: "grid", "data-testid": "ledger-balances" },
        K.el("thead", {}, K.el("tr", {}, ["item_no", "kind", "opening", "imports", "exports", "consumption", "should_remain", "stocktake", "difference", "pending", "warnings"]
          .map((h) => K.el("th", { text: K.t(h) })))),
        K.el("tbody", {}, rows.map((r) => {
          const inp = stock[r.item_no] || K.el("input", { type: "number", step: "any", "data-testid": "stocktake-" + r.item_no, style: "max-width:8em" });
          stock[r.item_no] = inp;
          return K.el("tr", { class: r.warnings.length ? "flagged" : "", "data-testid": "balance-row", "data-item": r.item_no },
            K.el("td", { text: r.item_no }), K.el("td", { text: K.t(r.kind) }), K.el("td", { text: num(r.opening) }),
            K.el("td", { text: num(r.imports) }), K.el("td", { text: num(r.exports) }), K.el("td", { text: num(r.consumption) }),
            K.el("td", { class: r.should_remain < 0 ? "bad" : "", text: num(r.should_remain) }), K.el("td", {}, inp),
            K.el("td", { class: r.difference ? "bad" : "", text: r.difference == null ? "—" : (r.difference > 0 ? "+" : "") + num(r.difference) }),
            K.el("td", { text: num(r.pending) }), K.el("td", { class: "bad", "data-testid": "warnings", text: r.warnings.join("; ") }));
        }))));
  };
  const forms = [];
  for (const [label, re] of [["add_item", /\/ledgers\/items$/], ["add_ratio", /\/ledgers\/ratios$/]]) {
    const op = K.findOp(C.spec, "put", re);
    if (op) {
      forms.push(K.el("details", { class: "create", "data-testid": "form-" + label }, K.el("summary", { text: K.t(label) }),
        K.schemaForm(C.spec, op, { fixed: {}, onDone: () => guarded(result, () => load(false)) })));
    }
  }
  view.replaceChildren(K.el("h2", { text: K.both("ledgers") }),
    K.el("form", { class: "toolbar", onsubmit: (e) => { e.preventDefault(); for (const k in stock) delete stock[k]; guarded(result, () => load(false)); } },
      no, K.el("button", { type: "submit", text: K.t("open_ledger") }),
      recent.length ? K.el("span", { class: "muted", text: `${K.t("recent_ledgers")}: ${recent.join(", ")}` }) : null),
    K.el("div", { class: "toolbar" }, K.el("span", { class: "muted", text: K.t("abnormal_pct") }), pct,
      K.el("button", { class: "primary", "data-testid": "reconcile", text: K.both("reconcile"), onclick: () => guarded(result, () => load(true)) })),
    result, ...forms);
  if (no.value) await load(false).catch((e) => { if (e.status !== 404) throw e; result.replaceChildren(K.el("p", { class: "muted", text: e.message })); });
};
