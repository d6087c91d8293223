/* The lane touch screen: the truck in the lane, the decision, alarms, and officer actions.
 * Data: GET /api/v1/status, /api/v1/passes; live: SSE /api/v1/events (polling if absent).
 * Officer panels appear only for the endpoints this node's OpenAPI document lists. */
"use strict";

K.addTerms({
  f_second_officer: ["Second officer (control-order hold)", "复核关员（布控放行）"],
  f_second_pin: ["Second officer's PIN", "复核关员 PIN"],
  current_truck: ["Vehicle in lane", "当前车辆"], queue: ["Queue", "排队车辆"], alarms: ["Alarms", "报警"],
  recent: ["Recent passes", "最近通行"], no_snapshot: ["No camera image", "暂无抓拍图像"],
  idle: ["Idle", "空闲"], vehicle_present: ["Vehicle present", "车辆到达"], collecting: ["Reading vehicle…", "采集中…"],
  deciding: ["Deciding…", "判定中…"], released: ["Released", "已放行"], held_for_officer: ["Waiting for officer", "等待人工处理"],
  to_inspection: ["To inspection", "送查验"], clearing: ["Vehicle passing", "车辆通过中"], fault: ["Lane fault", "通道故障"],
  reading: ["reading…", "识别中…"], confidence: ["confidence", "置信度"], since: ["since", "自"],
  live_sse: ["Live", "实时"], live_poll: ["Polling", "轮询"], live_down: ["Edge unreachable", "工控机无法连接"],
  offline_alarm: ["Central unreachable — deciding from the local cache", "中心不可达 — 按本地缓存判定"],
  fault_alarm: ["Lane device fault", "通道设备故障"], outbox: ["waiting to send", "待上传"],
  check_plate: ["Plate read", "车牌识别"], direction: ["Direction", "方向"], in: ["In", "进"], out: ["Out", "出"],
  pass_id: ["Pass", "通行记录"], knowledge_version: ["Knowledge version", "知识库版本"],
  decided_at: ["Decided", "判定时间"], release_order_no: ["Release order", "核放单号"],
  containers: ["Containers", "集装箱"], gross_kg: ["Gross weight", "毛重"],
  login: ["Officer login", "关员登录"], logout: ["Log out", "退出"], manual: ["Manual entry", "人工录入"],
  override: ["Override", "人工放行/改判"], inspection_result: ["Inspection result", "查验结果"],
  backfill_list: ["Backfill list", "补录清单"], officer_on_duty: ["Officer", "关员"],
  plate_not_read: ["plate not read", "车牌未识别"],
  e_plate: ["E-plate", "电子车牌"], entered_by: ["Entered by", "录入关员"], supersedes: ["Replaces pass", "替代记录"],
  manual_entry: ["Manual entry", "人工录入"], release_on_documents: ["Release on documents", "凭单放行"],
  io_fault: ["Lane I/O fault", "通道IO故障"], outcome_field: ["Outcome", "结果"],
  passed: ["Passed", "查验通过"], failed: ["Failed", "查验不通过"], backfill: ["Backfill", "人工补录"],
  officer_field: ["Officer ID", "关员编号"], pin: ["PIN", "密码"],
  unregistered_tag: ["Unregistered e-plate", "未备案电子车牌"],
});

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
  const cur = ln && ln.current && ln.current.decision ? fromCurrent(ln.current, ln) : null;
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
    class: "tab" + (l.lane === (lane() || {}).lane ? " active" : ""), text: `${K.t("lane")} ${l.lane}`,
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
      : [K.el("li", { class: "muted", text: K.t("none") })]));
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
  S.shown = rec; S.reading = false;
  $("plate").textContent = rec.plate || "— ? —";
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
  $("checks").replaceChildren(...checksOf(rec).map((c) => K.el("li", { class: "check " + (c.ok ? "ok" : "fail"), "data-testid": "check" },
    K.el("span", { class: "mark", text: c.ok ? "✔" : "✘" }), K.el("b", { text: c.name }), " ", c.reason)));
  // A control-order hit is an alarm, with sound, until the screen is reloaded.
  for (const c of (rec.checks || []).filter((c) => c.code === "control_order_hit" && !c.ok)) {
    setAlarm(`event-control-${rec.pass_id}`, true, `${K.t("control_order")}: ${rec.plate || ""} — ${K.finding(c)}`);
    renderAlarms();
  }
  const d = $("decision");
  d.textContent = K.both(rec.outcome);
  d.className = "decision out-" + rec.outcome;
  d.dataset.outcome = rec.outcome;
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
    K.el("span", { class: "tag", text: K.t(p.outcome) }))) : [K.el("li", { class: "muted", text: K.t("none") })]));
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

function drawMarks(digest, marks) {
  if (digest !== S.shownImage || !Array.isArray(marks)) return;
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
  es.addEventListener("resync", () => { poll(); loadRecent(); });
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
  inspection_result: { only: ["result", "reason", ...SECOND], must: ["result"] },
  release_on_documents: { only: ["reason", ...SECOND], must: ["reason"] },
};
const HOLDING = ["held_for_officer", "to_inspection"];

function showOfficer(o) {
  S.officer = o;
  const e = $("officer");
  e.hidden = !o;
  if (o) e.textContent = `${K.t("officer_on_duty")}: ${typeof o === "string" ? o : (o.name || o.officer || o.id || o.officer_id || "")}`;
}

function openDialog(title, content) {
  $("dialog-body").replaceChildren(K.el("h3", { text: title }), content);
  $("dialog").showModal();
}

function actionButton(key, onclick, needsHold) {
  return K.el("button", { class: "officer-action", "data-testid": "action-" + key, "data-hold": needsHold ? "1" : undefined,
    text: K.both(key), onclick });
}

function laneFixed() {
  const lid = (lane() || {}).lane;
  return { lane: lid, lane_id: lid, pass_id: S.shown && S.shown.pass_id };
}

function openForm(key, target, extra, fields) {
  openDialog(K.both(key), K.schemaForm(S.spec, target, {
    fixed: { ...laneFixed(), ...extra }, only: fields && fields.only, mustFill: (fields && fields.must) || [], touch: true,
    onDone: (res) => {
      if (key === "login" && res) {
        K.setToken(res.token || res.access_token || null);
        showOfficer(res.officer || res.name || res.officer_id || "");
      }
      $("dialog").close(); poll(); loadRecent();
    },
  }));
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

/* Buttons for what this node's API offers; lane actions only while a vehicle waits for an officer. */
async function setupOfficer() {
  S.spec = await K.discover("/openapi.json");
  const buttons = [];
  const login = K.findOp(S.spec, "post", /(officer\/login|\/login$|\/sessions?$)/i);
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
  if (backfill) buttons.push(actionButton("backfill_list", () => openBackfill(backfill, K.findOp(S.spec, "post", /\/backfill\/\{/))));
  $("officer-bar").replaceChildren(...buttons);
  $("officer-bar").hidden = !buttons.length;
  enableActions();
}

function enableActions() {
  const held = HOLDING.includes((lane() || {}).state);
  document.querySelectorAll("[data-hold]").forEach((b) => { b.disabled = !held; });
}

document.addEventListener("DOMContentLoaded", () => {
  K.langToggle($("lang"));
  $("dialog-close").addEventListener("click", () => $("dialog").close());
  K.onLang(() => { renderStatus(); if (S.shown) showPass(S.shown); renderRecent(); setLive(S.live); setupOfficer(); });
  setLive("poll");
  poll().then(loadRecent);
  connect();
  setupOfficer();
  setInterval(tickAges, 1000);
});
