"""What central derives from the passes the lanes send: the traceability index, batch-exit
counting, transit clocks, ledger gating and alerts.

Ingest stays a fast idempotent insert; `run()` reads the passes after a stored cursor, in order,
and applies each exactly once (the cursor moves in the same transaction as the effects). Call it
after ingest or on a timer; several callers are safe (the audit head lock serialises them).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import ValidationError
from sqlalchemy import func, select

from kakou.central import alerts, audit, cursors, ledgers, orders, transit
from kakou.central.alert_texts import AlertCode, AlertText
from kakou.central.service import Central
from kakou.central.tables import AlertRow, PassSubjectRow, RegistrationRow, ReleaseOrderRow
from kakou.central.tables_sync import ChangeRow, NodeRow, PassRow
from kakou.sync import topics
from kakou.sync.checks import (
    DEVICE_CODES,
    INSPECTION_RESULTS,
    SPEC,
    WEIGHT_ANOMALY_CODES,
    Check,
    CheckCode,
    checks_in,
    reasons_in,
)
from kakou.sync.knowledge import INSPECTION_MARK_VALID_H, InspectionMarkData
from kakou.sync.messages import ChangeKind

CURSOR = "passes"
HIT_CONTROL = frozenset({CheckCode.CONTROL_ORDER_HIT})  # a risk rule hit decides the outcome, it raises no alert
# A failed release-order check: the truck has no valid order (missing, another plate, expired, …).
DOCUMENT_CODES = frozenset(code for code, (group, _) in SPEC.items() if group == "release_order")
# The reason of a record releasing a pass it supersedes: an officer decided it.
RELEASE_REASONS = frozenset(
    {
        CheckCode.OFFICER_OVERRIDE,
        CheckCode.OFFICER_OVERRIDE_CONFIRMED,
        CheckCode.RELEASED_ON_DOCUMENTS,
        CheckCode.RELEASED_ON_DOCUMENTS_CONFIRMED,
        CheckCode.INSPECTION_PASSED,
        CheckCode.INSPECTION_PASSED_CONFIRMED,
        CheckCode.CONTROL_DISPOSAL_RELEASED,
        CheckCode.BACKFILLED,
    }
)


def run(c: Central, limit: int = 2000) -> int:
    """Project up to `limit` new passes; returns how many (0: caught up)."""
    with audit.write(c, "projection") as w:
        cur = cursors.held(w.session, CURSOR)
        rows = list(
            w.session.scalars(select(PassRow).where(PassRow.id > cur.position).order_by(PassRow.id).limit(limit))
        )
        lanes: dict[str, dict[str, Any] | None] = {}  # lane registrations, read once per batch
        holds = _open_holds(w) if rows else set()
        closed: list[AlertRow] = []
        for p in rows:
            closed += _project(w, p, lanes, holds)
        if rows:
            cur.position = rows[-1].id
    for row in closed:  # committed: the field pages' live streams show them closed
        alerts.changed(c, row)
    return len(rows)


def run_all(c: Central) -> int:
    total = 0
    while n := run(c):
        total += n
    return total


def _registered(w: audit.Work, kind: str, key: str) -> dict[str, Any] | None:
    row = w.session.scalar(
        select(RegistrationRow).where(
            RegistrationRow.kind == kind, RegistrationRow.key == key, RegistrationRow.deleted.is_(False)
        )
    )
    return row.data if row else None


def _project(w: audit.Work, p: PassRow, lanes: dict[str, dict[str, Any] | None], holds: set[str]) -> list[AlertRow]:
    """Apply one pass; returns the alerts it closed. `holds`: see `_open_holds`."""
    rec: dict[str, Any] = p.record
    lane_key = f"{p.node}/{p.lane}"
    subjects = [("plate", p.plate)] + [("container", c) for c in rec.get("containers", [])]
    used = _orders_used(rec)
    subjects += [("order", o) for o in used]
    for kind, value in subjects:
        if value:
            w.session.add(PassSubjectRow(pass_row=p.id, subject_kind=kind, subject=value, at=p.decided_at))

    checks = checks_in(rec)
    subject = p.plate or (rec.get("containers") or ["?"])[0]
    failed = [ch for ch in checks if not ch.ok]
    hit = False
    for kind, codes, legacy_name in (
        ("control_hit", HIT_CONTROL, "control"),
        ("weight_anomaly", WEIGHT_ANOMALY_CODES, "weight"),
    ):
        found = [ch for ch in failed if ch.code in codes or _legacy(ch, legacy_name)]
        if found:
            hit = hit or kind == "control_hit"
            alerts.raise_alert(w, kind, subject, _pass_text(lane_key, p.plate, found), f"{kind}:{p.pass_id}", p.pass_id)
    # A truck held for its documents (no valid release order): routed like any alert (field staff
    # by default), once per pass; a control-order hit on it already brings someone to the truck.
    held_for = [ch for ch in failed if ch.code in DOCUMENT_CODES or _legacy(ch, "release_order")]
    if held_for and p.outcome != "release" and not hit:
        holds.update((subject, p.pass_id))
        alerts.raise_alert(
            w,
            "document_hold",
            subject,
            _pass_text(lane_key, p.plate, held_for),
            f"document_hold:{p.pass_id}",
            p.pass_id,
        )
    closed = _end_document_holds(w, p, rec, lane_key, holds) if p.outcome == "release" and holds else []
    faults = [ch for ch in failed if ch.code in DEVICE_CODES or _legacy(ch, "device")]
    hour = p.decided_at.strftime("%Y%m%d%H")
    seen: set[str] = set()
    for fault in faults:  # one alert per lane, fault and hour, not per truck
        what = str(fault.params.get("fault") or fault.params.get("text") or "")[:60]
        key = f"device_fault:{lane_key}:{fault.code.value}:{what}:{hour}"
        if key not in seen:
            seen.add(key)
            alerts.raise_alert(
                w,
                "device_fault",
                lane_key,
                AlertText(code=AlertCode.LANE_FAULT, params={"lane": lane_key}, findings=[fault.finding()]),
                key,
                p.pass_id,
            )

    if used and p.outcome == "release":
        vehicle = _registered(w, "vehicle", p.plate) if p.plate else None
        for order_no in used:  # each order the truck went out on counts the exit
            order, problem = orders.count_pass(
                w,
                order_no,
                p.pass_id,
                p.decided_at,
                rec.get("gross_kg"),
                (vehicle or {}).get("tare_kg"),
                [o for o in used if o != order_no],
            )
            if problem:
                source = f"batch:{p.pass_id}" if len(used) == 1 else f"batch:{p.pass_id}:{order_no}"
                alerts.raise_alert(w, "batch_exceeded", order_no, problem, source, p.pass_id)
            if isinstance(order, ReleaseOrderRow) and order.declarations:
                ledgers.gate(w, list(order.declarations), p.pass_id, p.decided_at)

    if lane_key not in lanes:
        lanes[lane_key] = _registered(w, "lane", lane_key)
    lane = lanes[lane_key]
    if lane and lane.get("site"):
        _share_inspection_result(w, p, rec, checks, str(lane["site"]))
    if lane:
        transit_no = rec.get("transit_no") if isinstance(rec.get("transit_no"), str) else None
        transit.on_pass(w, lane["site"], p.plate, p.pass_id, p.decided_at, checks, p.outcome, transit_no)
    return closed


# A chain of records superseding one another (manual entry, override, backfill…) is short; the
# bound only guards against a loop in what the lanes sent.
MAX_SUPERSEDED = 16
OPEN = ("open", "acknowledged")  # an alert not disposed of yet


def _open_holds(w: audit.Work) -> set[str]:
    """The subjects and source passes of the open document-hold alerts, read once per batch (and
    added to as holds are raised), so a released pass that concerns none costs no query. An alert
    an officer disposes of meanwhile stays in it: that only costs a query that finds nothing."""
    rows = w.session.execute(
        select(AlertRow.subject, AlertRow.source).where(AlertRow.status.in_(OPEN), AlertRow.kind == "document_hold")
    )
    return {v for row in rows for v in row if v}


def _end_document_holds(
    w: audit.Work, p: PassRow, rec: dict[str, Any], lane_key: str, holds: set[str]
) -> list[AlertRow]:
    """A truck held for its documents and then released closes the hold's alert: released by a
    record superseding the held pass (an officer's override, a release on documents, its backfill,
    a manual entry), or a later pass of the same vehicle released (it came back with its papers)."""
    superseded: list[str] = []
    after = rec.get("supersedes")
    if p.plate not in holds and not isinstance(after, str):
        return []  # the common case: a release that concerns no open hold
    while isinstance(after, str) and after not in superseded and len(superseded) < MAX_SUPERSEDED:
        superseded.append(after)
        earlier = w.session.scalar(select(PassRow.record).where(PassRow.pass_id == after))
        after = earlier.get("supersedes") if isinstance(earlier, dict) else None
    # Two indexed reads (alerts by source, by subject), not one OR the database would answer by
    # scanning every document hold; no flush (once per released pass): an alert is flushed when
    # raised, and one closed earlier in this batch is the same object, already disposed.
    if p.plate not in holds and not holds.intersection(superseded):
        return []
    open_holds = select(AlertRow).where(AlertRow.status.in_(OPEN), AlertRow.kind == "document_hold")
    found: list[AlertRow] = []
    with w.session.no_autoflush:
        if superseded:
            found += w.session.scalars(open_holds.where(AlertRow.source.in_(superseded)))
        if p.plate in holds:  # decided before this pass: one arriving late (a node back online) closes nothing newer
            found += w.session.scalars(
                open_holds.join(PassRow, PassRow.pass_id == AlertRow.source).where(
                    AlertRow.subject == p.plate, PassRow.decided_at < p.decided_at
                )
            )
    rows = sorted({r.id: r for r in found if r.status != "disposed"}.values(), key=lambda r: r.id)
    if not rows:
        return []
    # Who released it: the officer of the decision superseding the hold, or the lane on its own.
    reason = next((f for f in reasons_in(rec) if f.code in RELEASE_REASONS), None)
    why = reason.text("zh") if reason else "通道放行"
    disposal = f"车辆已放行（{lane_key} 通行 {p.pass_id}）：{why}"
    detail: dict[str, Any] = {
        "pass_id": p.pass_id,
        "lane": lane_key,
        "officer": reason.params.get("officer") if reason else None,
        "reason": reason.model_dump(mode="json") if reason else None,
    }
    for row in rows:
        alerts.close(w, row, disposal, detail)
    return rows


def _share_inspection_result(w: audit.Work, p: PassRow, rec: dict[str, Any], checks: list[Check], site: str) -> None:
    """An inspection result goes to every node of the lane's site (key: the plate), so a vehicle coming
    back from inspection through another node's lane is judged against it there too."""
    found = next((ch for ch in checks if ch.code in INSPECTION_RESULTS), None)
    if found is None or not p.plate:
        return
    note = found.params
    try:
        data = InspectionMarkData.model_validate(
            {
                "result": INSPECTION_RESULTS[found.code],
                "plate": p.plate,
                "containers": rec.get("containers") or [],
                "officer": str(note.get("officer", "")),
                "note": str(note.get("note", "")),
                "at": p.decided_at,
                "pass_id": p.pass_id,
                "node": p.node,
                "lane": p.lane,
            }
        )
    except ValidationError:
        return  # the pass was stored; a mark that does not fit is not shared (the lane's own node has it)
    w.publish(ChangeKind.INSPECTION, p.plate, data.model_dump(mode="json"), scope=topics.site_stream(site))


