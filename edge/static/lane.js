/* The lane touch screen: the truck in the lane, the decision, alarms, and officer actions.
 * Data: GET /api/v1/status, /api/v1/passes; live: SSE /api/v1/events (polling if absent).
 * Officer panels appear only for the endpoints this node's OpenAPI document lists. */
"use strict";

const S = {
  status: null, laneId: new URLSearchParams(location.search).get("lane"), shown: null, reading: false,
  recent: [], alarms: new Map(), prevState: null, spec: null, officer: null, live: "poll", lastStatusAt: 0, snapshotAt: 0,
};
const $ = (id) => document.getElementById(id);

function lane() {
  const lanes = (S.status && S.status.lanes) || [];
  return lanes.find((l) => l.lane === S.laneId) || lanes[0] || null;
}

// ---- status: link, knowledge, lane state, alarms -------------------------------------------
function onStatus(st) {
  S.status = st; S.lastStatusAt = Date.now();
  if (!S.laneId && st.lanes && st.lanes.length) S.laneId = st.lanes[0].lane;
  const ln = lane();
  // The vehicle in the lane now (held for an officer, say) wins over the last recorded pass.
  let cur = ln && ln.current && ln.current.decision ? fromCurrent(ln.current, ln) : null;
  // Once an officer's pass replaced it, the held vehicle's first decision is history, not the lane now.
  if (cur && ln.last_pass && ln.last_pass.supersedes === cur.pass_id) cur = null;
  const next = cur || (ln && ln.last_pass);
  const fresh = !!(next && (!S.shown || S.shown.pass_id !== next.pass_id || S.shown.outcome !== next.outcome));
  if (fresh) showPass(next);
  // A new vehicle: the lane entered a reading state from any other; its pass ends the reading.
  const readingState = (s) => ["vehicle_present", "collecting", "deciding"].includes(s);
  if (ln && !fresh && readingState(ln.state) && !readingState(S.prevState)) S.reading = true;
  if (ln && !readingState(ln.state)) S.reading = false;
  S.prevState = ln ? ln.state : null;
  renderStatus();
}

function renderStatus() {
  const st = S.status;
  if (!st) return;
  $("node").textContent = `${K.t("edge_node")} ${st.node}`;
  const tabs = $("lane-tabs");
  tabs.replaceChildren(...(st.lanes || []).map((l) => K.el("button", {
    class: "tab" + (l.lane === (lane() || {}).lane ? " active" : ""), text: laneTitle(l),
    onclick: () => { S.laneId = l.lane; S.shown = null; onStatus(S.status); loadRecent(); loadSnapshot(); },
  })));
  const link = $("link");
  if (st.online) {
    link.className = "badge good"; link.textContent = K.both("online");
  } else {
    link.className = "badge bad";
    link.textContent = `${K.both("offline")}` + (st.offline_since ? ` ${K.t("since")} ${K.fmtTime(st.offline_since)}` : "");
  }
  tickAges();
  const ln = lane();
  const stateEl = $("lane-state");
  if (ln) {
    stateEl.textContent = K.t(ln.state);
    stateEl.className = "state st-" + ln.state;
    stateEl.dataset.state = ln.state;
    stateEl.title = ln.reason || "";
  }
  if (S.reading && ln && ["vehicle_present", "collecting", "deciding"].includes(ln.state)) {
    $("plate").textContent = K.t("reading"); $("decision").textContent = "…"; $("decision").className = "decision";
    $("checks").replaceChildren(); $("decision-meta").textContent = "";
    // A new vehicle: nothing of the last one's verdict stays on the screen.
    setPlateColour("none"); $("verdict").className = "verdict"; $("verdict").dataset.control = "";
    $("decision-by").textContent = ""; $("todo").textContent = ""; $("todo").dataset.todo = "";
  }
  // The vehicles waiting behind this one (e-plates read at the approach), when the node reports them.
  const queue = ln && Array.isArray(ln.queue) ? ln.queue : null;
  $("queue-card").hidden = !queue;
  if (queue) {
    $("queue-count").textContent = queue.length ? `(${queue.length})` : "";
    $("queue").replaceChildren(...(queue.length ? queue.map((q) => K.el("li", { class: "queued", "data-testid": "queued" },
      K.el("b", { class: "q-plate", text: q.plate || K.t("unregistered_tag") }), " ",
      K.el("span", { class: "muted", text: `${K.t("e_plate")} ${q.e_plate}` }), " ",
      K.el("span", { class: "when q-wait", "data-since": q.since, text: waited(q.since) })))
      : [K.el("li", { class: "muted empty-item", text: K.t("none") })]));
  }
  // Alarms derived from the status, plus any the node reports itself.
  setAlarm("offline", !st.online, K.t("offline_alarm"));
  setAlarm("fault-" + (ln ? ln.lane : ""), ln && ln.state === "fault",
    `${K.t("fault_alarm")} ${ln ? ln.lane : ""}${ln && ln.reason ? ": " + ln.reason : ""}`);
  setAlarm("io-" + (ln ? ln.lane : ""), !!(ln && ln.io_fault), `${K.t("io_fault")}: ${ln && ln.io_fault}`);
  for (const a of (ln && Array.isArray(ln.alarms) ? ln.alarms : [])) {
    setAlarm("node-" + (a.id || a.code || a.text), true, a.text || a.message || a.code || JSON.stringify(a), a.at);
  }
  if (st.outbox && st.outbox.queued) {
    $("knowledge").title = `${st.outbox.queued} ${K.t("outbox")}`;
  }
  if (st.officer || (ln && ln.officer)) showOfficer(st.officer || ln.officer);
  renderAlarms();
  enableActions();
}

