/* The central console. The dashboard and the passes view are built for officers; every other
 * section appears when central's OpenAPI document lists its endpoint, and is shown generically
 * (a table, a create form from the request schema, and the record's own actions). */
"use strict";

// Lane settings (registrations → lane) and the legality switches of the parameter library.

const C = { spec: { paths: {} }, section: "dashboard", timer: null, user: null };
// Purpose-built screens, one file each (console-*.js): SCREENS[section key] = async render(section).
const SCREENS = {};
const $ = (id) => document.getElementById(id);

// Known sections, in menu order; `re` matches the list endpoint's path.
const KNOWN = [
  { key: "awaiting", re: /^\/api\/v1\/reviews$/ },  // four eyes: everything awaiting review (console-review.js)
  { key: "nodes", re: /^\/api\/v1\/nodes$/, render: (s) => nodesView(s) },
  { key: "passes", re: /^\/api\/v1\/passes$/, render: (s) => passesView(s) },
  { key: "release_orders", re: /^\/api\/v1\/release-orders$/ },
  { key: "declarations", re: /^\/api\/v1\/declarations$/ },
  { key: "control_orders", re: /^\/api\/v1\/control-orders$/ },
  { key: "alerts", re: /^\/api\/v1\/alerts$/ },
  { key: "risk_rules", re: /^\/api\/v1\/risk-rules$/ },
  { key: "vehicles", re: /^\/api\/v1\/(registrations\/)?vehicles$/ },
  { key: "drivers", re: /^\/api\/v1\/(registrations\/)?drivers$/ },
  { key: "carriers", re: /^\/api\/v1\/(registrations\/)?carriers$/ },
  { key: "yards", re: /^\/api\/v1\/(registrations\/)?yards$/ },
  { key: "parameters", re: /^\/api\/v1\/parameters$/ },
  { key: "ledgers", re: /^\/api\/v1\/ledgers\/\{[^}]+\}\/reconcile$/, method: "post" },
  { key: "transits", re: /^\/api\/v1\/transits?$/ },
  { key: "interventions", re: /^\/api\/v1\/interventions$/ },
  { key: "audit", re: /^\/api\/v1\/audit(-log)?$/ },
  { key: "users", re: /^\/api\/v1\/users$/ },
  { key: "lane_stats", re: /^\/api\/v1\/stats\/lanes$/ },
  { key: "applications", re: /^\/api\/v1\/applications$/ },
];
const SKIP = /^\/api\/v1\/(health|changes|openapi\.json|auth\/.*|me|alerts\/stream|risk-rules\/pending|parameters\/drafts|applications\/queue|stats\/(transits|interventions|definitions))$/;

function sections() {
  // An enterprise's declarant has one screen: its applications (everything else answers it 403).
  if (C.role === "declarant") return [{ key: "applications", path: "/api/v1/applications", render: SCREENS.applications }];
  const out = [{ key: "dashboard", render: dashboard }];
  const used = new Set();
  // Registrations share one endpoint per kind: /registrations/{kind}.
  const reg = Object.keys(C.spec.paths).find((p) => /^\/api\/v1\/registrations\/\{[^}]+\}$/.test(p) && C.spec.paths[p].get);
  if (reg) {
    const param = (C.spec.paths[reg].get.parameters || []).find((p) => p.in === "path");
    const kinds = (param && K.resolve(C.spec, param.schema).enum) || [];
    out.push({ key: "registrations", template: reg, param: param && param.name, kinds, render: registrationsView });
    used.add(reg);
  }
  for (const s of KNOWN) {
    const path = Object.keys(C.spec.paths).find((p) => s.re.test(p) && C.spec.paths[p][s.method || "get"]);
    if (path) { out.push({ ...s, path, render: s.render || SCREENS[s.key] }); used.add(path); }
  }
  for (const [path, ops] of Object.entries(C.spec.paths)) {
    if (!ops.get || used.has(path) || SKIP.test(path) || path.includes("{") || !path.startsWith("/api/v1/")) continue;
    const key = path.replace("/api/v1/", "");
    out.push({ key, path, extra: true, first: !out.some((s) => s.extra) });
  }
  return out;
}

