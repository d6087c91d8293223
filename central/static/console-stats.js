/* 查询统计: the gate manuals' figures (GET /api/v1/stats/passes, /stats/transits,
 * /stats/interventions). Every rate as kakou.sync.rates defines it (the footnote says how). */
"use strict";

// Prefixed column names: a table header is its term, and the generic terms belong to other screens.
const stCols = (row, keys) => Object.fromEntries(keys.map((k) => [k.startsWith("st_") || /rate|availability/.test(k) ? k : "st_" + k, row[k]]));

SCREENS.statistics = async function statisticsView() {
  const view = document.getElementById("view");
  const field = (name, input) => K.el("label", { class: "field" }, K.el("span", { text: K.t(name) }), input);
  const date = (name) => K.el("input", { type: "date", name, "data-testid": "st-" + name });
  const text = (name) => K.el("input", { name, "data-testid": "st-" + name, maxlength: 64 });
  const select = (name, options) => K.el("select", { name, "data-testid": "st-" + name },
    options.map(([v, label]) => K.el("option", { value: v, text: K.t(label) })));
  const form = K.el("form", { class: "toolbar filters", "data-testid": "stats-form" },
    field("st_group_by", select("group_by", [["site", "st_by_site"], ["doc_type", "st_by_doc_type"], ["lane", "st_by_lane"],
      ["outcome", "st_by_outcome"], ["direction", "st_by_direction"], ["day", "st_by_day"]])),
    field("st_since", date("since")), field("st_until", date("until")), field("st_site", text("site")),
    field("st_doc_type", select("doc_type", [["", "st_any"], ["declaration", "declaration"], ["inventory_list", "inventory_list"],
      ["release_order", "st_release_order"], ["none", "st_none"]])),
    field("st_doc_no", text("doc_no")), field("st_plate", text("plate")), field("st_container", text("container")),
    K.el("button", { class: "primary", type: "submit", text: K.t("search") }));
  const out = K.el("div", { "data-testid": "stats-result" });
  const defs = Object.keys({ recognition_rate: 1, manual_intervention_rate: 1, held_rate: 1, inspection_rate: 1, hit_rate: 1, device_availability: 1 });
  const label = (g, by) => (by === "doc_type" ? K.t({ release_order: "st_release_order", none: "st_none" }[g.key] || g.key) : g.key || "—");
  async function run() {
    const q = new URLSearchParams();
    for (const [k, v] of new FormData(form)) {
      if (!v) continue;
      if (k === "since" || k === "until") q.set(k, new Date(`${v}T${k === "since" ? "00:00:00" : "23:59:59"}`).toISOString());
      else q.set(k, v);
    }
    const r = await K.api(`/api/v1/stats/passes?${q}`);
    const by = q.get("group_by");
    const rows = [...r.groups.map((g) => ({ ...g, st_key: label(g, by) })), { ...r.totals, st_key: K.t("st_total") }]
      .map((g) => ({ ...g, st_passes: g.passes }));
    out.replaceChildren(K.table(rows, { testid: "stats-groups", columns: ["st_key", "st_passes", ...defs] }),
      K.el("p", { class: "muted kpi-notes", "data-testid": "stats-defs" },
        [`${K.t("rate.passes")}: ${K.t("rate_def.passes")}`, ...defs.map((d) => `${K.t("rate." + d)}: ${K.t("rate_def." + d)}`)].join(" · ")));
  }
  form.addEventListener("submit", (e) => { e.preventDefault(); run().catch((err) => out.replaceChildren(K.el("p", { class: "error", text: String(err.message || err) }))); });

  const people = K.el("form", { class: "toolbar filters", "data-testid": "interventions-form" },
    field("st_officer", text("officer")), field("st_since", date("since")), field("st_until", date("until")),
    K.el("button", { class: "primary", type: "submit", text: K.t("search") }));
  const peopleOut = K.el("div");
  people.addEventListener("submit", async (e) => {
    e.preventDefault();
    const q = new URLSearchParams({ limit: "200" });
    for (const [k, v] of new FormData(people)) {
      if (!v) continue;
      q.set(k, k === "officer" ? v : new Date(`${v}T${k === "since" ? "00:00:00" : "23:59:59"}`).toISOString());
    }
    const r = await K.api(`/api/v1/stats/interventions?${q}`);
    peopleOut.replaceChildren(K.table(r.items.map((i) => stCols({ ...i, lane: `${i.node}/${i.lane}` },
      ["at", "lane", "plate", "officer", "confirmed_by", "text"])),
    { testid: "interventions", columns: ["st_at", "st_lane", "st_plate", "st_officer", "st_confirmed_by", "st_text"] }));
  });
  const transits = await K.api("/api/v1/stats/transits").catch(() => []);
  view.replaceChildren(K.el("h2", { text: K.both("statistics") }), form, out,
    K.el("h3", { text: K.both("st_interventions") }), people, peopleOut,
    K.el("h3", { text: K.both("st_transits") }),
    K.table(transits.map((t) => stCols({ ...t, transits_n: t.transits }, ["entry_site", "destination_site", "transits_n", "declared",
      "en_route", "overdue", "closed_on_time", "closed_late", "on_time_rate", "mean_hours", "seal_mismatches"])),
    { testid: "transit-stats", columns: ["st_entry_site", "st_destination_site", "st_transits_n", "st_declared", "st_en_route",
      "st_overdue", "st_closed_on_time", "st_closed_late", "on_time_rate", "st_mean_hours", "st_seal_mismatches"] }));
  await run();
};
KNOWN.push({ key: "statistics", re: /^\/api\/v1\/stats\/passes$/ });