function waited(since) {
  return K.fmtAge((Date.now() - new Date(since).getTime()) / 1000).replace(/ ago$| ?前$/, "");
}

function tickAges() {
  document.querySelectorAll(".q-wait").forEach((e) => { e.textContent = waited(e.dataset.since); });
  const st = S.status;
  if (!st) return;
  const drift = (Date.now() - S.lastStatusAt) / 1000;
  const age = st.knowledge_age_s == null ? null : st.knowledge_age_s + drift;
  $("knowledge").textContent = `${K.both("knowledge")} v${st.knowledge_version} · ${K.fmtAge(age)}`;
}

function setAlarm(key, on, text, at) {
  if (on && !S.alarms.has(key)) {
    S.alarms.set(key, { key, text, at: at || Date.now() / 1000 });
    K.beep();
  } else if (!on && S.alarms.has(key) && !key.startsWith("event-")) {
    S.alarms.delete(key);
  }
}

function renderAlarms() {
  const list = [...S.alarms.values()].sort((a, b) => b.at - a.at);
  $("alarm-count").textContent = list.length ? `(${list.length})` : "";
  // Alarms from events are acknowledged with a tap; the others last as long as their cause.
  const ack = (a) => () => { if (a.key.startsWith("event-")) { S.alarms.delete(a.key); renderAlarms(); } };
  $("alarms").replaceChildren(...(list.length ? list.map((a) => K.el("li", { class: "alarm", "data-testid": "alarm", onclick: ack(a) },
    K.el("span", { class: "when", text: K.fmtTime(a.at) }), " ", a.text))
    : [K.el("li", { class: "muted", text: K.t("none") })]));
}

// ---- the current pass ----------------------------------------------------------------------
/* The rows of the checks panel, rendered from the check codes (K.finding, check-texts.js). */
function checksOf(rec) {
  if (Array.isArray(rec.checks) && rec.checks.length) {
    return rec.checks.map((c) => ({ name: K.checkName(c), ok: !!c.ok, reason: K.finding(c) }));
  }
  // An officer's decision has reasons (the officer's) but no checks of its own.
  const conf = rec.plate_confidence ? ` (${Math.round(rec.plate_confidence * 100)}%)` : "";
  const rows = [{ name: K.t("check_plate"), ok: !!rec.plate, reason: rec.plate ? `${rec.plate}${conf}` : K.t("plate_not_read") }];
  for (const r of rec.reasons || []) rows.push({ name: K.checkName(r), ok: rec.outcome === "release", reason: K.finding(r) });
  return rows;
}

/* The lane's in-progress view {observation, decision} in the shape of a pass record. */
function fromCurrent(cur, ln) {
  const o = cur.observation || {}, d = cur.decision || {};
  return {
    pass_id: cur.pass_id, lane: ln.lane, direction: o.direction || ln.direction, plate: o.plate,
    plate_confidence: o.plate_confidence, containers: o.containers, gross_kg: o.gross_kg, e_plate: o.e_plate,
    ic_card: o.ic_card, entered_by: o.entered_by, outcome: d.outcome, reasons: d.reasons || [], checks: d.checks || [],
    release_order: d.release_order, release_orders: d.release_orders, knowledge_version: d.knowledge_version, decided_at: o.at, images: cur.images,
    pending: true,
  };
}