// ---- errors and login ------------------------------------------------------------------------
async function guarded(view, fn) {
  try {
    const out = await fn();
    document.body.dataset.loaded = C.section;  // for tests and kiosks: this section has its data
    return out;
  } catch (e) {
    if (e.status === 401) {
      $("login").hidden = false;
      view.replaceChildren(K.el("div", { class: "banner", text: K.t("login_needed") }));
      openLogin();
    } else if (e.status === 403 && e.body && e.body.type === PW_CHANGE) {
      view.replaceChildren(K.el("div", { class: "banner", text: K.t("password_must_change") }));
      openPasswordChange(true);
    } else if (e.status === 404) {
      view.replaceChildren(K.el("div", { class: "banner", text: K.t("not_available") }));
    } else {
      view.replaceChildren(K.el("div", { class: "banner bad", text: `${K.t("error")}: ${K.explain(e)}` }));
    }
    return null;
  }
}

function openDialog(title, ...content) {
  $("dialog-body").replaceChildren(K.el("h3", { text: title }), ...content.filter((c) => c != null));
  if (!$("dialog").open) $("dialog").showModal();
}

function openLogin() {
  const op = K.findOp(C.spec, "post", /\/auth\/login$|\/login$|\/token$/);
  if (!op || $("dialog").open) return;
  openDialog(K.t("login"), K.schemaForm(C.spec, op, {
    onDone: (res, body) => {
      K.setToken(res && (res.token || res.access_token));
      C.user = (res && (res.username || res.user)) || (body && (body.username || body.user)) || null;
      if (C.user && res && res.role) C.user += ` (${K.t(res.role)})`;
      C.role = res && res.role;
      $("user").hidden = !C.user; $("user").textContent = C.user || "";
      $("login").hidden = true; $("password").hidden = false;
      $("dialog").close();
      if (res && res.password_change_required) openPasswordChange(true);
      else if (res && res.role === "declarant" && C.section !== "applications") location.hash = "applications"; else show(C.section);
    },
  }));
}

// ---- navigation --------------------------------------------------------------------------------
function renderNav() {
  $("nav").replaceChildren(...sections().flatMap((s) => [
    s.first ? K.el("div", { class: "muted nav-group", text: K.both("more") }) : null,
    K.el("button", {
      class: s.key === C.section ? "active" : "", "data-testid": "nav-" + s.key,
      text: s.extra ? K.t(s.key) : K.both(s.key), onclick: () => { location.hash = s.key; },
    })]).filter(Boolean));
}

function show(key) {
  const all = sections();
  const sec = all.find((s) => s.key === key) || all[0];
  C.section = sec.key;
  renderNav();
  clearInterval(C.timer);
  const view = $("view");
  const run = () => guarded(view, () => (sec.render ? sec.render(sec) : resourceView(sec)));
  run();
  // The dashboard and the lane list are watched live; forms are not refreshed under the officer.
  if (["dashboard", "nodes"].includes(sec.key)) C.timer = setInterval(run, 3000);
}

function stamp() { $("updated").hidden = false; $("updated").textContent = `${K.t("updated")} ${K.fmtTime(new Date().toISOString())}`; }

// ---- dashboard -----------------------------------------------------------------------------------
function barChart(groups, { max, fmt = (v) => v, series = 1, testid }) {
  const W = 640, H = 220, pad = 28, n = Math.max(groups.length, 1);
  const bw = (W - pad * 2) / n;
  const top = max || Math.max(1, ...groups.flatMap((g) => g.values));
  const svg = [`<svg class="chart" viewBox="0 0 ${W} ${H}" role="img" data-testid="${testid}">`];
  svg.push(`<line x1="${pad}" y1="${H - pad}" x2="${W - pad}" y2="${H - pad}" stroke="#2a3a4a"/>`);
  groups.forEach((g, i) => {
    const inner = Math.min((bw - 8) / series, 48);  // one lane must not look like a wall
    g.values.forEach((v, j) => {
      const h = (H - pad * 2) * (v / top);
      const x = pad + i * bw + (bw - inner * series) / 2 + j * inner;
      svg.push(`<rect class="bar b${j + 1}" x="${x}" y="${H - pad - h}" width="${Math.max(inner - 2, 1)}" height="${h}"><title>${K.esc(g.label)}: ${K.esc(fmt(v))}</title></rect>`);
      if (v) svg.push(`<text x="${x + inner / 2 - 1}" y="${H - pad - h - 3}" text-anchor="middle">${K.esc(fmt(v))}</text>`);
    });
    svg.push(`<text x="${pad + i * bw + bw / 2}" y="${H - 8}" text-anchor="middle">${K.esc(g.label)}</text>`);
  });
  svg.push("</svg>");
  const box = K.el("div");
  box.innerHTML = svg.join("");
  return box.firstChild;
}

function isIntervention(p) {
  const r = p.record || {};
  return p.outcome !== "release" || !!r.entered_by || !!r.supersedes;
}

