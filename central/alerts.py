"""Alerts (预警) for field staff and officers: raised once per cause, routed by kind to a role,
acknowledged and disposed of with notes."""

from __future__ import annotations

import logging
import re
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator
from sqlalchemy import and_, or_, select

from kakou.central import audit
from kakou.central.alert_texts import AlertText
from kakou.central.auth import Role
from kakou.central.db import page, where_given
from kakou.central.list_queries import AlertQuery
from kakou.central.service import Central, Conflict, NotFound, fetch, row_or_missing
from kakou.central.tables import AlertRouteRow, AlertRow, UserRow
from kakou.central.tables_sync import PassRow
from kakou.sync import limits, topics
from kakou.sync.knowledge import ControlDisposalData
from kakou.sync.messages import ChangeKind

log = logging.getLogger(__name__)

AlertKind = Literal[
    "control_hit",
    "weight_anomaly",
    "transit_overdue",
    "transit_seal",
    "device_fault",
    "lane_offline",
    "batch_exceeded",
    "ledger_negative",
    "transit_mismatch",
    "route_deviation",
    "vehicle_stopped",
    "document_hold",
]

# Called with (central, alert) after an acknowledgement, disposal or note is committed: the field
# page's live stream (routes/live.py) pushes it at once. New alerts are found by the stream's own
# poll on the id, which also sees alerts raised by other central processes.
CHANGED: list[Callable[[Central, AlertRow], None]] = []

SHA256 = r"^[0-9a-f]{64}$"


class DisposalIn(BaseModel):
    disposal: str = Field(min_length=1, max_length=limits.NOTE)
    # Photos taken on site, uploaded first (POST /alerts/{id}/photos) and named by their SHA-256.
    photos: list[str] = Field(default_factory=list, max_length=8)
    # A control-order hit (布控) only: the disposal releases the vehicle the lane holds on it.
    release_vehicle: bool = False

    @field_validator("photos")
    @classmethod
    def _hashes(cls, v: list[str]) -> list[str]:
        bad = [p for p in v if not re.match(SHA256, p)]
        if bad:
            raise ValueError(f"a photo is named by its SHA-256 (64 lowercase hex digits), not {bad[0]!r}")
        return v


def changed(c: Central, row: AlertRow) -> None:
    """Tell the listeners (`CHANGED`) of an alert changed and committed."""
    for cb in CHANGED:
        try:
            cb(c, row)
        except Exception:  # a listener's bug must not turn a committed disposal into an error
            log.exception("alert change listener failed")


def routed_to(row: AlertRow, username: str, role: str) -> bool:
    """Whether an alert is in this person's queue: assigned to them, or to their role without a
    named assignee (the same rule as `list_alerts(for_user=…)`); an admin sees every alert."""
    if role == Role.ADMIN.value:
        return True
    return row.assignee == username or (row.assignee is None and row.route_role == role)


# Default routing: which role's queue an alert of each kind lands in, and how urgent it is.
# Routing rules stored as data (AlertRouteRow, /api/v1/alert-routes) take precedence.
ROUTES: dict[str, tuple[Role, str]] = {
    "control_hit": (Role.FIELD_STAFF, "high"),
    "weight_anomaly": (Role.FIELD_STAFF, "medium"),
    "transit_overdue": (Role.CENTRAL_OFFICER, "high"),
    "transit_seal": (Role.FIELD_STAFF, "high"),
    "device_fault": (Role.FIELD_STAFF, "medium"),
    "lane_offline": (Role.FIELD_STAFF, "high"),
    "batch_exceeded": (Role.CENTRAL_OFFICER, "medium"),
    "ledger_negative": (Role.CENTRAL_OFFICER, "medium"),
    "transit_mismatch": (Role.FIELD_STAFF, "high"),  # the destination lane held a transit truck
    "route_deviation": (Role.CENTRAL_OFFICER, "high"),  # a transit vehicle left its declared corridor
    "vehicle_stopped": (Role.CENTRAL_OFFICER, "medium"),  # a transit vehicle stopped en route too long
    # A truck held at a lane for its documents (no valid release order): someone on site sees to it.
    "document_hold": (Role.FIELD_STAFF, "medium"),
}


