/* Console screen: enterprise applications (企业申请). A declarant sees its enterprise's release-order
 * applications with their status and a refusal's reason, applies for a new one (the form comes
 * from the OpenAPI document), asks for a vehicle change and attaches files (PDF, JPEG, PNG up to
 * 5 MiB). An officer sees the applications awaiting review; they are decided on the review screen.
 * Uses /api/v1/applications… */
"use strict";

SCREENS.applications = async function applicationsView() {
  const view = $("view");
  try {
    return officerQueue(view, await K.api("/api/v1/applications/queue"));  // an officer
  } catch (e) {
    if (e.status !== 403) throw e;  // a declarant: its own enterprise's applications
  }
  const mine = await K.api("/api/v1/applications?limit=200");
  const msg = K.el("div", { "data-testid": "application-msg" });
  const refresh = () => guarded(view, applicationsView);
  const rows = mine.map((a) => {
    const vr = a.vehicle_review;
    const plate = K.el("input", { placeholder: K.t("new_plate"), "data-testid": "change-plate", style: "max-width:9em" });
    const why = K.el("input", { placeholder: K.t("change_reason"), "data-testid": "change-reason" });
    const file = K.el("input", { type: "file", accept: ".pdf,.jpg,.jpeg,.png", "data-testid": "attach-file" });
    const enc = encodeURIComponent(a.order_no);
    const act = (fn) => async (ev) => {
      ev.preventDefault();
      try { await fn(); await refresh(); } catch (e) { msg.replaceChildren(K.el("p", { class: "bad", "data-testid": "application-error", text: `${K.t("error")}: ${e.message}` })); }
    };
    return K.el("tr", { "data-testid": "application", "data-order": a.order_no },
      K.el("td", { text: a.order_no }), K.el("td", { text: a.plate }),
      K.el("td", {}, K.el("span", { class: "pill st-" + a.status, "data-testid": "application-status", text: K.t("a_" + a.status) })),
      K.el("td", { class: a.refusal_reason ? "bad" : "", "data-testid": "refusal", text: a.refusal_reason || "—" }),
      K.el("td", { "data-testid": "vehicle" }, a.pending_plate ? `${a.plate} → ${a.pending_plate} (${K.t("change_pending")})`
        : vr ? `${vr.plate}: ${K.t(vr.approved ? "vr_approved" : "vr_refused")}${vr.note ? " — " + vr.note : ""}` : "—",
      a.status === "active" && !a.pending_plate ? K.el("form", { class: "toolbar", onsubmit: act(() => K.api(`/api/v1/applications/release-orders/${enc}/vehicle`,
        { body: { plate: plate.value.trim(), reason: why.value.trim() } })) }, plate, why, K.el("button", { type: "submit", "data-testid": "ask-change", text: K.t("ask_change") })) : null),
      K.el("td", { "data-testid": "attachments" }, a.attachments.map((f) => K.el("div", { text: `${f.filename} (${Math.ceil(f.size / 1024)} KB)` })),
        K.el("form", { class: "toolbar", onsubmit: act(async () => {
          const f = file.files[0];
          if (!f) return;
          const resp = await fetch(`/api/v1/applications/release-orders/${enc}/attachments?filename=${encodeURIComponent(f.name)}`,
            { method: "POST", body: f, headers: { ...K.authHeaders(), "Content-Type": f.type || "application/octet-stream" } });
          if (!resp.ok) { const b = await resp.json().catch(() => ({})); throw new Error(b.title || "HTTP " + resp.status); }
        }) }, file, K.el("button", { type: "submit", "data-testid": "attach", text: K.t("attach") }))));
  });
  const op = K.findOp(C.spec, "post", /^\/api\/v1\/applications\/release-orders$/);
  view.replaceChildren(K.el("h2", { text: K.both("applications") }), msg,
    K.el("table", { class: "grid", "data-testid": "applications" },
      K.el("thead", {}, K.el("tr", {}, ["order_no", "plate", "status", "refusal_reason", "vehicle_change", "attachments"].map((h) => K.el("th", { text: K.t(h) })))),
      K.el("tbody", {}, rows)),
    op ? K.el("details", { class: "create", "data-testid": "apply-form" }, K.el("summary", { text: K.t("apply_order") }),
      K.schemaForm(C.spec, op, { fixed: {}, onDone: refresh })) : null);
};

function officerQueue(view, queue) {
  view.replaceChildren(K.el("h2", { text: K.both("applications") }),
    K.el("p", {}, K.el("a", { href: "#awaiting", text: K.t("queue_hint") })),
    K.table(queue, { testid: "application-queue", columns: ["kind", "order_no", "enterprise", "applied_by", "plate", "new_plate", "reason", "attachments"] }));
}