async function dashboard() {
  const view = $("view");
  // The time window the KPIs and the lane statistics cover (the officer's choice, kept for the session).
  const windowH = Number(sessionStorage.getItem("kakou.window") || 24);
  const since = new Date(Date.now() - windowH * 36e5).toISOString();
  const [page, nodes, alerts, laneStats] = await Promise.all([
    K.api("/api/v1/passes?limit=500"),
    K.api("/api/v1/nodes").catch(() => []),
    C.spec.paths["/api/v1/alerts"] ? K.api("/api/v1/alerts?limit=500").catch(() => null) : Promise.resolve(null),
    C.spec.paths["/api/v1/stats/lanes"] ? K.api(`/api/v1/stats/lanes?since=${encodeURIComponent(since)}`).catch(() => null) : Promise.resolve(null),
    C.spec.paths["/api/v1/stats/passes"] ? K.api(`/api/v1/stats/passes?since=${encodeURIComponent(since)}`).catch(() => null) : Promise.resolve(null),
  ]).then((r) => { C.totals = r[4] && r[4].totals; return r; });
  const passes = K.items(page);
  const now = Date.now();
  const day = passes.filter((p) => now - new Date(p.decided_at) < windowH * 36e5);
  const online = nodes.filter((n) => n.online).length;
  const openAlerts = alerts ? K.items(alerts).filter((a) => !/(closed|disposed|resolved)/i.test(a.status || "")).length : null;
  // Central counts the officer rate by the shared definition; the page of passes is the fallback.
  const held = C.totals ? Math.round(100 * (C.totals.held_rate || 0))
    : day.length ? Math.round((100 * day.filter((p) => p.outcome !== "release").length) / day.length) : 0;
  // A KPI says how it is counted (hover, or the footnote under the charts).
  const kpi = (key, v, id, def) => K.el("div", { class: "card kpi", "data-testid": "kpi-" + id, title: def ? K.t(def) : "" },
    K.el("div", { class: "muted", text: K.both(key) + (def ? " ⓘ" : "") }), K.el("div", { class: "v", text: v }));
  // Passes per hour over the last 12 hours: released beside everything else.
  const hours = [];
  for (let h = 11; h >= 0; h--) {
    const start = new Date(now - h * 36e5); start.setMinutes(0, 0, 0);
    const end = start.getTime() + 36e5;
    const inHour = passes.filter((p) => { const t = new Date(p.decided_at).getTime(); return t >= start.getTime() && t < end; });
    hours.push({ label: `${String(start.getHours()).padStart(2, "0")}h`, values: [inHour.filter((p) => p.outcome === "release").length, inHour.filter((p) => p.outcome !== "release").length] });
  }
  const lanes = {};
  for (const p of day) (lanes[`${p.node}/${p.lane}`] ||= []).push(p);
  // Recognition rate over the lanes' own passes (an officer's superseding record is not a reading).
  const auto = (ps) => ps.filter((p) => !(p.record || {}).supersedes);
  // Central's own lane statistics when it has them; otherwise computed from the passes above.
  const pct = (v) => (v == null ? 0 : Math.round(v * 100));
  const laneGroups = Array.isArray(laneStats) ? laneStats.map((l) => ({
    label: l.lane, values: [pct(l.recognition_rate), pct(l.manual_intervention_rate)],
  })) : Object.entries(lanes).sort().map(([k, ps]) => ({
    label: k, values: [Math.round((100 * auto(ps).filter((p) => p.plate && !(p.record || {}).entered_by).length) / Math.max(auto(ps).length, 1)),
      Math.round((100 * ps.filter(isIntervention).length) / ps.length)],
  }));
  const recent = passes.slice(0, 12).map((p) => ({
    time_col: K.fmtTime(p.decided_at), node_col: p.node, lane_col: p.lane, plate_col: p.plate || "—",
    outcome_col: p.outcome, reasons: ((p.record || {}).reasons || []).map(K.finding).join("；"),
  }));
  const windowPick = K.el("select", { "data-testid": "window", "aria-label": K.t("window"),
    onchange: (e) => { sessionStorage.setItem("kakou.window", e.target.value); show("dashboard"); } },
  [[24, "w_24h"], [168, "w_7d"], [720, "w_30d"]].map(([h, k]) => K.el("option", { value: h, text: `${K.t("window")}: ${K.t(k)}`, selected: h === windowH })));
  view.replaceChildren(
    K.el("div", { class: "toolbar" }, windowPick),
    K.el("div", { class: "kpis" },
      kpi(windowH === 24 ? "passes_24h" : "passes_n", String(day.length), "passes"),
      kpi("lanes_online", `${online} / ${nodes.length}`, "online"),
      kpi("open_alerts", openAlerts == null ? "—" : String(openAlerts), "alerts"),
      kpi("held_rate", `${held}%`, "held", "rate_def.held_rate")),
    K.el("div", { class: "charts" },
      K.el("section", { class: "card" }, K.el("h3", { text: K.both("per_hour") }), barChart(hours, { series: 2, testid: "chart-hourly" }),
        K.el("div", { class: "muted" }, K.el("span", { style: "color:#60a5fa", text: "■ " }), K.t("release"), "  ",
          K.el("span", { style: "color:#e0a100", text: "■ " }), `${K.t("officer")} / ${K.t("inspection")}`)),
      K.el("section", { class: "card" }, K.el("h3", { text: K.both("per_lane") }),
        barChart(laneGroups, { series: 2, max: 100, fmt: (v) => v + "%", testid: "chart-lanes" }),
        Array.isArray(laneStats) ? K.table(laneStats.map((l) => ({
          lane_col: l.lane, passes_n: l.passes, recognition_rate: pct(l.recognition_rate) + "%",
          manual_intervention_rate: pct(l.manual_intervention_rate) + "%", inspection_rate: pct(l.inspection_rate) + "%",
          hit_rate: pct(l.hit_rate) + "%", device_availability: pct(l.device_availability) + "%",
        })), { testid: "lane-stats" }) : null)),
    K.el("p", { class: "muted kpi-notes", "data-testid": "kpi-notes" }, `${K.t("held_rate")}: ${K.t("rate_def.held_rate")} · ${K.t("manual_intervention_rate")}: ${K.t("rate_def.manual_intervention_rate")}`),
    K.el("section", { class: "card", style: "margin-top:1em" }, K.el("h3", { text: K.both("recent_passes") }),
      K.table(recent, { columns: ["time_col", "node_col", "lane_col", "plate_col", "outcome_col", "reasons"], testid: "recent-passes" })),
  );
  stamp();
}