def raise_alert(
    w: audit.Work, kind: str, subject: str, message: str | AlertText, dedupe_key: str, source: str | None = None
) -> AlertRow | None:
    """Raise inside the caller's unit of work; a cause already alerted (same dedupe key) is not repeated.

    `message`: what the alert says as a code with parameters (shown in the reader's language;
    `message` keeps its Chinese text), or a plain text shown as it is."""
    if w.session.scalar(select(AlertRow.id).where(AlertRow.dedupe_key == dedupe_key)) is not None:
        return None
    default_role, severity = ROUTES[kind]
    role, assignee = default_role.value, None
    rule = _matching_rule(w, kind, subject)
    if rule is not None:
        role, assignee, severity = rule.role, rule.assignee, rule.severity or severity
    code, params = None, None
    if isinstance(message, AlertText):
        code, params, message = message.code.value, message.stored(), message.text("zh")
    row = AlertRow(
        kind=kind,
        severity=severity,
        subject=subject[:64],
        message=message,
        route_role=role,
        assignee=assignee,
        dedupe_key=dedupe_key[:160],
        source=source,
        status="open",
        notes=[],
        code=code,
        params=params,
    )
    w.session.add(row)
    w.session.flush()
    w.audit("alert.raise", f"alert:{row.id}", {"kind": kind, "subject": subject, "message": message})
    return row


def _matching_rule(w: audit.Work, kind: str, subject: str) -> AlertRouteRow | None:
    rules = w.session.scalars(
        select(AlertRouteRow)
        .where(AlertRouteRow.active.is_(True), AlertRouteRow.kind.in_((kind, "*")))
        .order_by(AlertRouteRow.priority, AlertRouteRow.id)
    )
    return next((r for r in rules if not r.subject_prefix or subject.startswith(r.subject_prefix)), None)


class AlertRouteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    kind: Literal["*", AlertKind]  # "*": a rule for every kind (typing flattens the nested Literal)
    subject_prefix: str | None = Field(None, max_length=64)  # e.g. "n2/" for one edge node's lanes
    role: Role
    assignee: str | None = Field(None, max_length=64)  # a user of that role, if one person takes them
    severity: Literal["low", "medium", "high"] | None = None
    priority: int = Field(100, ge=0, le=10_000)


def add_route(c: Central, actor: str, r: AlertRouteIn) -> AlertRouteRow:
    with audit.write(c, actor) as w:
        if r.assignee is not None:
            user = w.session.get(UserRow, r.assignee)
            if user is None or user.role != r.role.value:
                raise ValueError(f"{r.assignee} is not a user with role {r.role.value}")
        row = AlertRouteRow(**{**r.model_dump(), "role": r.role.value}, active=True, created_by=actor)
        w.session.add(row)
        w.session.flush()
        w.audit("alert_route.add", f"alert_route:{row.id}", r.model_dump(mode="json"))
    return row


def retire_route(c: Central, actor: str, route_id: int) -> None:
    with audit.write(c, actor) as w:
        row = w.session.get(AlertRouteRow, route_id)
        if row is None or not row.active:
            raise NotFound(f"no active alert route {route_id}")
        row.active = False
        w.audit("alert_route.retire", f"alert_route:{route_id}")


def list_routes(c: Central) -> list[AlertRouteRow]:
    with c.sessions() as s:
        return list(
            s.scalars(
                select(AlertRouteRow)
                .where(AlertRouteRow.active.is_(True))
                .order_by(AlertRouteRow.priority, AlertRouteRow.id)
            )
        )


def _get(w: audit.Work, alert_id: int) -> AlertRow:
    return row_or_missing(w.session, AlertRow, alert_id, "alert")


def _note(row: AlertRow, actor: str, text: str, kind: str, photos: list[str] | None = None) -> None:
    note: dict[str, str | list[str]] = {"at": datetime.now(UTC).isoformat(), "by": actor, "kind": kind, "text": text}
    if photos:
        note["photos"] = photos
    row.notes = [*row.notes, note]


def acknowledge(c: Central, actor: str, alert_id: int, note: str = "") -> AlertRow:
    with audit.write(c, actor) as w:
        row = _get(w, alert_id)
        if row.status != "open":
            raise Conflict(f"alert {alert_id} is already {row.status}")
        row.status, row.acknowledged_by, row.acknowledged_at = "acknowledged", actor, datetime.now(UTC)
        if note:
            _note(row, actor, note, "acknowledge")
        w.audit("alert.acknowledge", f"alert:{alert_id}", {"note": note})
    changed(c, row)
    return row


