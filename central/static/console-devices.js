/* Device health on the lanes & nodes screen: every lane's devices with their state, fault count,
 * faults per day, mean time to repair and availability over the last 7 days, and per site by
 * device kind (GET /api/v1/device-health; definitions in docs/central.md, "Device health"). */
"use strict";

K.addTerms({
  device_health: ["Device health", "设备状况"], dh_title: ["Device health per lane (last 7 days)", "各通道设备状况（近7天）"],
  state: ["State", "状态"], dh_no_site: ["(no site registered)", "（未登记卡口）"],
  dcode_no_frame: ["no image", "无图像"], dcode_driver_fault: ["device reports a fault", "设备报故障"],
  dcode_io_unreachable: ["I/O not answering", "I/O无响应"], dcode_unreachable: ["unreachable", "无法连接"],
  dcode_no_feedback: ["no position feedback", "无到位反馈"],
  site_device_health: ["Per site and device kind", "各卡口按设备类型"],
  dh_lane: ["Lane", "通道"], dh_site: ["Site", "卡口"], dh_kind: ["Device", "设备"], dh_device: ["ID", "编号"],
  dh_since: ["Since", "自"], dh_code: ["Fault", "故障"], dh_faults: ["Faults", "故障次数"],
  dh_per_day: ["Faults / day", "日均故障"], dh_mttr: ["Mean time to repair", "平均修复时长"],
  dh_availability: ["Availability", "可用率"], dh_devices: ["Devices", "设备数"], dh_down_now: ["Down now", "当前故障"],
  dev_ok: ["OK", "正常"], dev_fault: ["Fault", "故障"], dev_offline: ["Offline", "离线"], dev_unknown: ["Unknown", "未知"],
  dh_none: ["No lane has reported its devices yet", "尚无通道上报设备状态"],
  dh_note: ["Faults: times a device went down; mean time to repair: down → working again, over the repairs in the window; availability: share of the window the device worked. An alert is raised when a device stays down over {min} min.",
            "故障次数：设备由正常转为故障/离线的次数；平均修复时长：故障至恢复的平均时长（统计时段内已修复的故障）；可用率：统计时段内设备正常的时间占比。设备持续故障超过 {min} 分钟即发出预警。"],
});

function fmtDuration(s) {
  if (s === null || s === undefined) return "—";
  const zh = K.getLang() === "zh";
  if (s < 3600) return `${Math.max(1, Math.round(s / 60))} ${zh ? "分钟" : "min"}`;
  if (s < 86400) return `${(Math.round(s / 360) / 10).toLocaleString()} ${zh ? "小时" : "h"}`;
  return `${(Math.round(s / 8640) / 10).toLocaleString()} ${zh ? "天" : "d"}`;
}

const kindLabel = (d) => (K.getLang() === "zh" ? d.kind_label : d.kind.replaceAll("_", " "));

async function deviceHealthSection() {
  const rep = await K.api("/api/v1/device-health");
  const lanes = rep.lanes.flatMap((l) => l.devices.map((d) => ({
    dh_lane: l.place, dh_kind: kindLabel(d), dh_device: d.device, state: "dev_" + d.state,
    dh_since: d.since, dh_code: d.code ? K.t("dcode_" + d.code).replace(/^dcode_/, "") : "—", dh_faults: d.faults,
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