// ---- lanes and nodes ------------------------------------------------------------------------------
async function nodesView() {
  const nodes = await K.api("/api/v1/nodes");
  const rows = nodes.map((n) => ({ ...n, online: n.online ? `● ${K.t("online")}` : `○ ${K.t("offline")}` }));
  const settings = K.el("section", { class: "card", "data-testid": "lane-settings" });
  $("view").replaceChildren(K.el("h2", { text: K.both("nodes") }),
    K.table(rows, { columns: ["node", "online", "last_seen", "knowledge_version", "high_water", "duplicates"], testid: "nodes" }),
    settings);
  await laneSettings(settings);
  if (typeof deviceHealthSection === "function") $("view").append(await deviceHealthSection());  // console-devices.js
  stamp();
}

/* Each registered lane's settings (class, direction, gate role, what it may pass, appointment, yard):
 * a row opens the form; saving sends them to that lane's node. */
const LANE_SETTINGS = "/api/v1/registrations/lane/{node}/{lane}/settings";
async function laneSettings(into) {
  const ops = C.spec.paths[LANE_SETTINGS];
  if (!ops || !ops.put) return;
  const lanes = K.items(await K.api("/api/v1/registrations/lane?limit=200"));
  const rows = lanes.map((r) => ({ node: r.data.node, lane_col: r.data.lane, site: r.data.site, direction: r.data.direction,
    lane_class: r.data.lane_class, gate_role: K.t(r.data.gate_role || "gate"), cargo_types: r.data.cargo_types || [],
    allowed_sizes: r.data.allowed_sizes || [], appointment_required: !!r.data.appointment_required, yard: r.data.yard,
    _reg: r }));
  const edit = (row) => {
    const d = row._reg.data;
    const form = K.schemaForm(C.spec, { path: LANE_SETTINGS, op: ops.put, method: "put" }, {
      fixed: { node: d.node, lane: d.lane },
      values: { site: d.site, direction: d.direction, lane_class: d.lane_class, gate_role: d.gate_role || "gate",
        cargo_types: (d.cargo_types || []).join(", "), allowed_sizes: (d.allowed_sizes || []).join(", "), yard: d.yard },
      onDone: () => { $("dialog").close(); show(C.section); },
    });
    const box = form.querySelector("[name=appointment_required]");
    if (box) box.checked = !!d.appointment_required;
    openDialog(`${K.t("lane_settings")} ${d.node}/${d.lane}`, form);
  };
  into.replaceChildren(K.el("h3", { text: K.both("lane_settings") }),
    K.table(rows, { columns: ["node", "lane_col", "site", "direction", "lane_class", "gate_role", "cargo_types", "allowed_sizes",
      "appointment_required", "yard"], testid: "lane-settings-table", onRow: edit }));
}

