/* Field staff on a phone: the alerts routed to them, pushed live; detail with the pass's frames
 * and the place; acknowledge with one tap; dispose with notes and a photo from the camera.
 * Live: a single-use ticket (POST /alerts/stream-ticket) opens the SSE stream /alerts/stream;
 * if it drops, the list is polled every 2 s and the stream is tried again. */
"use strict";

const F = { alerts: [], seen: new Set(), first: true, me: null, live: "poll", es: null, poll: null, retry: null };
const $ = (id) => document.getElementById(id);
const OPEN = (a) => !/(disposed|closed|resolved)/i.test(a.status || "");

function openDialog(title, ...content) {
  $("dialog-body").replaceChildren(K.el("h3", { text: title }), ...content.filter((c) => c != null));
  if (!$("dialog").open) $("dialog").showModal();
}

function openLogin() {
  const spec = F.spec;
  const op = K.findOp(spec, "post", /\/auth\/login$/);
  if (!op || $("dialog").open) return;
  openDialog(K.t("login"), K.schemaForm(spec, op, {
    onDone: (res, body) => {
      K.setToken(res && res.access_token);
      F.me = { username: body.username, role: res && res.role };
      $("login").hidden = true; $("dialog").close(); start();
    },
  }));
}

// ---- the list ---------------------------------------------------------------------------------
function listPath() {
  // Field staff see what is routed to them; an admin sees every alert.
  return `/api/v1/alerts?limit=100${F.me && F.me.role !== "admin" ? "&mine=true" : ""}`;
}

async function refresh() {
  try {
    F.alerts = K.items(await K.api(listPath()));
    const fresh = F.alerts.filter((a) => !F.seen.has(a.id));
    fresh.forEach((a) => F.seen.add(a.id));
    if (fresh.some(OPEN) && !F.first) ring();
    F.first = false;
    render();
    document.body.dataset.loaded = "alerts";
    if (F.live === "down") setLive("poll");
  } catch (e) {
    if (e.status === 401) needLogin();
    else setLive("down");
  }
}

function needLogin() {
  stopLive();
  $("login").hidden = false;
  $("alerts").replaceChildren(K.el("div", { class: "banner", text: K.t("login_needed") }));
  openLogin();
}

/* A new alert: sound and vibration where the browser allows them (a phone may need a first tap). */
function ring() {
  K.beep(1040, 500);
  if (navigator.vibrate) { try { navigator.vibrate([200, 100, 200]); } catch { /* not allowed yet */ } }
}

function merge(alert, change) {
  const i = F.alerts.findIndex((a) => a.id === alert.id);
  if (i >= 0) F.alerts[i] = alert; else F.alerts.unshift(alert);
  F.alerts.sort((a, b) => b.id - a.id);
  if (!F.seen.has(alert.id)) { F.seen.add(alert.id); if (change === "new" && OPEN(alert)) ring(); }
  render();
}

function render() {
  const open = F.alerts.filter(OPEN);
  $("count").hidden = !open.length;
  $("count").textContent = String(open.length);
  // The same cause raised again and again (one truck, nine weight alerts) is one card with its count.
  const groups = new Map();
  for (const a of F.alerts) {
    const key = `${a.kind}|${a.subject}|${String(a.status || "open").toLowerCase()}`;
    if (!groups.has(key)) groups.set(key, []);
    groups.get(key).push(a);
  }
  $("alerts").replaceChildren(...(groups.size ? [...groups.values()].map((g) => card(g[0], g))
    : [K.el("div", { class: "banner", text: K.t("no_alerts") })]));
}

/* The alert's text in the page's language: central renders both from the alert's code and
 * parameters (an alert from before codes has its stored text in both). */
function alertText(a) {
  return (a.texts && a.texts[K.getLang()]) || a.message;
}

