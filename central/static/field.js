/* Field staff on a phone: alerts as they arrive, acknowledge, dispose with notes and a photo.
 * Live over SSE when central offers an alert stream, otherwise polled every 2 s. The actions
 * shown are the operations central's OpenAPI document lists under /alerts/{id}/… */
"use strict";

K.addTerms({
  login: ["Log in", "登录"], no_alerts: ["No alerts", "暂无预警"], alerts_missing: ["The alert service is not available on this server yet", "此服务器暂未提供预警服务"],
  ack: ["Acknowledge", "签收"], acknowledge: ["Acknowledge", "签收"], dispose: ["Dispose", "处置"], close: ["Close", "关闭"],
  new: ["New", "新"], open: ["Open", "待处理"], acknowledged: ["Acknowledged", "已签收"], disposed: ["Disposed", "已处置"],
  closed: ["Closed", "已关闭"], place: ["Place", "地点"], login_needed: ["Log in to see alerts", "请登录后查看预警"],
  control_hit: ["Control order hit", "布控命中"], high: ["High", "高"], medium: ["Medium", "中"], low: ["Low", "低"],
  f_disposal: ["Disposal", "处置结果"], f_text: ["Note", "备注"], notes: ["Note", "备注"],
  weight_anomaly: ["Weight anomaly", "重量异常"], device_fault: ["Device fault", "设备故障"], lane_offline: ["Lane offline", "通道离线"], f_photo: ["Photo", "现场照片"], f_note: ["Notes", "处置说明"], f_notes: ["Notes", "处置说明"],
});

const F = { spec: { paths: {} }, list: null, seen: new Set(), first: true, alerts: [] };
const $ = (id) => document.getElementById(id);

function openDialog(title, ...content) {
  $("dialog-body").replaceChildren(K.el("h3", { text: title }), ...content);
  if (!$("dialog").open) $("dialog").showModal();
}

function openLogin() {
  const op = K.findOp(F.spec, "post", /\/auth\/login$|\/login$|\/token$/);
  if (!op || $("dialog").open) return;
  openDialog(K.t("login"), K.schemaForm(F.spec, op, {
    onDone: (res) => {
      K.setToken(res && (res.token || res.access_token)); $("login").hidden = true; $("dialog").close(); refresh();
    },
  }));
}

function idOf(a) { return a.alert_id ?? a.id ?? a.alert_no ?? a.key; }

/* Operations under /alerts/{id}/…, e.g. acknowledge and dispose. */
function alertActions(a) {
  const out = [];
  for (const [path, ops] of Object.entries(F.spec.paths)) {
    const m = path.match(/^(.*\/alerts)\/\{([^}]+)\}\/([^/]+)$/);
    if (!m) continue;
    for (const method of ["post", "put", "patch"]) {
      if (!ops[method]) continue;
      const label = m[3];
      out.push(K.el("button", {
        class: /dispos|close|resolve/.test(label) ? "primary" : "", "data-testid": "alert-" + label, text: K.both(label),
        onclick: () => actOn(a, { path, op: ops[method], method }, m[2], label),
      }));
    }
  }
  return out;
}

async function actOn(a, target, idName, label) {
  const schema = K.bodySchema(F.spec, target.op);
  const fields = schema && Object.keys(schema.properties || {}).filter((k) => !/^(photo|image)/i.test(k));
  // Nothing to fill in (acknowledge): act at once, one tap on a phone.
  if (!fields || !fields.length) {
    const photoField = schema && Object.keys(schema.properties || {}).find((k) => /^(photo|image)/i.test(k));
    if (!photoField) {
      try { await K.api(K.fillPath(target.path, { [idName]: idOf(a) }), { method: target.method.toUpperCase(), body: schema ? {} : undefined }); refresh(); } catch (e) { alert(e.message); }
      return;
    }
  }
  const form = K.schemaForm(F.spec, target, { fixed: { [idName]: idOf(a) }, onDone: () => { $("dialog").close(); refresh(); } });
  photoInput(form, schema);
  openDialog(`${K.both(label)} — ${a.title || a.kind || idOf(a)}`, form);
}