function showPass(rec) {
  if (!S.shown || S.shown.pass_id !== rec.pass_id) S.acted = null;
  S.shown = rec; S.reading = false;
  $("plate").textContent = rec.plate || "— ? —";
  setPlateColour(plateColourOf(rec.plate));
  $("plate-confidence").textContent = rec.plate ? `${K.t("confidence")} ${Math.round((rec.plate_confidence || 0) * 100)}%` : "";
  const facts = [
    ["direction", K.t(rec.direction)], ["containers", (rec.containers || []).join(", ") || null],
    ["gross_kg", rec.gross_kg != null ? `${rec.gross_kg.toLocaleString()} kg` + (rec.declared_gross_kg != null ? ` / ${rec.declared_gross_kg.toLocaleString()} kg` : "") : null],
    ["e_plate", rec.e_plate || null], ["ic_card", rec.ic_card || null], ["entered_by", rec.entered_by || null],
    ["supersedes", rec.supersedes || null],
    ["release_order_no", (rec.release_orders || []).join(", ") || rec.release_order], ["knowledge_version", rec.knowledge_version],
    ["decided_at", K.fmtTime(rec.decided_at)], ["pass_id", rec.pass_id],
  ].filter(([, v]) => v !== null && v !== undefined && v !== "");
  $("facts").replaceChildren(...facts.flatMap(([k, v]) => [K.el("dt", { text: K.t(k) }), K.el("dd", { text: String(v), "data-testid": "fact-" + k })]));
  // Failed checks first: they are why the truck waits.
  $("checks").replaceChildren(...checksOf(rec).sort((a, b) => a.ok - b.ok).map((c) => K.el("li", { class: "check " + (c.ok ? "ok" : "fail"), "data-testid": "check" },
    K.el("span", { class: "mark", text: c.ok ? "✔" : "✘" }), K.el("b", { text: c.name }), " ", c.reason)));
  // A control-order hit is an alarm, with sound, until the screen is reloaded.
  for (const c of (rec.checks || []).filter((c) => c.code === "control_order_hit" && !c.ok)) {
    setAlarm(`event-control-${rec.pass_id}`, true, `${K.t("control_order")}: ${rec.plate || ""} — ${K.finding(c)}`);
    renderAlarms();
  }
  renderVerdict(rec);
  $("decision-meta").textContent = `${K.fmtDateTime(rec.decided_at)} · ${rec.pass_id}`;
  if (!rec.pending && !S.recent.find((p) => p.pass_id === rec.pass_id)) { S.recent.unshift(rec); renderRecent(); }
  // Every frame the lane kept (plate and container cameras); a tap shows it large.
  const imgs = rec.images || [];
  $("thumbs").replaceChildren(...(imgs.length > 1 ? imgs.map((d) => K.el("img", {
    src: `/api/v1/images/${d}`, alt: "", onclick: () => loadSnapshot(`/api/v1/images/${d}`) })) : []));
  loadSnapshot(imgs.length ? `/api/v1/images/${imgs[0]}` : null);
}

function renderRecent() {
  const lid = (lane() || {}).lane;
  const rows = S.recent.filter((p) => !lid || p.lane === lid).slice(0, 12);
  $("recent").replaceChildren(...(rows.length ? rows.map((p) => K.el("li", { class: "out-" + p.outcome, onclick: () => showPass(p) },
    K.el("span", { class: "when", text: K.fmtTime(p.decided_at) }), K.el("b", { text: p.plate || "—" }),
    K.el("span", { class: "tag", text: K.t("tag_" + p.outcome) }))) : [K.el("li", { class: "muted", text: K.t("none") })]));
}

async function loadRecent() {
  try {
    S.recent = await K.api("/api/v1/passes?limit=30");
    renderRecent();
    const lid = (lane() || {}).lane;
    if (!S.shown) { const p = S.recent.find((r) => !lid || r.lane === lid); if (p) showPass(p); }
  } catch { /* shown as edge unreachable by the status loop */ }
}

