/* Console screen: declarations (报关单) with the import upload. A CSV or Excel file goes to
 * /api/v1/declarations/import/csv|xlsx; the import is all or nothing, so a rejected file shows every
 * bad row and field, to be fixed and sent again. Below: the declarations, as the generic table. */
"use strict";

const XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet";

async function importFile(file) {
  const excel = /\.xlsx$/i.test(file.name);
  const resp = await fetch(`/api/v1/declarations/import/${excel ? "xlsx" : "csv"}`, {
    method: "POST", headers: { ...K.authHeaders(), "Content-Type": excel ? XLSX_TYPE : "text/csv; charset=utf-8" },
    body: excel ? file : await file.text(),
  });
  const body = await resp.json().catch(() => ({}));
  return { ok: resp.ok, status: resp.status, body };
}

SCREENS.declarations = async function declarationsView(sec) {
  const view = $("view");
  const file = K.el("input", { type: "file", accept: ".csv,.xlsx,text/csv," + XLSX_TYPE, "data-testid": "import-file" });
  const out = K.el("div", { "data-testid": "import-result" });
  const table = K.el("div");
  const send = async (ev) => {
    ev.preventDefault();
    const f = file.files[0];
    if (!f) { out.replaceChildren(K.el("p", { class: "bad", text: K.t("choose_file") })); return; }
    const { ok, status, body } = await importFile(f);
    if (ok) {
      out.replaceChildren(K.el("p", { class: "good", "data-testid": "import-ok", text: K.t("imported_n", { n: body.imported, m: body.matched || 0 }) }));
      await resourceView({ ...sec, title: null }, table);
    } else if (status === 401) {
      openLogin();
    } else {
      const errors = Array.isArray(body.errors) ? body.errors : [];
      out.replaceChildren(K.el("p", { class: "bad", "data-testid": "import-rejected",
        text: errors.length ? K.t("rejected_n", { n: errors.length }) : `${K.t("error")}: ${body.title || body.detail || "HTTP " + status}` }),
      errors.length ? K.el("table", { class: "grid", "data-testid": "import-errors" },
        K.el("thead", {}, K.el("tr", {}, ["row", "field", "message"].map((h) => K.el("th", { text: K.t(h) })))),
        K.el("tbody", {}, errors.map((e) => K.el("tr", { class: "flagged", "data-testid": "import-error" },
          K.el("td", { text: e.row || (e.loc ? e.loc.join(".") : "—") }), K.el("td", { text: e.field || "—" }), K.el("td", { text: e.message || e.msg }))))) : null);
    }
  };
  view.replaceChildren(K.el("h2", { text: K.both("declarations") }),
    K.el("section", { class: "card", style: "margin-bottom:1em" }, K.el("h3", { text: K.t("import_file") }),
      K.el("form", { class: "toolbar", onsubmit: (e) => guarded(out, () => send(e)) }, file,
        K.el("button", { class: "primary", type: "submit", "data-testid": "import-upload", text: K.t("upload") })), out),
    table);
  await resourceView({ ...sec, title: null }, table);
};