// ---- traceability: passes by plate, with the record's timeline -----------------------------------
async function passesView() {
  const view = $("view");
  // Central's timeline of a subject (plate, container, declaration, order) when it offers one.
  const trace = K.findOp(C.spec, "get", /^\/api\/v1\/trace\/\{[^}]+\}\/\{[^}]+\}$/);
  const kindParam = trace && (trace.op.parameters || []).find((p) => p.in === "path");
  const kinds = (kindParam && K.resolve(C.spec, kindParam.schema).enum) || ["plate"];
  const kind = K.el("select", { "data-testid": "search-kind" }, kinds.map((k) => K.el("option", { value: k, text: K.t(k) !== k ? K.both(k) : k })));
  const q = K.el("input", { type: "search", "data-testid": "search-plate", "data-tp": "plate", placeholder: K.t("plate") });
  const results = K.el("div");
  const timeline = K.el("div");
  const load = async () => {
    const value = q.value.trim();
    const byPlate = kind.value === "plate" ? value : "";
    const page = await K.api(`/api/v1/passes?limit=100${byPlate ? "&plate=" + encodeURIComponent(byPlate) : ""}`);
    results.replaceChildren(K.table(K.items(page).map((p) => ({ ...p, _raw: p })), {
      columns: ["decided_at", "node", "lane", "plate", "outcome", "pass_id"], testid: "passes",
      onRow: (r) => passDetail(r._raw),
    }));
    timeline.replaceChildren();
    if (!trace || !value) return;
    const url = K.fillPath(trace.path, { [kindParam.name]: kind.value, value });
    const events = K.items(await K.api(url));
    timeline.replaceChildren(K.el("h3", { text: K.both("timeline") }),
      K.el("div", { class: "toolbar" }, ["csv", "xlsx"].map((f) => K.el("button", {
        type: "button", text: f.toUpperCase(), onclick: () => download(`${url}?format=${f}`, `trace-${value}.${f}`) }))),
      events.length ? K.el("ol", { class: "timeline", "data-testid": "trace" }, events.map((e) => K.el("li", { class: "tl-" + e.kind, "data-testid": "trace-event" },
        K.el("div", {}, K.el("span", { class: "when", text: K.fmtDateTime(e.at) }), K.el("span", { class: "tag", text: K.t(e.kind) }), " ", e.summary),
        // A pass's frames inline: what the cameras saw is the evidence of the event.
        e.data && (e.data.images || []).length ? K.el("div", { class: "frames tl-frames", "data-testid": "trace-frames" },
          e.data.images.map((h) => K.authImage(`/api/v1/images/${h}`))) : null)))
        : K.el("p", { class: "empty", text: K.t("none") }));
  };
  view.replaceChildren(K.el("h2", { text: K.both("passes") }),
    K.el("form", { class: "toolbar", onsubmit: (e) => { e.preventDefault(); guarded(results, load); } }, kind, q,
      K.el("button", { class: "primary", type: "submit", text: K.t("search") })), timeline, results);
  await load();
}

/* Exports need the bearer token, so they are fetched and handed to the browser as a file. */
async function download(url, name) {
  const resp = await fetch(url, { headers: K.authHeaders() });
  if (!resp.ok) { openDialog(K.t("error"), K.el("p", { class: "bad", text: `HTTP ${resp.status}` })); return; }
  const a = K.el("a", { href: URL.createObjectURL(await resp.blob()), download: name });
  document.body.append(a); a.click(); a.remove();
}

function passDetail(p) {
  const r = p.record || {};
  const steps = [
    [r.started_at, K.t("lane") + " " + p.lane + ": " + (p.plate || "—")],
    [r.decided_at, `${K.both(p.outcome)} — ${(r.reasons || []).map(K.finding).join("；")}`],
    [p.received_at, `${K.t("node")} ${p.node} → central (seq ${p.seq})`],
  ].filter(([t]) => t).sort((a, b) => new Date(a[0]) - new Date(b[0]));
  const checks = (r.checks || []).map((c) => K.el("li", { class: "check " + (c.ok ? "ok" : "fail") },
    K.el("span", { class: "mark", text: c.ok ? "✔" : "✘" }), K.el("b", { text: K.checkName(c) }), " ", K.finding(c)));
  openDialog(`${K.t("pass_id")} ${p.pass_id}`,
    (r.images || []).length ? K.el("div", { class: "frames", "data-testid": "pass-frames" }, r.images.map((h) => K.authImage(`/api/v1/images/${h}`))) : null,
    K.el("h3", { text: K.both("timeline") }),
    K.el("ul", { class: "recent-list", "data-testid": "timeline" }, steps.map(([t, s]) => K.el("li", {}, K.el("span", { class: "when", text: K.fmtDateTime(t) }), s))),
    checks.length ? K.el("ul", { class: "checks" }, checks) : null,
    K.el("pre", { style: "white-space:pre-wrap;max-height:40vh;overflow:auto", text: JSON.stringify(r, null, 2) }));
}