/* A photo field in the schema becomes the phone's camera; the picture is sent as base64. */
function photoInput(form, schema) {
  const name = schema && Object.keys(schema.properties || {}).find((k) => /^(photo|image)/i.test(k));
  if (!name) return;
  const text = form.querySelector(`[name="${name}"]`);
  if (!text) return;
  const file = K.el("input", { type: "file", accept: "image/*", capture: "environment", "data-testid": "photo" });
  file.addEventListener("change", () => {
    const f = file.files[0];
    if (!f) return;
    const rd = new FileReader();
    rd.onload = () => { text.value = String(rd.result).split(",", 2)[1] || ""; };
    rd.readAsDataURL(f);
  });
  text.type = "hidden";
  text.after(file);
}

function card(a) {
  const status = String(a.status || "open").toLowerCase();
  const images = (a.images || []).filter((u) => typeof u === "string" && (u.startsWith("/") || u.startsWith("http")));
  const place = [a.site, a.node, a.lane].filter(Boolean).join(" / ");
  const subject = a.plate || a.subject;
  return K.el("article", { class: `alert-card ${status} sev-${a.severity || ""}`, "data-testid": "alert", "data-status": status, "data-id": idOf(a) },
    K.el("h4", { text: a.title || (a.kind ? K.t(a.kind) : "") || `${K.t("alert")} ${idOf(a)}` }),
    K.el("div", {}, subject ? K.el("b", { "data-testid": "alert-subject", text: subject }) : null, " ",
      K.el("span", { class: "tag", text: K.t(status) }), a.severity ? K.el("span", { class: "tag", text: K.t(a.severity) }) : null),
    a.message || a.detail || a.reason ? K.el("p", { text: a.message || a.detail || a.reason }) : null,
    a.source ? K.el("div", { class: "muted", text: a.source }) : null,
    place ? K.el("div", { class: "muted", text: `${K.t("place")}: ${place}` }) : null,
    K.el("div", { class: "muted", text: K.fmtDateTime(a.created_at || a.raised_at || a.at) }),
    images.length ? K.el("div", {}, images.map((u) => K.el("img", { src: u, style: "max-width:100%;border-radius:6px;margin-top:.4em" }))) : null,
    a.disposal ? K.el("p", { class: "good", text: a.disposal }) : null,
    ...(Array.isArray(a.notes) ? a.notes : []).map((n) => K.el("p", { class: "muted", text: typeof n === "string" ? n : (n.text || n.note || JSON.stringify(n)) })),
    K.el("div", { class: "alert-actions" }, /dispos|closed|resolved/.test(status) ? [] : alertActions(a)));
}

function render() {
  const open = F.alerts.filter((a) => !/(disposed|closed|resolved)/i.test(a.status || ""));
  $("count").hidden = !open.length;
  $("count").textContent = String(open.length);
  $("alerts").replaceChildren(...(F.alerts.length ? F.alerts.map(card) : [K.el("div", { class: "banner", text: K.t("no_alerts") })]));
}

async function refresh() {
  if (!F.list) return;
  try {
    F.alerts = K.items(await K.api(F.list.path));
    const fresh = F.alerts.filter((a) => !F.seen.has(idOf(a)));
    fresh.forEach((a) => F.seen.add(idOf(a)));
    if (fresh.length && !F.first) { K.beep(1040, 500); if (navigator.vibrate) navigator.vibrate([200, 100, 200]); }
    F.first = false;
    render();
    document.body.dataset.loaded = "alerts";
  } catch (e) {
    if (e.status === 401) {
      $("login").hidden = false;
      $("alerts").replaceChildren(K.el("div", { class: "banner", text: K.t("login_needed") }));
      openLogin();
    }
  }
}

document.addEventListener("DOMContentLoaded", async () => {
  K.langToggle($("lang"));
  $("dialog-close").addEventListener("click", () => $("dialog").close());
  $("login").addEventListener("click", openLogin);
  F.spec = await K.discover("/api/v1/openapi.json");
  F.list = K.findOp(F.spec, "get", /^\/api\/v1\/alerts$/);
  K.onLang(render);
  if (!F.list) {
    $("alerts").replaceChildren(K.el("div", { class: "banner", "data-testid": "alerts-missing", text: K.t("alerts_missing") }));
    document.body.dataset.loaded = "none";
    return;
  }
  await refresh();
  const stream = K.findOp(F.spec, "get", /\/alerts\/(stream|events)$/);
  if (stream && window.EventSource) {
    // The stream says "something changed"; the list is re-read so it is always whole.
    const es = new EventSource(stream.path);
    es.onmessage = refresh;
    es.addEventListener("alert", refresh);
  }
  setInterval(refresh, 2000);
});
