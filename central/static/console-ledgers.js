/* Console screen: ledgers (账册) with reconciliation (报核). Pick a ledger, see each item's opening
 * + imports − exports − consumption = should remain; key the stocktake figures and reconcile:
 * differences over the threshold and negative balances are flagged. Items and consumption
 * ratios are added with their own forms. Below, 报核 by period: open a period, upload its
 * stocktake (CSV/Excel; per-row errors), preview the result with each difference's causes, save
 * it for another officer's review (the review screen), export a saved one. Uses /api/v1/ledgers/… */
"use strict";

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
    await periodsView(ledger, periodsBox);
  };
  const periodsBox = K.el("section", { class: "card", "data-testid": "periods" });
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
    result, periodsBox, ...forms);
  if (no.value) await load(false).catch((e) => { if (e.status !== 404) throw e; result.replaceChildren(K.el("p", { class: "muted", text: e.message })); });
};

/* 报核 by period for one ledger. */
async function periodsView(ledger, box, flash) {
  const enc = encodeURIComponent(ledger);
  const [periods, recs] = await Promise.all([K.api(`/api/v1/ledgers/${enc}/periods`), K.api(`/api/v1/ledgers/${enc}/reconciliations`)]);
  const open = periods.find((p) => p.status === "open");
  const out = K.el("div", { "data-testid": "period-result" });
  const num = (v) => (v == null ? "—" : Number(v).toLocaleString(undefined, { maximumFractionDigits: 3 }));
  const refresh = () => guarded(box, () => periodsView(ledger, box));
  const showErrors = (body, status) => {
    const errors = Array.isArray(body.errors) ? body.errors : [];
    out.replaceChildren(K.el("p", { class: "bad", "data-testid": "stocktake-rejected", text: errors.length ? K.t("rejected_n", { n: errors.length }) : `${K.t("error")}: ${body.title || "HTTP " + status}` }),
      errors.length ? K.el("table", { class: "grid", "data-testid": "stocktake-errors" },
        K.el("tbody", {}, errors.map((e) => K.el("tr", { class: "flagged" }, K.el("td", { text: e.row }), K.el("td", { text: e.field || "—" }), K.el("td", { text: e.message }))))) : null);
  };
  const showLines = (r) => out.replaceChildren(K.el("table", { class: "grid", "data-testid": "period-lines" },
    K.el("thead", {}, K.el("tr", {}, ["item_no", "kind", "opening", "imports", "exports", "consumption", "adjustments", "theoretical", "stocktake", "actual", "difference", "causes"]
      .map((h) => K.el("th", { text: K.t(h) })))),
    K.el("tbody", {}, r.lines.map((l) => K.el("tr", { class: l.difference ? "flagged" : "", "data-testid": "period-line", "data-item": l.item_no },
      K.el("td", { text: l.item_no }), K.el("td", { text: K.t(l.kind) }), K.el("td", { text: num(l.opening) }), K.el("td", { text: num(l.imports_total) }),
      K.el("td", { text: num(l.exports_total) }), K.el("td", { text: num(l.consumption_total) }), K.el("td", { text: num(l.adjustments) }),
      K.el("td", { text: num(l.theoretical) }), K.el("td", { text: l.kind === "material" ? num((l.stocktake || 0) + l.stocktake_converted) : num(l.stocktake) }),
      K.el("td", { text: num(l.actual) }), K.el("td", { class: l.difference ? "bad" : "", text: num(l.difference) }),
      K.el("td", { "data-testid": "causes", text: l.causes.map((c) => (K.getLang() === "en" ? c.text_en : c.text)).join("；") }))))));
  const download = async (r, fmt) => {
    const resp = await fetch(`/api/v1/ledger-reconciliations/${r.id}/export?format=${fmt}`, { headers: K.authHeaders() });
    const a = K.el("a", { href: URL.createObjectURL(await resp.blob()), download: `reconciliation-${r.ledger_no}-${r.id}.${fmt}` });
    a.click();
  };
  const parts = [K.el("h3", { text: K.both("periods") }),
    periods.length ? K.el("table", { class: "grid", "data-testid": "period-list" },
      K.el("thead", {}, K.el("tr", {}, ["starts_on", "cutoff", "status", "stocktake_rows"].map((h) => K.el("th", { text: K.t(h) })))),
      K.el("tbody", {}, periods.map((p) => K.el("tr", { "data-testid": "period-row" }, K.el("td", { text: p.starts_on }), K.el("td", { text: p.cutoff }),
        K.el("td", {}, K.el("span", { class: "pill st-" + p.status, text: K.t("ps_" + p.status) })), K.el("td", { text: String(p.stocktake.length) })))))
      : null];
  if (!open) {
    const starts = K.el("input", { type: "date", "data-testid": "period-start", value: periods.length ? nextDay(periods[periods.length - 1].cutoff) : "" });
    const cutoff = K.el("input", { type: "date", "data-testid": "period-cutoff" });
    parts.push(K.el("form", { class: "toolbar", onsubmit: (e) => { e.preventDefault(); guarded(out, async () => {
      await K.api(`/api/v1/ledgers/${enc}/periods`, { body: { starts_on: starts.value, cutoff: cutoff.value } }); refresh(); }); } },
    K.el("span", { class: "muted", text: K.t("starts_on") }), starts, K.el("span", { class: "muted", text: K.t("cutoff") }), cutoff,
    K.el("button", { type: "submit", "data-testid": "open-period", text: K.t("open_period") })));
  } else {
    const base = `/api/v1/ledgers/${enc}/periods/${open.id}`;
    const file = K.el("input", { type: "file", accept: ".csv,.xlsx", "data-testid": "stocktake-file" });
    parts.push(K.el("form", { class: "toolbar", onsubmit: (e) => { e.preventDefault(); guarded(out, async () => {
      const f = file.files[0];
      if (!f) return;
      const excel = /\.xlsx$/i.test(f.name);
      const resp = await fetch(`${base}/stocktake/${excel ? "xlsx" : "csv"}`, { method: "POST", body: excel ? f : await f.text(),
        headers: { ...K.authHeaders(), "Content-Type": excel ? "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" : "text/csv; charset=utf-8" } });
      const body = await resp.json().catch(() => ({}));
      if (resp.ok) await periodsView(ledger, box, (o) => o.replaceChildren(K.el("p", { class: "good", "data-testid": "stocktake-ok", text: K.t("stocktake_ok", { n: body.imported }) })));
      else showErrors(body, resp.status);
    }); } }, K.el("span", { class: "muted", text: K.t("upload_stocktake") }), file, K.el("button", { type: "submit", "data-testid": "stocktake-upload", text: K.t("upload") })),
    K.el("div", { class: "toolbar" },
      K.el("button", { "data-testid": "period-preview", text: K.t("preview"), onclick: () => guarded(out, async () => showLines(await K.api(`${base}/reconciliation`))) }),
      K.el("button", { class: "primary", "data-testid": "period-save", text: K.t("save_for_review"), onclick: () => guarded(out, async () => {
        const r = await K.api(`${base}/reconciliation`, { method: "POST" });
        await periodsView(ledger, box, (o, show) => { show(r); o.prepend(K.el("p", { class: "good", "data-testid": "saved-msg", text: K.t("saved_for_review", { id: r.id }) })); });
      }) })));
  }
  parts.push(out);
  if (recs.length) {
    parts.push(K.el("h3", { text: K.t("saved_results") }), K.el("table", { class: "grid", "data-testid": "saved-results" },
      K.el("tbody", {}, recs.map((r) => K.el("tr", { "data-testid": "saved-result", "data-status": r.status },
        K.el("td", { text: "#" + r.id }), K.el("td", {}, K.el("span", { class: "pill st-" + r.status, text: K.t("rs_" + r.status) })),
        K.el("td", { text: `${r.prepared_by} · ${K.fmtDateTime(r.prepared_at)}` }),
        K.el("td", { text: r.reviewed_by ? `${r.reviewed_by}${r.review_note ? ": " + r.review_note : ""}` : "—" }),
        K.el("td", {}, K.el("button", { class: "ghost", text: K.t("export_csv"), onclick: () => download(r, "csv") }),
          K.el("button", { class: "ghost", text: K.t("export_xlsx"), onclick: () => download(r, "xlsx") })))))));
  }
  box.replaceChildren(...parts.filter(Boolean));
  if (flash) flash(out, showLines);
}

function nextDay(iso) {
  const d = new Date(iso + "T00:00:00Z");
  d.setUTCDate(d.getUTCDate() + 1);
  return d.toISOString().slice(0, 10);
}