// ---- any other resource: table, create form, per-record actions ------------------------------------
async function registrationsView(sec) {
  const view = $("view");
  C.regKind = C.regKind && sec.kinds.includes(C.regKind) ? C.regKind : sec.kinds[0];
  const body = K.el("div");
  view.replaceChildren(K.el("h2", { text: K.both("registrations") }),
    K.el("div", { class: "toolbar", "data-testid": "registration-kinds" }, sec.kinds.map((k) => K.el("button", {
      class: k === C.regKind ? "primary" : "", text: K.t(k) !== k ? K.both(k) : k,
      onclick: () => { C.regKind = k; show("registrations"); },
    }))), body);
  const path = K.fillPath(sec.template, { [sec.param]: C.regKind });
  await resourceView({ key: "registrations", path, template: sec.template, fixed: { [sec.param]: C.regKind },
    ops: C.spec.paths[sec.template], title: null }, body);
}

async function resourceView(sec, into) {
  const view = into || $("view");
  const ops = sec.ops || C.spec.paths[sec.path];
  const get = ops.get;
  const filters = (get.parameters || []).filter((p) => p.in === "query" && !["limit", "offset"].includes(p.name));
  // Filters as officers name them; a yes/no or a fixed list of values is a drop-down, a time a date picker.
  const inputs = filters.map((p) => {
    const sch = K.resolve(C.spec, p.schema || {});
    const label = K.t(p.name);
    const known = p.name === "status" ? STATUSES[sec.key] : null;
    if (sch.enum || sch.type === "boolean" || known) {
      const vals = sch.type === "boolean" ? ["true", "false"] : sch.enum || known;
      return K.el("select", { name: p.name, "aria-label": label, title: label, "data-testid": "filter-" + p.name },
        K.el("option", { value: "", text: `${label}: ${K.t("all")}` }),
        vals.map((v) => K.el("option", { value: v, text: `${label}: ${v === "true" ? K.t("yes") : v === "false" ? K.t("no") : K.t(v)}` })));
    }
    const when = sch.format === "date-time" || sch.format === "date";
    return K.el("input", { name: p.name, type: when ? "date" : "text", placeholder: label, "aria-label": label, title: label,
      "data-testid": "filter-" + p.name });
  });
  const results = K.el("div");
  // A date filter gets 今天 / 本周 presets beside its picker.
  const presets = inputs.filter((i) => i.type === "date").map((i) => {
    const set = (days) => () => {
      const d = new Date(); d.setHours(0, 0, 0, 0);
      if (days) d.setDate(d.getDate() - ((d.getDay() + 6) % 7));  // Monday of this week
      i.value = `${d.getFullYear()}-${String(d.getMonth() + 1).padStart(2, "0")}-${String(d.getDate()).padStart(2, "0")}`;
    };
    return K.el("span", { class: "presets" }, K.el("button", { type: "button", text: K.t("today"), onclick: set(0) }),
      K.el("button", { type: "button", text: K.t("this_week"), onclick: set(7) }));
  });
  const load = async () => {
    const qs = new URLSearchParams({ limit: "100" });
    inputs.forEach((i) => {
      if (!i.value.trim()) return;
      qs.set(i.name, i.type === "date" ? new Date(i.value + "T00:00").toISOString() : i.value.trim());
    });
    if (!(get.parameters || []).some((p) => p.name === "limit")) qs.delete("limit");
    let rows = K.items(await K.api(`${sec.path}${qs.toString() ? "?" + qs : ""}`));
    if (sec.key === "alerts") rows = groupRepeats(rows);
    const columns = sec.key === "alerts" && rows.length
      ? ["created_at", "kind", "severity", "subject", "message", "status", "assignee", "disposed_by", "repeats"] : undefined;
    results.replaceChildren(K.table(rows, { columns, testid: "table-" + sec.key, onRow: (r) => recordDetail(sec, r) }));
  };
  const parts = sec.title === null ? [] : [K.el("h2", { text: sec.extra ? sec.key : K.both(sec.key) })];
  if (inputs.length) {
    parts.push(K.el("form", { class: "toolbar", onsubmit: (e) => { e.preventDefault(); guarded(results, load); } },
      inputs, presets, K.el("button", { class: "primary", type: "submit", text: K.t("search") })));
  }
  const create = ops.post ? ["post", ops.post] : ops.put ? ["put", ops.put] : null;
  if (create) {
    parts.push(K.el("details", { class: "create", "data-testid": "create-" + sec.key },
      K.el("summary", { text: K.t("create") }),
      K.schemaForm(C.spec, { path: sec.template || sec.path, op: create[1], method: create[0] },
        { fixed: sec.fixed || {}, onDone: () => guarded(results, load) })));
  }
  parts.push(results);
  view.replaceChildren(...parts);
  await load();
}