function card(a, group = [a]) {
  const status = String(a.status || "open").toLowerCase();
  const disposal = (a.notes || []).filter((n) => n.kind === "dispose").pop();
  return K.el("article", { class: `alert-card ${status} sev-${a.severity || ""}`, "data-testid": "alert", "data-status": status, "data-id": a.id },
    K.el("h4", {}, K.t(a.kind), group.length > 1
      ? K.el("span", { class: "repeats", "data-testid": "alert-repeats", text: K.t("repeats", { n: group.length }) }) : null),
    K.el("div", {}, K.el("b", { "data-testid": "alert-subject", text: a.subject }), " ",
      K.el("span", { class: "tag", text: K.t(status) }), " ", K.el("span", { class: "tag", text: K.t(a.severity) })),
    K.el("p", { "data-testid": "alert-message", text: alertText(a) }),
    K.el("div", { class: "muted", text: K.fmtDateTime(a.created_at) }),
    a.disposal ? K.el("p", { class: "good", text: `${a.disposal} — ${a.disposed_by || ""}` }) : null,
    disposal && disposal.photos ? K.el("div", { class: "muted", text: `📷 ${disposal.photos.length}` }) : null,
    K.el("div", { class: "alert-actions" },
      K.el("button", { "data-testid": "alert-detail", text: K.t("detail"), onclick: () => detail(a) }),
      status === "open" ? K.el("button", { "data-testid": "alert-acknowledge", text: K.both("acknowledge"), onclick: (ev) => acknowledge(group, ev.target) }) : null,
      OPEN(a) ? K.el("button", { class: "primary", "data-testid": "alert-dispose", text: K.both("dispose"), onclick: () => dispose(a, group) }) : null),
    K.el("div", { class: "form-msg bad", "data-testid": "alert-error", role: "alert" }));
}

// ---- actions ----------------------------------------------------------------------------------
/* One tap acknowledges the card: every repeat of it. A refusal is said on the card, in plain words. */
async function acknowledge(group, btn) {
  try {
    const done = await Promise.all(group.map((a) => K.api(`/api/v1/alerts/${a.id}/acknowledge`, { body: {} })));
    done.forEach((d) => merge(d, "changed"));  // at once: the card never splits half-way
  } catch (e) {
    const box = btn && btn.closest("article") && btn.closest("article").querySelector("[data-testid=alert-error]");
    if (e.status === 401) needLogin(); else if (box) box.textContent = K.explain(e);
  }
}

/* The phone's picture, re-encoded as a JPEG of at most 1600 px: small to send, one format to store. */
async function toJpeg(file) {
  const bmp = await createImageBitmap(file);
  const scale = Math.min(1, 1600 / Math.max(bmp.width, bmp.height));
  const canvas = K.el("canvas", { width: Math.round(bmp.width * scale), height: Math.round(bmp.height * scale) });
  canvas.getContext("2d").drawImage(bmp, 0, 0, canvas.width, canvas.height);
  return new Promise((ok, fail) => canvas.toBlob((b) => (b ? ok(b) : fail(new Error("could not encode the photo"))), "image/jpeg", 0.85));
}