function loadSnapshot(url) {
  const lid = (lane() || {}).lane;
  if (!lid && !url) return;
  const img = $("snapshot");
  const digest = url && (url.match(/\/images\/([0-9a-f]{64})$/) || [])[1];
  S.shownImage = digest || null;
  $("marks").replaceChildren();
  img.onload = () => {
    img.hidden = false; $("no-snapshot").hidden = true;
    const rec = S.shown || {};
    $("snapshot-caption").textContent = [rec.plate ? `${K.t("plate")}: ${rec.plate}` : "",
      (rec.containers || []).length ? `${K.t("containers")}: ${rec.containers.join(", ")}` : ""].filter(Boolean).join(" · ");
    if (digest) loadMarks(digest);
  };
  img.onerror = () => { img.hidden = true; $("no-snapshot").hidden = false; $("snapshot-caption").textContent = ""; };
  img.src = url || `/api/v1/lanes/${encodeURIComponent(lid)}/snapshot.jpg?t=${Date.now()}`;
}

/* The read plate / container code framed on the picture, where the lane located it. */
async function loadMarks(digest) {
  try { drawMarks(digest, await K.api(`/api/v1/images/${digest}/marks`)); } catch { /* older node: no marks */ }
}

// Marks by frame, from the stream or the API: a reply sent before the lane had located the plate
// (an empty list) must not wipe marks the stream delivered meanwhile, and marks streamed before
// their frame is shown are drawn when it is.
const knownMarks = new Map();

function drawMarks(digest, marks) {
  if (!Array.isArray(marks)) return;
  if (marks.length) {
    knownMarks.set(digest, marks);
    if (knownMarks.size > 50) knownMarks.delete(knownMarks.keys().next().value);
  } else {
    marks = knownMarks.get(digest) || marks;
  }
  if (digest !== S.shownImage) return;
  // An ordinary plate's text does not tell blue from yellow: the framed plate on the picture does.
  const plate = marks.find((m) => m.kind === "plate");
  const img = $("snapshot");
  if (plate && S.shown && plate.text === S.shown.plate && plateColourOf(S.shown.plate) === "blue" && img.complete && img.naturalWidth) {
    const seen = plateColourFromImage(img, plate.box);
    if (seen === "yellow" || seen === "blue") setPlateColour(seen);
  }
  $("marks").replaceChildren(...marks.map((m) => {
    const [x0, y0, x1, y1] = m.box;
    const pct = (v, of) => `${(100 * v / of).toFixed(2)}%`;
    return K.el("span", { class: "mark-box mark-" + m.kind, "data-testid": "mark-" + m.kind,
      style: `left:${pct(x0, m.width)};top:${pct(y0, m.height)};width:${pct(x1 - x0, m.width)};height:${pct(y1 - y0, m.height)}` },
    K.el("span", { class: "mark-label", text: m.text }));
  }));
}

// ---- live updates ------------------------------------------------------------------------------
function setLive(mode) {
  S.live = mode;
  const e = $("live");
  e.textContent = K.t({ sse: "live_sse", poll: "live_poll", down: "live_down" }[mode]);
  e.className = "badge " + (mode === "down" ? "bad" : "muted");
  e.dataset.mode = mode;
}

async function poll() {
  try { onStatus(await K.api("/api/v1/status")); if (S.live === "down") setLive("poll"); } catch { setLive("down"); }
}

let pollTimer = null;
function startPolling() {
  if (pollTimer) return;
  setLive("poll");
  pollTimer = setInterval(poll, 1000);
}

