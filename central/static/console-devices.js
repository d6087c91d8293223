/* Device health on the lanes & nodes screen: every lane's devices with their state, fault count,
 * faults per day, mean time to repair and availability over the last 7 days, and per site by
 * device kind (GET /api/v1/device-health; definitions in docs/central.md, "Device health"). */
"use strict";

function fmtDuration(s) {
  if (s === null || s === undefined) return "—";
  const zh = K.getLang() === "zh";
  if (s < 3600) return `${Math.max(1, Math.round(s / 60))} ${zh ? "分钟" : "min"}`;
  if (s < 86400) return `${(Math.round(s / 360) / 10).toLocaleString()} ${zh ? "小时" : "h"}`;
  return `${(Math.round(s / 8640) / 10).toLocaleString()} ${zh ? "天" : "d"}`;
}

// The fault's code in words and, under it, what the node said about it (a camera's view:
// how many of its last passes were veiled or unread, and what to do) — the technician's brief.
function faultCell(d) {
  if (!d.code) return "—";
  const code = K.t("dcode_" + d.code).replace(/^dcode_/, "");
  return d.detail
    ? K.el("span", {}, code, K.el("div", { class: "muted fault-detail", "data-testid": "fault-detail", text: d.detail }))
    : code;
}

const kindLabel = (d) => (K.getLang() === "zh" ? d.kind_label : d.kind.replaceAll("_", " "));

async function deviceHealthSection() {
  const rep = await K.api("/api/v1/device-health");
  const lanes = rep.lanes.flatMap((l) => l.devices.map((d) => ({
    dh_lane: l.place, dh_kind: kindLabel(d), dh_device: d.device, state: "dev_" + d.state,
    dh_since: d.since, dh_code: faultCell(d), dh_faults: d.faults,
    dh_per_day: d.faults_per_day === null ? null : d.faults_per_day.toLocaleString(), dh_mttr: fmtDuration(d.mttr_s),
    dh_availability: d.availability,
  })));
  const sites = rep.sites.flatMap((p) => p.kinds.map((k) => ({
    dh_site: p.place || K.t("dh_no_site"), dh_kind: K.getLang() === "zh" ? k.kind_label : k.kind.replaceAll("_", " "),
    dh_devices: k.devices, dh_down_now: k.down_now, dh_faults: k.faults,
    dh_per_day: k.faults_per_day === null ? null : k.faults_per_day.toLocaleString(), dh_mttr: fmtDuration(k.mttr_s),
    dh_availability: k.availability,
  })));
  return K.el("section", { class: "card", style: "margin-top:1em", "data-testid": "device-health" },
    K.el("h3", { text: K.both("dh_title") }),
    lanes.length ? K.table(lanes, {
      testid: "device-health-lanes",
      columns: ["dh_lane", "dh_kind", "dh_device", "state", "dh_since", "dh_code", "dh_faults", "dh_per_day", "dh_mttr", "dh_availability"],
    }) : K.el("p", { class: "empty", text: K.t("dh_none") }),
    sites.length ? K.el("h3", { text: K.both("site_device_health") }) : null,
    sites.length ? K.table(sites, {
      testid: "device-health-sites",
      columns: ["dh_site", "dh_kind", "dh_devices", "dh_down_now", "dh_faults", "dh_per_day", "dh_mttr", "dh_availability"],
    }) : null,
    K.el("p", { class: "muted kpi-notes", "data-testid": "device-health-note",
      text: K.t("dh_note", { min: Math.round(rep.down_alert_after_s / 60) }) }));
}

// Its own screen too (the nodes screen shows the same section under the node list).
KNOWN.push({ key: "device_health", re: /^\/api\/v1\/device-health$/ });
SCREENS.device_health = async function deviceHealthView() {
  document.getElementById("view").replaceChildren(K.el("h2", { text: K.both("device_health") }), await deviceHealthSection());
};