function dispose(a, group = [a]) {
  const note = K.el("textarea", { rows: 3, "data-testid": "field-disposal", required: true });
  const file = K.el("input", { type: "file", accept: "image/*", capture: "environment", "data-testid": "photo" });
  const preview = K.el("div", { class: "thumbs", "data-testid": "photo-preview" });
  const msg = K.el("div", { class: "form-msg", "data-testid": "form-msg" });
  const submit = K.el("button", { type: "submit", class: "primary", text: K.both("dispose") });
  // A control-order hit (布控): the disposal may release the truck the lane holds on it.
  const release = a.kind === "control_hit" ? K.el("input", { type: "checkbox", "data-testid": "field-release_vehicle" }) : null;
  let photo = null;  // {sha256} once uploaded
  let jpeg = null;
  // The complaint goes as soon as the note is written.
  note.addEventListener("input", () => {
    if (note.value.trim() && msg.classList.contains("bad")) { msg.textContent = ""; msg.className = "form-msg"; note.removeAttribute("aria-invalid"); }
  });
  file.addEventListener("change", async () => {
    photo = null; jpeg = null; preview.replaceChildren();
    const f = file.files[0];
    if (!f) return;
    try {
      jpeg = await toJpeg(f);
      preview.append(K.el("img", { src: URL.createObjectURL(jpeg), alt: "" }));
    } catch (e) { msg.textContent = e.message; msg.className = "form-msg bad"; }
  });
  const form = K.el("form", { class: "auto-form", novalidate: true },
    K.el("label", { class: "field" }, K.el("span", { class: "field-label", text: K.t("disposal_note") }), note),
    // The phone's camera behind one big button (the file input is there for the keyboard and screen readers).
    K.el("label", { class: "camera-btn", "data-testid": "camera-button" }, K.el("span", { "aria-hidden": "true", text: "📷" }), K.t("take_photo"), file),
    preview,
    release ? K.el("label", { class: "field" }, release, K.el("span", { text: K.t("release_vehicle") })) : null,
    K.el("div", { class: "form-actions" }, submit, msg));
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!note.value.trim()) {
      msg.textContent = K.t("disposal_needed");
      msg.className = "form-msg bad"; note.setAttribute("aria-invalid", "true"); note.focus(); return;
    }
    submit.disabled = true;
    try {
      if (jpeg && !photo) {
        msg.textContent = K.t("uploading"); msg.className = "form-msg";
        const resp = await fetch(`/api/v1/alerts/${a.id}/photos`, { method: "POST", body: jpeg, headers: { ...K.authHeaders(), "Content-Type": "image/jpeg" } });
        const body = await resp.json().catch(() => ({}));
        if (!resp.ok) throw new Error(body.title || body.detail || `HTTP ${resp.status}`);
        photo = body;
      }
      const done = await K.api(`/api/v1/alerts/${a.id}/dispose`, { body: { disposal: note.value.trim(), photos: photo ? [photo.sha256] : [],
        release_vehicle: !!(release && release.checked) } });
      // The repeats of the same cause are disposed of the same way; the card changes once.
      const rest = await Promise.all(group.filter((r) => r.id !== a.id).map((r) => K.api(`/api/v1/alerts/${r.id}/dispose`,
        { body: { disposal: note.value.trim(), photos: [] } })));
      [done, ...rest].forEach((d) => merge(d, "changed"));
      $("dialog").close();
    } catch (e) {
      msg.textContent = `${K.t("error")}: ${e instanceof K.HttpError ? K.explain(e) : e.message}`; msg.className = "form-msg bad";
    } finally { submit.disabled = false; }
  });
  openDialog(`${K.both("dispose")} — ${K.t(a.kind)} ${a.subject}`, form);
}

/* The alert with its place, the pass that raised it and its frames, and the photos taken on site. */
async function detail(a) {
  openDialog(`${K.t(a.kind)} — ${a.subject}`, K.el("p", { class: "muted", text: K.t("loading") }));
  let d;
  try { d = await K.api(`/api/v1/alerts/${a.id}/detail`); } catch (e) { openDialog(K.t("error"), K.el("p", { class: "bad", text: e.message })); return; }
  const p = d.pass, place = d.place;
  const facts = [
    ["place", place ? [place.node, place.lane, place.direction ? K.t(place.direction) : null].filter(Boolean).join(" / ") : null],
    ["plate", p && p.plate], ["containers", p && p.containers.join(", ")],
    ["gross_kg", p && p.gross_kg != null ? `${p.gross_kg.toLocaleString()} kg` : null],
    ["decided_at", p && K.fmtDateTime(p.decided_at)], ["outcome", p && K.both(p.outcome)],
    ["reasons", p && (p.reasons || []).map(K.finding).join("；")],
  ].filter(([, v]) => v);
  openDialog(`${K.t(d.alert.kind)} — ${d.alert.subject}`,
    K.el("p", { text: alertText(d.alert) }),
    K.el("dl", { class: "facts", "data-testid": "alert-facts" }, facts.flatMap(([k, v]) => [K.el("dt", { text: K.t(k) }), K.el("dd", { text: v, "data-testid": "detail-" + k })])),
    p && p.images.length ? K.el("h3", { text: K.t("pass_frames") }) : null,
    p && p.images.length ? K.el("div", { class: "frames", "data-testid": "pass-images" }, p.images.map((h) => K.authImage(`/api/v1/images/${h}`))) : null,
    d.photos.length ? K.el("h3", { text: K.t("photos") }) : null,
    d.photos.length ? K.el("div", { class: "frames", "data-testid": "disposal-photos" }, d.photos.map((h) => K.authImage(`/api/v1/images/${h}`))) : null,
    (d.alert.notes || []).length ? K.el("ul", { class: "recent-list" }, d.alert.notes.map((n) => K.el("li", {},
      K.el("span", { class: "when", text: K.fmtTime(n.at) }), `${n.by}: ${n.text}`))) : null);
}