function connect() {
  if (!window.EventSource) { startPolling(); return; }
  let opened = false;
  const es = new EventSource("/api/v1/events");
  es.onopen = () => { opened = true; setLive("sse"); if (pollTimer) { clearInterval(pollTimer); pollTimer = null; } };
  es.onerror = () => {
    if (es.readyState === EventSource.CLOSED) { if (!opened) startPolling(); else { setLive("down"); setTimeout(connect, 2000); } }
    else setLive("down");  // the browser reconnects by itself
  };
  es.addEventListener("status", (m) => onStatus(JSON.parse(m.data)));
  // A backlog lost: what it held (the shown frame's marks too) is read again.
  es.addEventListener("resync", () => { poll(); loadRecent(); if (S.shownImage) loadMarks(S.shownImage); });
  es.addEventListener("pass", (m) => {
    const ev = JSON.parse(m.data), rec = ev.pass || ev.record || ev;
    if (!S.laneId || rec.lane === S.laneId) showPass(rec);
  });
  const onState = (m) => {
    const ev = JSON.parse(m.data);
    const ln = (S.status && S.status.lanes || []).find((l) => l.lane === ev.lane);
    if (ln) { ln.state = ev.state; if (ev.reason !== undefined) ln.reason = ev.reason; onStatus(S.status); }
  };
  es.addEventListener("state", onState);
  es.addEventListener("lane_state", onState);
  es.addEventListener("marks", (m) => { const ev = JSON.parse(m.data); drawMarks(ev.image, ev.marks); });
  es.addEventListener("snapshot", (m) => { const ev = JSON.parse(m.data); if (ev.lane === (lane() || {}).lane) loadSnapshot(); });
  es.addEventListener("alarm", (m) => {
    const ev = JSON.parse(m.data);
    setAlarm("event-" + ev.seq, true, `${ev.lane ? ev.lane + ": " : ""}${ev.text || ev.message || ev.code || ""}`, ev.at);
    renderAlarms();
  });
}

// ---- officer actions, as the node offers them ----------------------------------------------
// Which body fields the officer fills in for each action of POST /lanes/{lane}/actions, and
// which of them may not be left empty (an override always records why).
// A truck held on a control order (布控) is released only with a second officer's own PIN.
const SECOND = ["second_officer", "second_pin"];
const ACTION_FIELDS = {
  manual_entry: { only: ["plate", "containers", ...SECOND], must: ["plate"] },
  override: { only: ["outcome", "reason", ...SECOND], must: ["outcome", "reason"] },
  inspection_result: { only: ["result", "reason", ...SECOND], must: ["result", "reason"] },
  release_on_documents: { only: ["reason", ...SECOND], must: ["reason"] },
};
const HOLDING = ["held_for_officer", "to_inspection"];

function showOfficer(o) {
  const name = o ? (typeof o === "string" ? o : (o.name || o.officer || o.id || o.officer_id || "")) : "";
  S.officer = name || null;
  if (name) sessionStorage.setItem("kakou.officer", name); else sessionStorage.removeItem("kakou.officer");
  const e = $("officer");
  e.hidden = !name; $("logout").hidden = !name;
  if (name) e.textContent = `${K.t("officer_on_duty")}: ${name}`;
  const login = document.querySelector("[data-testid=action-login]");
  if (login) login.hidden = !!name;
  renderTodo();
}

async function logout() {
  try { await K.api("/api/v1/officer/logout", { method: "POST" }); } catch { /* the token is dropped here anyway */ }
  K.setToken(null); showOfficer(null);
}

function openDialog(title, content) {
  $("dialog-body").replaceChildren(K.el("h3", { text: title }), content);
  if (!$("dialog").open) $("dialog").showModal();
}

function actionButton(key, onclick, needsHold) {
  return K.el("button", { class: "officer-action", "data-testid": "action-" + key, "data-hold": needsHold ? "1" : undefined,
    text: K.both(key), onclick });
}

function laneFixed() {
  const lid = (lane() || {}).lane;
  return { lane: lid, lane_id: lid, pass_id: S.shown && S.shown.pass_id };
}

function openForm(key, target, extra, fields, then) {
  // An action needs a logged-in officer: log in first, then the action's form opens.
  if (key !== "login" && !S.officer && S.loginOp) {
    openForm("login", S.loginOp, {}, null, () => openForm(key, target, extra, fields));
    $("dialog-body").prepend(K.el("p", { class: "form-note", text: K.t("login_first") }));
    return;
  }
  const form = K.schemaForm(S.spec, target, {
    fixed: { ...laneFixed(), ...extra }, only: fields && fields.only, mustFill: (fields && fields.must) || [], touch: true,
    values: key === "manual_entry" && S.shown && S.shown.plate ? { plate: S.shown.plate } : {},
    // The session expired on the node: log in again, then the same form opens again.
    onError: (e) => {
      if (e.status === 401 && key !== "login") { K.setToken(null); showOfficer(null); openForm(key, target, extra, fields, then); }
    },
    onDone: (res, body) => {
      if (key === "login" && res) {
        K.setToken(res.token || res.access_token || null);
        showOfficer(res.officer || res.name || res.officer_id || "");
      } else if (res) {
        acted(key, body);
      }
      $("dialog").close(); poll(); loadRecent();
      if (then) then();
    },
  });
  openDialog(K.both(key), form);
  if (key === "manual_entry") platePrompt(form);
}