def expire_inspection_results(c: Central, now: datetime | None = None) -> int:
    """Withdraw the inspection results older than a lane would use from the site streams (the lanes
    ignore them by then anyway), so a site's snapshot holds recent results only. Returns how many."""
    cutoff = (now or datetime.now(UTC)) - timedelta(hours=INSPECTION_MARK_VALID_H)
    kind = ChangeKind.INSPECTION
    with audit.write(c, "system") as w:
        latest = (
            select(func.max(ChangeRow.version))
            .where(ChangeRow.kind == kind.value)
            .group_by(ChangeRow.key)
            .scalar_subquery()
        )
        rows = list(
            w.session.scalars(select(ChangeRow).where(ChangeRow.version.in_(latest), ChangeRow.created_at < cutoff))
        )
        live = [r for r in rows if r.data is not None]
        for r in live:
            w.publish(kind, r.key, None, scope=r.stream)
    return len(live)


def _orders_used(rec: dict[str, Any]) -> list[str]:
    """The release orders a stored pass went out on: `release_orders`, or an older lane's single one."""
    many = [o for o in rec.get("release_orders") or [] if isinstance(o, str) and o]
    one = rec.get("release_order")
    return list(dict.fromkeys(many)) or ([one] if isinstance(one, str) and one else [])


def check_nodes(c: Central) -> int:
    """Raise a lane-offline alert for each edge node whose presence says offline."""
    n = 0
    with audit.write(c, "system") as w:
        for node in w.session.scalars(select(NodeRow).where(NodeRow.online.is_(False))):
            since = (node.last_seen or datetime.now(UTC)).isoformat()
            text = AlertText(code=AlertCode.NODE_OFFLINE, params={"node": node.node, "since": since})
            if alerts.raise_alert(w, "lane_offline", node.node, text, f"lane_offline:{node.node}:{since}"):
                n += 1
    return n


def _legacy(ch: Check, name: str) -> bool:
    """A check from a version-1 lane (a sentence) under the old check name."""
    return ch.code is CheckCode.LEGACY_TEXT and ch.name == name


def _pass_text(lane_key: str, plate: str | None, found: list[Check]) -> AlertText:
    return AlertText(
        code=AlertCode.PASS_FINDINGS, params={"lane": lane_key, "plate": plate}, findings=[ch.finding() for ch in found]
    )
