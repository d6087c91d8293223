/* Console screen: transit (转关). The overdue list first — how long each truck has been on the road
 * against its limit — then every transit by status, and the declaration form. Uses /api/v1/transits. */
"use strict";

function hours(ms) {
  const h = ms / 36e5;
  return h >= 48 ? `${(h / 24).toFixed(1)} d` : `${h.toFixed(1)} h`;
}

SCREENS.transits = async function transitView(sec) {
  const view = $("view");
  const status = K.el("select", { "data-testid": "transit-status" },
    ["", "declared", "en_route", "overdue", "closed", "closed_late"].map((s) => K.el("option", { value: s, text: K.t(s || "all"), selected: (C.transitStatus || "") === s })));
  const plate = K.el("input", { type: "search", placeholder: K.t("plate"), "data-testid": "transit-plate" });
  const list = K.el("div");
  const load = async () => {
    C.transitStatus = status.value;
    const qs = new URLSearchParams({ limit: "200" });
    if (status.value) qs.set("status", status.value);
    if (plate.value.trim()) qs.set("plate", plate.value.trim());
    const rows = K.items(await K.api(`${sec.path}?${qs}`));
    list.replaceChildren(K.table(rows.map((t) => ({ ...t, status: K.t(t.status), seal_ok: t.seal_ok == null ? "—" : t.seal_ok ? "✔" : "✘",
      time_limit_h: `${t.time_limit_h} h` })), {
      columns: ["transit_no", "plate", "entry_site", "destination_site", "status", "started_at", "closed_at", "time_limit_h", "e_seal", "seal_ok"],
      testid: "transits",
    }));
  };
  const overdue = K.items(await K.api(`${sec.path}?status=overdue&limit=500`));
  const now = Date.now();
  const late = overdue.map((t) => {
    const on = now - new Date(t.started_at).getTime();
    return { t, on, over: on - t.time_limit_h * 36e5 };
  }).sort((a, b) => b.over - a.over);
  const declare = K.findOp(C.spec, "post", /^\/api\/v1\/transits$/);
  view.replaceChildren(K.el("h2", { text: K.both("transits") }),
    K.el("section", { class: "card", style: "margin-bottom:1em" },
      K.el("h3", {}, K.both("overdue_list"), " ", K.el("span", { class: "count", "data-testid": "overdue-count", text: late.length ? `(${late.length})` : "" })),
      late.length ? K.el("table", { class: "grid", "data-testid": "overdue" },
        K.el("thead", {}, K.el("tr", {}, ["transit_no", "plate", "entry_site", "destination_site", "started_at", "on_road", "limit_h", "over_by"].map((h) => K.el("th", { text: K.t(h) })))),
        K.el("tbody", {}, late.map(({ t, on, over }) => K.el("tr", { class: "flagged", "data-testid": "overdue-row" },
          K.el("td", { text: t.transit_no }), K.el("td", {}, K.el("b", { text: t.plate })), K.el("td", { text: t.entry_site }),
          K.el("td", { text: t.destination_site }), K.el("td", { text: K.fmtDateTime(t.started_at) }), K.el("td", { text: hours(on) }),
          K.el("td", { text: `${t.time_limit_h} h` }), K.el("td", { class: "bad", text: "+" + hours(over) })))))
        : K.el("p", { class: "good", text: K.t("no_overdue") })),
    K.el("form", { class: "toolbar", onsubmit: (e) => { e.preventDefault(); guarded(list, load); } }, status, plate,
      K.el("button", { class: "primary", type: "submit", text: K.t("search") })),
    list,
    declare ? K.el("details", { class: "create", "data-testid": "create-transits" }, K.el("summary", { text: K.t("declare_transit") }),
      K.schemaForm(C.spec, declare, { onDone: () => show(C.section) })) : null);
  await load();
};