/* The plate field of the manual entry: the camera's read to start from, a format hint, checked as typed. */
function platePrompt(form) {
  const input = form.querySelector("[name=plate]");
  if (!input) return;
  const hint = input.parentElement.querySelector(".hint");
  const check = () => {
    const v = input.value.trim().toUpperCase();
    const ok = plateValid(v);
    hint.textContent = !v ? K.t("plate_hint") : ok ? `✔ ${K.t("plate_ok")}` : `${K.t("plate_bad")} — ${K.t("plate_hint")}`;
    hint.className = "hint " + (!v ? "" : ok ? "good" : "bad");
    input.setAttribute("aria-invalid", v && !ok ? "true" : "false");
    // The read plate keeps the colour the camera saw; a typed one the colour its text tells.
    setPlateColour(S.shown && v === S.shown.plate ? $("plate").dataset.colour : plateColourOf(v), input);
    return ok;
  };
  input.addEventListener("input", check);
  form.addEventListener("submit", (ev) => {
    if (!check()) { ev.preventDefault(); ev.stopImmediatePropagation(); input.focus(); }
  }, { capture: true });
  check();
}

// ---- plate: GA 36 format and the colour of its kind ------------------------------------------------
const PROV = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼";
const LET = "ABCDEFGHJKLMNPQRSTUVWXYZ", ALNUM = LET + "0123456789";
const RE_STANDARD = new RegExp(`^[${PROV}][${LET}][${ALNUM}]{4}[${ALNUM}挂学警港澳领试超]$`);
const RE_NEW_ENERGY = new RegExp(`^[${PROV}][${LET}](?:[DABCEFGHJK][${ALNUM}]\\d{4}|\\d{5}[DABCEFGHJK])$`);
const RE_LATIN = /^(?:[A-Z]{2}\d{1,4}|\d{4}[A-Z]{3})$/;
function plateValid(p) { return RE_STANDARD.test(p) || RE_NEW_ENERGY.test(p) || RE_LATIN.test(p); }
/* The colour a plate's text tells (GA 36): new energy green, trailers and coaches' 学 yellow, police white,
 * consular black; an ordinary plate is blue unless the camera saw yellow (plateColourFromImage). */
function plateColourOf(p) {
  if (!p || !plateValid(p)) return "none";
  if (RE_NEW_ENERGY.test(p)) return /\d{5}[DABCEFGHJK]$/.test(p) ? "yellow-green" : "green";
  if (/[挂学]$/.test(p)) return "yellow";
  if (/警$/.test(p)) return "white";
  if (/[港澳领使]$/.test(p)) return "black";
  return "blue";
}
function setPlateColour(c, elem) {
  const e = elem || $("plate");
  e.dataset.colour = c;
  if (!elem) e.setAttribute("aria-label", `${K.t("plate")} ${$("plate").textContent} (${K.t("colour_" + c)})`);
}
/* Blue or yellow is not in the text of an ordinary plate: the camera frame tells, where the lane framed the plate. */
function plateColourFromImage(img, box) {
  try {
    const [x0, y0, x1, y1] = box, w = x1 - x0, h = y1 - y0;
    if (w < 8 || h < 4) return null;
    const c = document.createElement("canvas");
    c.width = 48; c.height = 16;
    const g = c.getContext("2d", { willReadFrequently: true });
    g.drawImage(img, x0, y0, w, h, 0, 0, 48, 16);
    const px = g.getImageData(0, 0, 48, 16).data;
    let blue = 0, yellow = 0, green = 0, white = 0;
    for (let i = 0; i < px.length; i += 4) {
      const r = px[i], gr = px[i + 1], b = px[i + 2], mx = Math.max(r, gr, b), mn = Math.min(r, gr, b);
      if (mx > 170 && mx - mn < 40) { white++; continue; }
      if (mx - mn < 50) continue;
      if (b === mx && b > r + 40) blue++;
      else if (r > 120 && gr > 100 && b < Math.min(r, gr) - 50) yellow++;
      else if (gr === mx && gr > r + 20) green++;
    }
    const n = px.length / 4, best = Math.max(blue, yellow, green);
    if (best > n * 0.25) return best === blue ? "blue" : best === yellow ? "yellow" : "green";
    return white > n * 0.5 ? "white" : null;
  } catch { return null; }
}