def dispose(
    c: Central,
    actor: str,
    alert_id: int,
    disposal: str,
    photos: list[str] | None = None,
    have_photo: Callable[[str], bool] | None = None,
    release_vehicle: bool = False,
) -> AlertRow:
    """`photos`: SHA-256 names of photos already stored (`have_photo` says whether one is).

    `release_vehicle`: the alert is a control-order hit (布控) and its disposal releases the vehicle
    the lane holds on it: the lane that sent the pass is told (its node stream) and opens.
    """
    if not disposal.strip():
        raise ValueError("say how the alert was disposed of")
    photos = list(dict.fromkeys(photos or []))
    if photos:
        missing = [p for p in photos if have_photo is None or not have_photo(p)]
        if missing:
            raise ValueError(f"photo {missing[0]} was not uploaded: POST it to /api/v1/alerts/{alert_id}/photos first")
    with audit.write(c, actor) as w:
        row = _get(w, alert_id)
        if row.status == "disposed":
            raise Conflict(f"alert {alert_id} is already disposed of")
        now = datetime.now(UTC)
        if row.status == "open":  # disposing implies having seen it
            row.acknowledged_by, row.acknowledged_at = actor, now
        held = None
        if release_vehicle:
            if row.kind != "control_hit" or not row.source:
                raise ValueError("only the disposal of a control-order hit on a lane's pass releases a vehicle")
            held = w.session.scalar(select(PassRow).where(PassRow.pass_id == row.source))
            if held is None:
                raise ValueError(f"the pass {row.source} of this hit is not at central")
        row.status, row.disposed_by, row.disposed_at, row.disposal = "disposed", actor, now, disposal
        _note(row, actor, disposal, "dispose", photos)
        w.audit(
            "alert.dispose",
            f"alert:{alert_id}",
            {"disposal": disposal, "photos": photos, "release_vehicle": release_vehicle},
        )
        if held is not None:
            w.publish(
                ChangeKind.CONTROL_DISPOSAL,
                held.pass_id,
                ControlDisposalData(
                    pass_id=held.pass_id, lane=held.lane, release=True, by=actor, disposal=disposal, alert_id=alert_id
                ).model_dump(mode="json"),
                scope=topics.node_stream(held.node),
            )
    changed(c, row)
    return row


# Who closes an alert whose cause is over (`close`): no officer disposed of it.
SYSTEM = "system"


def close(w: audit.Work, row: AlertRow, disposal: str, detail: dict[str, Any]) -> None:
    """Close an alert whose cause is over, inside the caller's unit of work (call `changed` after
    the commit): disposed of by the system, what ended it in `disposal` and in its history (a note
    of kind `auto_close` with `detail`), and in the audit log. Not marked acknowledged: nobody saw it."""
    now = datetime.now(UTC)
    row.status, row.disposed_by, row.disposed_at, row.disposal = "disposed", SYSTEM, now, disposal
    row.notes = [*row.notes, {"at": now.isoformat(), "by": SYSTEM, "kind": "auto_close", "text": disposal, **detail}]
    w.audit("alert.auto_close", f"alert:{row.id}", {"disposal": disposal, **detail})


def add_note(c: Central, actor: str, alert_id: int, text: str) -> AlertRow:
    if not text.strip():
        raise ValueError("a note needs text")
    with audit.write(c, actor) as w:
        row = _get(w, alert_id)
        _note(row, actor, text, "note")
        w.audit("alert.note", f"alert:{alert_id}", {"text": text})
    changed(c, row)
    return row


def get(c: Central, alert_id: int) -> AlertRow:
    return fetch(c, AlertRow, alert_id, "alert")


def list_alerts(c: Central, q: AlertQuery, for_user: tuple[str, str] | None = None) -> tuple[int, list[AlertRow]]:
    """A page of alerts as the route's query filters them; `for_user` (username, role): what is
    routed to that person — assigned to them, or to their role without a named assignee."""
    with c.sessions() as s:
        stmt = select(AlertRow)
        if for_user:
            name, user_role = for_user
            stmt = stmt.where(
                or_(AlertRow.assignee == name, and_(AlertRow.route_role == user_role, AlertRow.assignee.is_(None)))
            )
        stmt = where_given(
            stmt,
            (AlertRow.status, q.status),
            (AlertRow.kind, q.kind),
            (AlertRow.route_role, q.role),
            (AlertRow.subject, q.subject),
        )
        return page(s, stmt, q.limit, q.offset, AlertRow.id.desc())