// ---- live: SSE with a ticket, polling while it is down ----------------------------------------
function setLive(mode) {
  F.live = mode;
  const e = $("live");
  e.textContent = K.t({ sse: "live_sse", poll: "live_poll", down: "live_down" }[mode]);
  e.className = "badge " + (mode === "down" ? "bad" : mode === "sse" ? "good" : "muted");
  e.dataset.mode = mode;
}

function startPolling() {
  if (!F.poll) F.poll = setInterval(refresh, 2000);
  if (F.live === "sse") setLive("poll");
}

function stopLive() {
  if (F.es) { F.es.close(); F.es = null; }
  clearInterval(F.poll); F.poll = null; clearTimeout(F.retry);
}

async function connect() {
  clearTimeout(F.retry);
  if (!window.EventSource) { startPolling(); return; }
  let ticket;
  try { ticket = await K.api("/api/v1/alerts/stream-ticket", { method: "POST" }); } catch (e) {
    if (e.status === 401) { needLogin(); return; }
    startPolling(); F.retry = setTimeout(connect, 5000); return;
  }
  F.me = { username: ticket.username, role: ticket.role };
  const es = new EventSource(`/api/v1/alerts/stream?ticket=${encodeURIComponent(ticket.ticket)}`);
  F.es = es;
  es.addEventListener("hello", () => {
    setLive("sse");
    clearInterval(F.poll); F.poll = null;
    refresh();  // whatever happened while the stream was down
  });
  es.addEventListener("alert", (m) => { const ev = JSON.parse(m.data); merge(ev.alert, ev.change); });
  es.addEventListener("expired", () => { stopLive(); needLogin(); });
  es.onerror = () => {
    // A ticket works once: never let the browser retry with it; poll and ask for a new one.
    es.close(); if (F.es === es) F.es = null;
    startPolling();
    F.retry = setTimeout(connect, 5000);
  };
}

async function start() {
  stopLive();
  F.first = true;
  if (!F.me) {  // a reload keeps the token: ask who it is, so the list is the caller's own
    try { F.me = await K.api("/api/v1/auth/me"); } catch (e) { if (e.status === 401) { needLogin(); return; } }
  }
  await refresh();
  if (document.body.dataset.loaded === "alerts") connect();
}

document.addEventListener("DOMContentLoaded", async () => {
  K.langToggle($("lang"));
  $("dialog-close").addEventListener("click", () => $("dialog").close());
  $("login").addEventListener("click", openLogin);
  F.spec = await K.discover("/api/v1/openapi.json");
  K.onLang(render);
  setLive("poll");
  if (!K.findOp(F.spec, "get", /^\/api\/v1\/alerts$/)) {
    $("alerts").replaceChildren(K.el("div", { class: "banner", "data-testid": "alerts-missing", text: K.t("alerts_missing") }));
    document.body.dataset.loaded = "none";
    return;
  }
  start();
});