// ---- the verdict: outcome, who acted, what to do ------------------------------------------------
function controlHit(rec) { return (rec.checks || []).some((c) => c.name === "control" && !c.ok); }

function renderVerdict(rec) {
  const d = $("decision"), by = $("decision-by"), v = $("verdict");
  const stop = controlHit(rec) && rec.outcome !== "release";
  const a = S.acted && S.acted.pass_id === rec.pass_id ? S.acted : null;
  const outcome = a && a.outcome ? a.outcome : rec.outcome;
  d.replaceChildren(...(stop && !a
    ? [K.el("span", { class: "stop-word", text: K.getLang() === "zh" ? K.t("control_stop") : K.both("control_stop") }),
      " ", K.el("span", { class: "out-word", text: K.both(outcome) })]
    : [K.both(outcome)]));
  d.className = "decision out-" + outcome + (stop && !a ? " control-stop" : "");
  d.dataset.outcome = outcome;
  v.className = "verdict out-" + outcome + (stop && !a ? " control-stop" : "") + (a && !a.outcome ? " pending" : "");
  v.dataset.control = stop ? "1" : "";
  // Who decided a pass an officer finished (its record names them), or what the officer just did.
  if (a) by.textContent = `${K.t(a.text, { plate: a.plate || "" })} · ${a.officer}`;
  else if (rec.entered_by && rec.supersedes) by.textContent = `${K.t(rec.outcome === "release" ? "acted_release" : "acted_inspection")} · ${rec.entered_by}`;
  else by.textContent = "";
  if (a && !a.outcome) d.textContent = "…";
  renderTodo();
}

/* The officer's command was accepted: the banner says so at once, before the lane's new pass arrives. */
function acted(key, body) {
  if (!S.shown || !body) return;
  const who = S.officer || "";
  const map = {
    override: body.outcome === "inspection" ? ["inspection", "acted_inspection"] : ["release", "acted_release"],
    release_on_documents: ["release", "acted_release"],
    inspection_result: body.result === "passed" ? ["release", "acted_release"] : ["inspection", "acted_failed"],
    manual_entry: [null, "acted_manual"],
  }[key];
  if (!map) return;
  S.acted = { pass_id: S.shown.pass_id, outcome: map[0], text: map[1], officer: who, plate: body.plate };
  renderVerdict(S.shown);
  enableActions();
}

function todoKey(rec) {
  if (!rec) return null;
  if (S.acted && S.acted.pass_id === rec.pass_id) return null;
  if (controlHit(rec) && rec.outcome !== "release") return "todo_control";
  if (rec.outcome === "release") return "todo_release";
  if (rec.outcome === "inspection") return "todo_inspection";
  // From the failed checks' names, never from the reasons' words.
  const failed = (rec.checks || []).filter((c) => !c.ok).map((c) => c.name);
  if (!rec.plate || failed.includes("plate")) return "todo_plate";
  if (failed.includes("device")) return "todo_device";
  if (failed.includes("release_order")) return "todo_order";
  return "todo_hold";
}

function renderTodo() {
  const rec = S.shown, key = todoKey(rec), e = $("todo");
  const needsLogin = key && !["todo_release"].includes(key) && !S.officer && S.loginOp && rec && rec.pending;
  e.textContent = key ? K.t(key) + (needsLogin ? " " + K.t("todo_login") : "") : "";
  e.className = "todo" + (key === "todo_control" ? " todo-control" : "");
  e.dataset.todo = key || "";
}

async function openBackfill(list, complete) {
  try {
    const rows = K.items(await K.api(list.path));
    openDialog(K.both("backfill_list"), K.table(rows, {
      testid: "backfill",
      onRow: complete ? (r) => openForm("backfill", complete, { pass_id: r.pass_id }, { only: ["plate", "containers"], must: ["plate"] }) : null,
    }));
  } catch (e) { openDialog(K.both("backfill_list"), K.el("p", { class: "bad", text: e.message })); }
}