/* Alerts of one cause raised again and again (one truck, nine weight alerts): one row, the newest,
 * with how many times (repeats); the rest are in the alert list's API and in each detail. */
// The statuses each list can be filtered by (central takes them as free text).
const STATUSES = {
  control_orders: ["pending_review", "active", "revoke_pending", "rejected", "revoked", "expired"],
  release_orders: ["draft", "active", "rejected", "cancelled", "used"],
  alerts: ["open", "acknowledged", "disposed", "closed"],
};

function groupRepeats(rows) {
  const groups = new Map();
  for (const r of rows) {
    const key = `${r.kind}|${r.subject}|${r.status}`;
    if (groups.has(key)) groups.get(key).repeats += 1;
    else groups.set(key, { repeats: 1, ...alertRow(r) });
  }
  return [...groups.values()];
}

/* An alert as the reader reads it: its text in the page's language (central renders both from the
 * alert's code and parameters; an alert from before codes has its stored text in both). */
function alertRow(r) {
  const { texts, code, params, ...rest } = r;
  return { ...rest, message: (texts && texts[K.getLang()]) || r.message };
}

function recordDetail(sec, row) {
  // Actions are the operations under this resource's item path, e.g. /control-orders/{order_no}/review.
  const actions = [];
  for (const [path, ops] of Object.entries(C.spec.paths)) {
    const m = path.match(/^(.*)\/\{([^}]+)\}(\/.*)?$/);
    if (!m || m[1] !== (sec.template || sec.path)) continue;
    const idName = m[2];
    const id = row[idName] ?? row.id ?? row[Object.keys(row)[0]];
    for (const method of ["post", "put", "patch", "delete"]) {
      if (!ops[method]) continue;
      const label = (m[3] || "").replace(/^\//, "") || method;
      const body = K.bodySchema(C.spec, ops[method]);
      if (body && body.properties && body.properties.approve && typeof reviewBox === "function") {
        // A review: explicit 批准 / 驳回 with a confirmation, never a checkbox and a submit.
        const path_ = K.fillPath(path, { ...(sec.fixed || {}), [idName]: id });
        const box = reviewBox(async (approve, note) => {
          try { await K.api(path_, { body: { approve, note } }); $("dialog").close(); show(C.section); } catch (e) {
            if (e.status === 401) { $("dialog").close(); openLogin(); return; }
            box.msg.className = "form-msg bad"; box.msg.textContent = reviewError(e);
          }
        });
        actions.push(K.el("section", { class: "review-section", "data-testid": "action-" + label },
          K.el("h3", { text: K.t(label) }), box));
        continue;
      }
      actions.push(K.el("details", { class: "create", "data-testid": "action-" + label },
        K.el("summary", { text: K.t(label) }),
        K.schemaForm(C.spec, { path, op: ops[method], method }, {
          fixed: { ...(sec.fixed || {}), [idName]: id }, onDone: () => { $("dialog").close(); show(C.section); },
        })));
    }
  }
  // An alert's notes are shown as a list below, with their photos.
  const pairs = Object.entries(row).filter(([k]) => !k.startsWith("_") && !(sec.key === "alerts" && k === "notes"));
  const extra = K.el("div");
  openDialog(K.t("detail"),
    K.el("dl", { class: "facts" }, pairs.flatMap(([k, v]) => [K.el("dt", { text: K.t(k) }),
      K.el("dd", { text: v === null ? "—" : typeof v === "object" ? JSON.stringify(v)
        : /^\d{4}-\d\d-\d\dT/.test(String(v)) ? K.fmtDateTime(v) : String(v) })])),
    extra, ...actions);
  if (sec.key === "alerts" && row.id) alertExtras(row.id, extra);
}

