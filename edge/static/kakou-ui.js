/* kakou UI helpers shared by the lane screen, the console and the field page.
 * Plain browser JavaScript, no build step, no CDN: the gate may have no internet.
 * Served by the edge at /static/kakou-ui.js and by central at /ui/kakou-ui.js. */
"use strict";

const K = (() => {
  // ---- i18n: Chinese terms from the project glossary beside the English names -------------
  // The words live in terms.toml ([common] here, beside this file, with each screen's own table
  // over it) and come as a generated script after this one: /static/lane-terms.js on the edge,
  // /ui/console-terms.js and /ui/field-terms.js on central (kakou.webpages.terms_script).
  const dict = {
    en: {}, zh: {},
  };
  // Chinese, whatever the browser's language: English only by choice (?lang=en, or the toggle,
  // which is remembered on this device).
  const urlLang = new URLSearchParams(location.search).get("lang");
  const stored = localStorage.getItem("kakou.lang");
  let lang = (urlLang === "en" || urlLang === "zh") ? urlLang : (stored === "en" ? "en" : "zh");

  function addTerms(terms) {
    // terms: {key: [english, chinese]}
    for (const [k, [en, zh]] of Object.entries(terms)) { dict.en[k] = en; dict.zh[k] = zh; }
  }
  function t(key, vars) {
    let s = (dict[lang] && dict[lang][key]) || dict.en[key] || key;
    if (vars) for (const [k, v] of Object.entries(vars)) s = s.replaceAll("{" + k + "}", v);
    return s;
  }
  /* A decision's finding or check {code, params} in the current language, from the dictionary
   * generated from kakou.sync.checks.TEXTS (check-texts.js, terms "check.<code>"). The texts use
   * {x}, {x:.0f}, {x:.2f}, {x:+.0f} and {x:.0%}, the formats the server renders with too. */
  function finding(f) {
    if (typeof f === "string") return f;  // a sentence from a lane older than check codes
    if (!f || typeof f !== "object") return "";
    const key = "check." + f.code, params = f.params || {};
    const tpl = (dict[lang] && dict[lang][key]) || dict.en[key];
    if (!tpl) return String(f.code || f.detail || "");
    return tpl.replace(/\{(\w+)(?::([^}]*))?\}/g, (_, k, spec) => fmtParam(params[k], spec));
  }
  function fmtParam(v, spec) {
    if (v === undefined || v === null) return "-";
    const m = /^(\+)?\.(\d+)([f%])$/.exec(spec || "");
    if (!m || typeof v !== "number") return String(v);
    const x = m[3] === "%" ? v * 100 : v;
    const s = (m[1] && x >= 0 ? "+" : "") + x.toFixed(Number(m[2]));
    return m[3] === "%" ? s + "%" : s;
  }
  /* The name of the check a finding belongs to (车牌, 核放单, 布控, …). */
  const checkGroups = {};  // code → the check it belongs to, filled by check-texts.js
  function checkName(c) { return t("check_group." + ((c && (c.name || checkGroups[c.code])) || "other")); }
  /* Both languages at once ("Release 放行"), for the words an officer must never misread. */
  function both(key) {
    const en = dict.en[key] || key, zh = dict.zh[key] || "";
    return lang === "zh" ? (zh ? zh + " " + en : en) : (zh ? en + " " + zh : en);
  }
  const listeners = [];
  function onLang(fn) { listeners.push(fn); }
  function setLang(l) {
    lang = l; localStorage.setItem("kakou.lang", l);
    document.documentElement.lang = l === "zh" ? "zh-CN" : "en";
    applyStatic(); listeners.forEach((fn) => fn(l));
  }
  function getLang() { return lang; }
  /* Elements with data-t="key" get their text from the dictionary; data-tb shows both languages. */
  function applyStatic(root) {
    (root || document).querySelectorAll("[data-t]").forEach((el) => { el.textContent = t(el.dataset.t); });
    (root || document).querySelectorAll("[data-tb]").forEach((el) => { el.textContent = both(el.dataset.tb); });
    (root || document).querySelectorAll("[data-tp]").forEach((el) => { el.placeholder = t(el.dataset.tp); });
  }
  function langToggle(btn) {
    const paint = () => { btn.textContent = lang === "zh" ? "English" : "中文"; };
    btn.addEventListener("click", () => { setLang(lang === "zh" ? "en" : "zh"); paint(); });
    paint();
  }

  // ---- formatting ----------------------------------------------------------------------
  function esc(v) {
    return String(v ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  }
  function fmtTime(iso) {
    if (!iso) return "—";
    const d = typeof iso === "number" ? new Date(iso * 1000) : new Date(iso);
    if (isNaN(d)) return String(iso);
    return d.toLocaleTimeString(lang === "zh" ? "zh-CN" : "en-GB", { hour12: false });
  }
  function fmtDateTime(iso) {
    if (!iso) return "—";
    const d = new Date(iso);
    if (isNaN(d)) return String(iso);
    return d.toLocaleString(lang === "zh" ? "zh-CN" : "en-GB", { hour12: false });
  }
  function fmtAge(seconds) {
    if (seconds == null || isNaN(seconds)) return "—";
    const s = Math.max(0, Math.round(seconds));
    if (s < 60) return lang === "zh" ? `${s} 秒前` : `${s} s ago`;
    const m = Math.round(s / 60);
    if (m < 120) return lang === "zh" ? `${m} 分钟前` : `${m} min ago`;
    const h = Math.round(m / 60);
    return lang === "zh" ? `${h} 小时前` : `${h} h ago`;
  }
  function el(tag, attrs, ...children) {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (k === "class") e.className = v;
      else if (k.startsWith("on")) e.addEventListener(k.slice(2), v);
      else if (k === "text") e.textContent = v;
      else if (v !== undefined && v !== null && v !== false) e.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children.flat()) if (c != null) e.append(c.nodeType ? c : document.createTextNode(String(c)));
    return e;
  }

  // ---- HTTP ------------------------------------------------------------------------------
  let token = sessionStorage.getItem("kakou.token") || null;
  function setToken(tk) { token = tk; if (tk) sessionStorage.setItem("kakou.token", tk); else sessionStorage.removeItem("kakou.token"); }
  class HttpError extends Error {
    constructor(status, body) {
      super((body && (body.detail || body.title)) ? (typeof body.detail === "string" ? body.detail : (body.title || JSON.stringify(body.detail))) : `HTTP ${status}`);
      this.status = status; this.body = body;
    }
  }
  /* An error as a person reads it: what happened and what to do, the server's detail after it. */
  function explain(e) {
    if (!(e instanceof HttpError)) return t("err_network");
    const key = e.status >= 500 ? "err_5xx" : ("err_" + e.status);
    const head = key in dict.en ? t(key) : `${t("error")} ${e.status}`;
    const detail = e.body && typeof e.body === "object" && Array.isArray(e.body.errors) && e.body.errors.length
      ? e.body.errors.map((x) => `${(x.loc || []).slice(-1)[0] || ""} ${x.msg || ""}`.trim()).join("; ")
      : (e.body && typeof e.body === "object" && Array.isArray(e.body.detail)
        ? e.body.detail.map((x) => `${(x.loc || []).slice(-1)[0] || ""} ${x.msg || ""}`.trim()).join("; ") : e.message);
    return detail && detail !== `HTTP ${e.status}` ? `${head} (${detail})` : head;
  }
  function authHeaders() { return token ? { Authorization: "Bearer " + token } : {}; }
  async function api(path, opts = {}) {
    const headers = { Accept: "application/json", ...(opts.headers || {}) };
    if (token) headers.Authorization = "Bearer " + token;
    let body = opts.body;
    if (body !== undefined && typeof body !== "string" && !(body instanceof FormData)) {
      headers["Content-Type"] = "application/json"; body = JSON.stringify(body);
    }
    const resp = await fetch(path, { method: opts.method || (body !== undefined ? "POST" : "GET"), headers, body });
    const text = await resp.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = text; }
    if (!resp.ok) throw new HttpError(resp.status, data);
    return data;
  }
  /* An <img> for an image the API serves only with the bearer token (an <img src> cannot send it). */
  function authImage(url, attrs = {}) {
    const img = el("img", { alt: "", loading: "lazy", ...attrs, "data-src": url });
    fetch(url, { headers: authHeaders() }).then((r) => (r.ok ? r.blob() : Promise.reject(new Error(`HTTP ${r.status}`))))
      // "loaded" once the browser has decoded it (setting src only starts that; a lazy image
      // outside the viewport would not decode at all, so it is loaded eagerly here).
      .then((b) => { img.loading = "eager"; img.onload = () => { img.dataset.loaded = "1"; }; img.src = URL.createObjectURL(b); })
      .catch((e) => { img.alt = `${t("error")}: ${e.message}`; img.classList.add("missing"); });
    img.addEventListener("click", () => { if (img.src) window.open(img.src, "_blank"); });
    return img;
  }
  /* A list endpoint may answer a bare list or a page {total, items}. */
  function items(data) { return Array.isArray(data) ? data : (data && Array.isArray(data.items) ? data.items : []); }

  // ---- OpenAPI discovery: panels appear when their endpoint exists --------------------------
  async function discover(url) {
    try { return await api(url); } catch { return { paths: {}, components: {} }; }
  }
  function findOp(spec, method, re) {
    for (const [path, ops] of Object.entries(spec.paths || {})) {
      if (ops[method] && re.test(path)) return { path, op: ops[method], method };
    }
    return null;
  }
  function resolve(spec, schema) {
    let s = schema || {};
    for (let i = 0; s && s.$ref && i < 10; i++) {
      const name = s.$ref.split("/").pop();
      s = (spec.components && spec.components.schemas && spec.components.schemas[name]) || {};
    }
    if (s.allOf && s.allOf.length === 1) return resolve(spec, s.allOf[0]);
    if (s.anyOf) { const real = s.anyOf.filter((x) => x.type !== "null"); if (real.length === 1) return { ...resolve(spec, real[0]), nullable: true, title: s.title, description: s.description, default: s.default }; }
    return s;
  }
  function bodySchema(spec, op) {
    const content = op.requestBody && op.requestBody.content;
    if (!content) return null;
    const media = content["application/json"] || Object.values(content)[0];
    return media ? resolve(spec, media.schema) : null;
  }
  function fillPath(path, values) {
    return path.replace(/\{([^}]+)\}/g, (_, name) => encodeURIComponent(values[name] ?? ""));
  }

  // ---- ISO 6346 container number check digit ----------------------------------------------
  function iso6346Digit(code) {
    const s = String(code || "").toUpperCase().replace(/\s/g, "");
    if (!/^[A-Z]{4}[0-9]{6}/.test(s)) return null;
    const val = {};
    let n = 10;
    for (const c of "ABCDEFGHIJKLMNOPQRSTUVWXYZ") { if (n % 11 === 0) n++; val[c] = n++; }
    let sum = 0;
    for (let i = 0; i < 10; i++) { const c = s[i]; sum += (/[0-9]/.test(c) ? +c : val[c]) * 2 ** i; }
    return (sum % 11) % 10;
  }
  /* null when valid; otherwise the message to show. */
  function checkContainer(code) {
    const s = String(code || "").toUpperCase().replace(/\s/g, "");
    if (!/^[A-Z]{4}[0-9]{7}$/.test(s)) return lang === "zh" ? "格式应为 4 个字母 + 7 位数字（如 CSQU3054383）" : "Format is 4 letters + 7 digits (e.g. CSQU3054383)";
    // U, J, Z or a lessor's own letter (RWWL), as the node accepts (iso6346.OTHER_CATEGORIES); never
    // one whose value the check digit cannot tell from U's, J's or Z's.
    if (/^[A-Z]{3}[AKTFP]/.test(s)) return lang === "zh" ? "类别字母不能为 A、K、T、F、P（校验位无法与 U、J、Z 区分）" : "Category letter cannot be A, K, T, F or P (the check digit cannot tell it from U, J or Z)";
    const d = iso6346Digit(s);
    return d === +s[10] ? null : t("check_digit_bad", { d });
  }

  // ---- sound for alarms (generated, no audio files) ---------------------------------------
  let audio = null;
  function beep(freq = 880, ms = 350) {
    try {
      audio = audio || new (window.AudioContext || window.webkitAudioContext)();
      const o = audio.createOscillator(), g = audio.createGain();
      o.frequency.value = freq; o.connect(g); g.connect(audio.destination);
      g.gain.setValueAtTime(0.2, audio.currentTime);
      o.start(); o.stop(audio.currentTime + ms / 1000);
    } catch { /* no audio device: the alarm is still shown */ }
  }

  // ---- on-screen keyboard (plates and container numbers, for a touch screen) -----------------
  const PROVINCES = "京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼使领学警港澳挂";
  /* `target` is the input to type into, or a function returning it (one keyboard for a form). */
  function keyboard(target, { provinces = true } = {}) {
    const current = () => (typeof target === "function" ? target() : target);
    const rows = [];
    if (provinces) rows.push([...PROVINCES]);
    rows.push([..."1234567890"], [..."QWERTYUIOP"], [..."ASDFGHJKL"], [..."ZXCVBNM", "⌫"]);
    const kb = el("div", { class: "osk", "data-testid": "keyboard" });
    for (const row of rows) {
      const r = el("div", { class: "osk-row" });
      for (const key of row) {
        r.append(el("button", {
          type: "button", class: "osk-key", text: key,
          onclick: () => {
            const input = current();
            if (!input) return;
            input.value = key === "⌫" ? input.value.slice(0, -1) : input.value + key;
            input.dispatchEvent(new Event("input", { bubbles: true }));
          },
        }));
      }
      kb.append(r);
    }
    return kb;
  }
  function pinPad(input) {
    const pad = el("div", { class: "pinpad", "data-testid": "pinpad" });
    for (const key of [..."123456789", "⌫", "0", "C"]) {
      pad.append(el("button", {
        type: "button", class: "osk-key", text: key,
        onclick: () => {
          input.value = key === "⌫" ? input.value.slice(0, -1) : key === "C" ? "" : input.value + key;
          input.dispatchEvent(new Event("input", { bubbles: true }));
        },
      }));
    }
    return pad;
  }

  // ---- a form built from an endpoint's request schema ---------------------------------------
  /* Builds inputs for each property of the JSON body; known names get touch-friendly widgets
   * (PIN pad, plate/container keyboard with check digit, mandatory reason). `fixed` values are
   * filled in and hidden (e.g. the lane or pass being acted on). */
  function schemaForm(spec, target, { fixed = {}, only = null, mustFill = [], onDone, onError, submitLabel, touch = false, values = {} } = {}) {
    const schema = bodySchema(spec, target.op) || { properties: {} };
    const required = new Set(schema.required || []);
    const form = el("form", { class: "auto-form", novalidate: true });
    const msg = el("div", { class: "form-msg", "data-testid": "form-msg", role: "alert" });
    const inputs = {};
    let typing = null;  // the plate/container field the on-screen keyboard types into
    const props = Object.entries(schema.properties || {});
    if (only) props.sort(([a], [b]) => only.indexOf(a) - only.indexOf(b));
    for (const [name, raw] of props) {
      if (name in fixed || (only && !only.includes(name))) continue;
      const prop = resolve(spec, raw);
      const label = ("f_" + name) in dict.en ? both("f_" + name) : (name in dict.en ? both(name) : (raw.title || prop.title || name));
      const key = name.toLowerCase();
      let input;
      if (prop.enum) {
        input = el("select", { name }, prop.enum.map((v) => el("option", { value: v, text: t(v) !== v ? both(v) : v })));
      } else if (prop.type === "boolean") {
        input = el("input", { type: "checkbox", name });
      } else if (prop.type === "string" && prop.format === "date-time") {
        input = el("input", { type: "datetime-local", name, "data-datetime": "1" });
      } else if (prop.type === "integer" || prop.type === "number") {
        input = el("input", { type: "number", name, step: prop.type === "integer" ? "1" : "any" });
      } else if (prop.type === "array") {
        input = el("input", { type: "text", name, placeholder: "A, B, …", "data-array": "1" });
      } else if (/reason|note|remark|comment|result|detail|dispos|text/.test(key)) {
        input = el("textarea", { name, rows: 2 });
      } else {
        input = el("input", { type: /pin|password/.test(key) ? "password" : "text", name, autocomplete: "off",
          inputmode: /pin/.test(key) ? "numeric" : undefined });
      }
      if (prop.default !== undefined && prop.default !== null && input.type !== "checkbox") input.value = prop.default;
      if (values[name] != null) input.value = values[name];
      const must = required.has(name) || mustFill.includes(name);
      input.dataset.testid = "field-" + name;
      input.setAttribute("data-testid", "field-" + name);
      if (must) input.setAttribute("aria-required", "true");
      const hint = el("div", { class: "hint", id: "hint-" + name + "-" + Math.random().toString(36).slice(2, 7) });
      input.setAttribute("aria-describedby", hint.id);
      // A "required" complaint goes as soon as the field is filled in.
      input.addEventListener(input.tagName === "SELECT" || input.type === "checkbox" ? "change" : "input", () => {
        if (hint.dataset.required && String(input.value).trim()) {
          hint.textContent = ""; hint.className = "hint"; delete hint.dataset.required; input.removeAttribute("aria-invalid");
          if (msg.dataset.required) { msg.textContent = ""; msg.className = "form-msg"; delete msg.dataset.required; }
        }
      });
      const wrap = el("label", { class: "field" }, el("span", { class: "field-label" }, label, must ? el("b", { text: " *" }) : null), input, hint);
      if (touch && /pin/.test(key)) wrap.append(pinPad(input));
      if (touch && /plate|container/.test(key)) {
        typing = typing || input;
        input.addEventListener("focus", () => { typing = input; });
      }
      if (/container/.test(key)) {
        input.addEventListener("input", () => {
          const vals = input.value.split(/[,\s]+/).filter(Boolean);
          const bad = vals.map(checkContainer).filter(Boolean);
          hint.textContent = vals.length ? (bad.length ? bad[0] : t("check_digit_ok")) : "";
          hint.className = "hint " + (bad.length ? "bad" : "good");
        });
      }
      inputs[name] = { input, prop, must, hint, label };
      form.append(wrap);
    }
    if (typing) form.append(keyboard(() => typing));
    // A free-form body (a dict on the server): the officer writes it as JSON.
    const freeForm = !Object.keys(schema.properties || {}).length && (schema.type === "object" || schema.additionalProperties);
    const json = freeForm ? el("textarea", { name: "_json", rows: 6, "data-testid": "field-json", placeholder: '{"key": "value"}' }) : null;
    if (json) form.append(el("label", { class: "field" }, el("span", { class: "field-label", text: "JSON" }), json));
    form.append(el("div", { class: "form-actions" },
      el("button", { type: "submit", class: "primary", text: submitLabel || t("submit") }), msg));
    form.addEventListener("submit", async (ev) => {
      ev.preventDefault();
      // Fixed values go where the endpoint takes them: its path or its body, nowhere else.
      const body = Object.fromEntries(Object.entries(fixed).filter(([k]) => k in (schema.properties || {})));
      for (const [name, { input, prop, must, hint, label }] of Object.entries(inputs)) {
        let v = input.type === "checkbox" ? input.checked : input.value.trim();
        if (v === "" && must) {
          const text = t("required_field", { f: String(label).split(" ")[0] });
          msg.textContent = text; msg.className = "form-msg bad"; msg.dataset.required = "1";
          hint.textContent = t("required"); hint.className = "hint bad"; hint.dataset.required = "1";
          input.setAttribute("aria-invalid", "true"); input.focus(); return;
        }
        if (v === "") continue;
        if (prop.type === "integer" || prop.type === "number") v = Number(v);
        if (input.dataset.array) v = v.split(/[,\s]+/).filter(Boolean);
        if (input.dataset.datetime) v = new Date(v).toISOString();  // the officer's local time, sent as UTC
        if (/container/.test(name.toLowerCase())) {
          const bad = (Array.isArray(v) ? v : [v]).map(checkContainer).filter(Boolean);
          if (bad.length) { msg.textContent = bad[0]; msg.className = "form-msg bad"; return; }
        }
        body[name] = v;
      }
      if (json) {
        try { Object.assign(body, JSON.parse(json.value || "{}")); } catch (e) {
          msg.textContent = `JSON: ${e.message}`; msg.className = "form-msg bad"; return;
        }
      }
      const params = Object.fromEntries((target.op.parameters || []).filter((p) => p.in === "path").map((p) => [p.name, fixed[p.name]]));
      for (const p of Object.keys(params)) delete body[p];
      try {
        const res = await api(fillPath(target.path, params), { method: target.method.toUpperCase(), body });
        msg.textContent = t("saved"); msg.className = "form-msg good";
        if (onDone) onDone(res, body);
      } catch (e) {
        msg.textContent = `${t("error")}: ${explain(e)}`; msg.className = "form-msg bad";
        if (onError) onError(e);
      }
    });
    return form;
  }

  /* A table of whatever a list endpoint returns: the columns come from the rows. Officers read
   * it: translated headers, outcomes and statuses as coloured labels, rates as percentages. */
  const OUTCOMES = ["release", "officer", "inspection"];
  function pct(v) { return `${(Math.round(v * 1000) / 10).toLocaleString()}%`; }
  function table(rows, { columns, testid, onRow } = {}) {
    if (!rows.length) return el("p", { class: "empty", text: t("none") });
    const cols = columns || Object.keys(rows[0]).filter((k) => typeof rows[0][k] !== "object" || rows[0][k] === null).slice(0, 9);
    const cell = (v, c) => {
      if (v === null || v === undefined) return "—";
      if (v instanceof Node) return v;  // a cell the screen composed itself
      if (typeof v === "boolean") return t(v ? "yes" : "no");
      if (typeof v === "number" && /rate|ratio|confidence|share|availability/.test(c) && v >= 0 && v <= 1) return pct(v);
      if (typeof v === "string" && OUTCOMES.includes(v)) return el("span", { class: "pill " + v, text: both(v) });
      if (typeof v === "string" && /(^|_)status$|^state$/.test(c)) return el("span", { class: "pill st-" + v, text: t(v) });
      if (typeof v === "string" && /^(kind|severity|action|target_kind|direction|role|route_role|result)$/.test(c)) return t(v);
      if (Array.isArray(v)) return v.join(", ");
      if (typeof v === "object") return JSON.stringify(v);
      return /\d{4}-\d\d-\d\dT/.test(String(v)) ? fmtDateTime(v) : String(v);
    };
    return el("table", { class: "grid", "data-testid": testid },
      el("thead", {}, el("tr", {}, cols.map((c) => el("th", { text: t(c) })))),
      el("tbody", {}, rows.map((r) => {
        const tr = el("tr", {}, cols.map((c) => el("td", {}, cell(r[c], c))));
        if (onRow) { tr.classList.add("clickable"); tr.addEventListener("click", () => onRow(r)); }
        return tr;
      })));
  }

  document.addEventListener("DOMContentLoaded", () => setLang(lang));

  return {
    addTerms, t, both, pct, setLang, getLang, onLang, applyStatic, langToggle, esc, fmtTime, fmtDateTime, fmtAge, el,
    api, items, authImage, HttpError, explain, setToken, authHeaders, discover, findOp, resolve, bodySchema, fillPath, schemaForm, table,
    iso6346Digit, checkContainer, beep, keyboard, pinPad,
    finding, checkName, checkGroups,
  };
})();