/* Trucks sent to the inspection area that have left the lane: pick one, record its result. */
async function openInspections(list, record) {
  try {
    const rows = K.items(await K.api(list.path));
    openDialog(K.both("inspection_list"), K.table(rows, {
      testid: "inspections", columns: ["plate", "containers", "at", "result", "lane", "pass_id"],
      onRow: record ? (r) => openForm("inspection_record", record, { pass_id: r.pass_id },
                                      { only: ["result", "reason"], must: ["result", "reason"] }) : null,
    }));
  } catch (e) { openDialog(K.both("inspection_list"), K.el("p", { class: "bad", text: e.message })); }
}

/* Buttons for what this node's API offers; lane actions only while a vehicle waits for an officer. */
async function setupOfficer() {
  S.spec = await K.discover("/openapi.json");
  const buttons = [];
  const login = K.findOp(S.spec, "post", /(officer\/login|\/login$|\/sessions?$)/i);
  S.loginOp = login;
  if (login) buttons.push(actionButton("login", () => openForm("login", login, {})));
  const actions = K.findOp(S.spec, "post", /\/lanes\/\{[^}]+\}\/actions$/);
  if (actions) {
    const schema = K.bodySchema(S.spec, actions.op);
    const prop = schema && schema.properties && schema.properties.action && K.resolve(S.spec, schema.properties.action);
    for (const name of (prop && prop.enum) || []) {
      buttons.push(actionButton(name, () => openForm(name, actions, { action: name }, ACTION_FIELDS[name]), true));
    }
  }
  const backfill = K.findOp(S.spec, "get", /\/backfill$/);
  if (backfill) {
    const b = actionButton("backfill_list", () => openBackfill(backfill, K.findOp(S.spec, "post", /\/backfill\/\{/)));
    b.classList.add("secondary");
    buttons.push(b);
  }
  const sent = K.findOp(S.spec, "get", /\/inspections$/);
  if (sent) {
    const b = actionButton("inspection_list", () => openInspections(sent, K.findOp(S.spec, "post", /\/inspections\/\{/)));
    b.classList.add("secondary");
    buttons.push(b);
  }
  $("officer-bar").replaceChildren(K.el("span", { class: "no-action muted", "data-testid": "no-action", text: K.t("no_action") }), ...buttons);
  $("officer-bar").hidden = !buttons.length;
  showOfficer(S.officer);
  enableActions();
}

// The actions that fit what the lane waits for; the others are not shown.
const FITS = {
  held_for_officer: ["manual_entry", "override", "release_on_documents"],
  to_inspection: ["inspection_result", "override"],
};
function enableActions() {
  const ln = lane() || {};
  const held = HOLDING.includes(ln.state);
  const done = S.acted && S.shown && S.acted.pass_id === S.shown.pass_id;
  const fits = held && !done ? (FITS[ln.state] || []) : [];
  let shown = 0;
  document.querySelectorAll("[data-hold]").forEach((b) => {
    const on = fits.includes(b.dataset.testid.replace("action-", ""));
    b.hidden = !on; b.disabled = !on; shown += on;
  });
  const none = document.querySelector("[data-testid=no-action]");
  if (none) none.hidden = shown > 0;
}

document.addEventListener("DOMContentLoaded", () => {
  K.langToggle($("lang"));
  $("dialog-close").addEventListener("click", () => $("dialog").close());
  $("logout").addEventListener("click", logout);
  S.officer = sessionStorage.getItem("kakou.officer") || null;
  // A stored session may have expired on the node: ask it who is logged in.
  if (S.officer) K.api("/api/v1/officer").then((r) => showOfficer(r.officer)).catch(() => { K.setToken(null); showOfficer(null); });
  K.onLang(() => { renderStatus(); if (S.shown) showPass(S.shown); renderRecent(); setLive(S.live); setupOfficer(); });
  setLive("poll");
  poll().then(loadRecent);
  connect();
  setupOfficer();
  setInterval(tickAges, 1000);
});

/* A lane's tab: its id, direction and class, and its gate role when it is not an ordinary gate
 * (as central set them): 通道 L1 · 进 · A类 · 查验通道. */
function laneTitle(l) {
  const parts = [`${K.t("lane")} ${l.lane}`];
  if (l.direction) parts.push(K.t(l.direction));
  if (l.lane_class) parts.push(K.t("class_" + l.lane_class.toLowerCase()));
  if (l.gate_role && l.gate_role !== "gate") parts.push(K.t("role_" + l.gate_role));
  return parts.join(" · ");
}