/* An alert's place, the pass that raised it with its frames, and the photos taken at disposal. */
async function alertExtras(id, into) {
  let d;
  try { d = await K.api(`/api/v1/alerts/${id}/detail`); } catch { return; }
  const img = (h) => K.authImage(`/api/v1/images/${h}`);
  const place = d.place ? [d.place.node, d.place.lane].filter(Boolean).join(" / ") : null;
  into.replaceChildren(
    place ? K.el("p", {}, K.el("b", { text: `${K.t("place")}: ` }), place) : null,
    d.pass && d.pass.images.length ? K.el("h3", { text: K.t("pass_frames") }) : null,
    d.pass && d.pass.images.length ? K.el("div", { class: "frames", "data-testid": "pass-images" }, d.pass.images.map(img)) : null,
    d.photos.length ? K.el("h3", { text: K.t("disposal_photos") }) : null,
    d.photos.length ? K.el("div", { class: "frames", "data-testid": "disposal-photos" }, d.photos.map(img)) : null,
    (d.alert.notes || []).length ? K.el("ul", { class: "recent-list", "data-testid": "alert-notes" }, d.alert.notes.map((n) => K.el("li", {},
      K.el("span", { class: "when", text: K.fmtDateTime(n.at) }), K.el("span", { class: "tag", text: n.kind }), ` ${n.by}: ${n.text}`,
      n.photos ? ` 📷 ${n.photos.length}` : ""))) : null);
}

document.addEventListener("DOMContentLoaded", async () => {
  K.langToggle($("lang"));
  $("dialog-close").addEventListener("click", () => $("dialog").close());
  $("login").addEventListener("click", openLogin);
  $("password").addEventListener("click", () => openPasswordChange(false));
  C.spec = await K.discover("/api/v1/openapi.json");
  // Who is logged in (a reload keeps the token); nobody: the login comes first, for every screen.
  if (C.spec.paths["/api/v1/auth/me"]) {
    try {
      const me = await K.api("/api/v1/auth/me");
      C.user = `${me.username} (${K.t(me.role)})`;
      C.role = me.role;
      $("user").hidden = false; $("user").textContent = C.user; $("password").hidden = false;
      if (me.password_change_required) openPasswordChange(true);
      if (me.role === "declarant" && !location.hash) location.hash = "applications";  // an enterprise's user: its applications
    } catch (e) { if (e.status === 401) { $("login").hidden = false; openLogin(); } }
  }
  K.onLang(() => show(C.section));
  window.addEventListener("hashchange", () => show(location.hash.slice(1)));
  show(location.hash.slice(1) || "dashboard");
});

// ---- password change: at first login, when expired (403 password-change-required), or by choice ----
const PW_CHANGE = "urn:kakou:problem:password-change-required";

function openPasswordChange(forced) {
  // Already asking (a refresh's 403 must not wipe what is being typed).
  if ($("dialog").open && $("dialog-body").querySelector("[data-testid=password-form]")) return;
  const input = (name, key, auto) => K.el("label", {}, K.t(key),
    K.el("input", { type: "password", name, required: true, autocomplete: auto, "data-testid": "pw-" + name }));
  const msg = K.el("div", { class: "form-msg", role: "alert", "data-testid": "pw-msg" });
  const form = K.el("form", { class: "form", "data-testid": "password-form", onsubmit: async (ev) => {
    ev.preventDefault();
    const f = ev.target.elements;
    if (f.new.value !== f.again.value) { msg.textContent = K.t("password_mismatch"); msg.className = "form-msg bad"; return; }
    try {
      await K.api("/api/v1/auth/password", { body: { current_password: f.current.value, new_password: f.new.value } });
    } catch (e) {
      // The rules' own reason (Chinese first), or what to do for a wrong current password.
      msg.textContent = e instanceof K.HttpError && e.body && e.body.detail ? String(e.body.detail) : K.explain(e);
      msg.className = "form-msg bad";
      return;
    }
    $("dialog").close();
    $("notice").hidden = false; $("notice").textContent = K.t("password_changed");
    show(C.section);
  } },
  forced ? K.el("p", { class: "banner", "data-testid": "pw-forced", text: K.t("password_must_change") }) : null,
  K.el("p", { class: "muted", text: K.t("password_rules") }),
  input("current", "current_password", "current-password"), input("new", "new_password", "new-password"),
  input("again", "confirm_password", "new-password"),
  K.el("button", { class: "primary", type: "submit", "data-testid": "pw-submit", text: K.t("change_password") }), msg);
  openDialog(K.t("change_password"), form);
}
