"""Transit (转关): the pass at the office of entry starts the clock, the pass at the destination
closes it (核销); the e-seal seen at both ends must be the declared one; overdue raises an alert.

An open transit is published to the lanes of its destination site (change kind `transit`, stream
`site:{destination}`), which check the arriving truck's plate, containers and seal against it
(kakou.edge.transit_check); a release there carries the transit number and closes it, and the
closed transit is withdrawn from the lanes. A lane without an e-seal reader sends no e-seal check
at all: the seal is then "not checked" there (seal_ok stays as it was), never an alert.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from kakou.central import alerts, audit
from kakou.central.alert_texts import AlertCode, AlertText
from kakou.central.db import aware, page, where_given
from kakou.central.list_queries import TransitQuery
from kakou.central.risk import parameters_for
from kakou.central.service import Central, Conflict, fetch
from kakou.central.tables import TransitRow
from kakou.sync import limits, topics
from kakou.sync.checks import Check, CheckCode
from kakou.sync.knowledge import TransitData
from kakou.sync.messages import ChangeKind, Latitude, Longitude

OPEN = ("declared", "en_route", "overdue")
SEAL_FAILURES = frozenset({CheckCode.TRANSIT_SEAL_MISMATCH, CheckCode.TRANSIT_SEAL_NOT_READ, CheckCode.E_SEAL_TAMPERED})


class TransitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    transit_no: str = Field(min_length=1, max_length=40)
    plate: str = Field(min_length=1, max_length=16)
    containers: list[Annotated[str, Field(min_length=1, max_length=20)]] = Field(default_factory=list, max_length=50)
    entry_site: str = Field(min_length=1, max_length=40)  # lengths: the columns' (PostgreSQL enforces them)
    destination_site: str = Field(min_length=1, max_length=40)
    e_seal: str | None = Field(None, max_length=40)
    time_limit_h: float | None = Field(None, gt=0, le=24 * 365)  # default: the parameter library's limit
    # The declared route, [[lat, lon], …] WGS-84 (at least 2 points): its vehicle must keep within
    # the parameter library's route_corridor_m of it (kakou.central.positions).
    route: list[tuple[Latitude, Longitude]] | None = Field(None, min_length=2, max_length=limits.MAX_ROUTE_POINTS)


def declare(c: Central, actor: str, t: TransitIn) -> TransitRow:
    if t.entry_site == t.destination_site:
        raise ValueError("office of entry and destination must differ")
    if not topics.NAME.match(t.destination_site):
        raise ValueError("destination site: a site code (letters, digits, '_', '.', '-')")
    limit = t.time_limit_h or parameters_for(c).transit_time_limit_h
    with audit.write(c, actor) as w:
        if w.session.get(TransitRow, t.transit_no) is not None:
            raise Conflict(f"transit {t.transit_no} already exists")
        row = TransitRow(
            **t.model_dump(exclude={"time_limit_h", "route"}),  # the declaration as filed, then central's part
            time_limit_h=limit,
            status="declared",
            created_by=actor,
            route=[list(p) for p in t.route] if t.route else None,
        )
        w.session.add(row)
        w.audit("transit.declare", f"transit:{t.transit_no}", t.model_dump(mode="json"))
        _publish(w, row)
    return row


def _publish(w: audit.Work, row: TransitRow) -> None:
    """The transit as its destination's lanes hold it; withdrawn from them once it is closed."""
    data = (
        TransitData(
            transit_no=row.transit_no,
            plate=row.plate,
            containers=list(row.containers or []),
            e_seal=row.e_seal,
            entry_site=row.entry_site,
            destination_site=row.destination_site,
            status=row.status,
        ).model_dump(mode="json")
        if row.status in OPEN
        else None
    )
    w.publish(ChangeKind.TRANSIT, row.transit_no, data, topics.site_stream(row.destination_site))


class SealSeen:
    """What a pass says of the e-seal: `reader` False when the lane has none (no e-seal check at all)."""

    def __init__(self, checks: list[Check]) -> None:
        found = [c for c in checks if c.name == "e_seal"]
        self.reader = bool(found)
        read = next((c for c in found if c.code in (CheckCode.E_SEAL_READ, CheckCode.LEGACY_TEXT)), None)
        self.seal = str(read.params.get("seal") or read.params.get("text")) if read else None
        self.tampered = any(c.code is CheckCode.E_SEAL_TAMPERED for c in found)


def on_pass(
    w: audit.Work,
    site: str,
    plate: str | None,
    pass_id: str,
    at: datetime,
    checks: list[Check],
    outcome: str,
    transit_no: str | None = None,
) -> None:
    """A gate pass at `site` (inside the projection's work): a release at the office of entry starts
    the transits of this plate; a release at the destination closes the transit it carries (or, from
    a lane that names none, e.g. an officer's release, the plate's); a held arrival with a transit
    mismatch raises an alert and leaves the transit open."""
    seal = SealSeen(checks)
    if outcome != "release":
        _held_arrival(w, site, plate, pass_id, checks, seal)
        return
    if transit_no:
        row = w.session.get(TransitRow, transit_no)
        rows = [row] if row is not None and row.status in OPEN and row.destination_site == site else []
    elif plate:
        rows = list(
            w.session.scalars(
                select(TransitRow)
                .where(TransitRow.plate == plate, TransitRow.status.in_(OPEN))
                .order_by(TransitRow.transit_no)
            )
        )
    else:
        rows = []
    moved: set[str] = set()  # plates whose transit started or ended
    for row in rows:
        if row.status == "declared" and site == row.entry_site:
            row.status, row.started_at, row.start_pass = "en_route", at, pass_id
            row.seal_ok = _seal(w, row, seal, pass_id, "entry")
            w.audit("transit.start", f"transit:{row.transit_no}", {"pass_id": pass_id})
            moved.add(row.plate)
            _publish(w, row)
        elif site == row.destination_site:
            row.closed_at, row.close_pass = at, pass_id
            ok = _seal(w, row, seal, pass_id, "destination")
            row.seal_ok = False if ok is False or row.seal_ok is False else (ok if ok is not None else row.seal_ok)
            late = aware(at) - aware(row.started_at or at) > timedelta(hours=row.time_limit_h)
            row.status = "closed_late" if late else "closed"
            w.audit(
                "transit.close", f"transit:{row.transit_no}", {"pass_id": pass_id, "late": late, "seal_ok": row.seal_ok}
            )
            moved.add(row.plate)
            _publish(w, row)
    if moved:  # a transit time rule holds from the start of the journey: the orders' verdicts change
        from kakou.central import risk_eval

        w.session.flush()
        for moved_plate in sorted(moved):
            risk_eval.refresh(w, moved_plate)


def _held_arrival(
    w: audit.Work, site: str, plate: str | None, pass_id: str, checks: list[Check], seal: SealSeen
) -> None:
    """The destination lane held the truck on its transit check: alert, mark a seal failure."""
    failed = [c for c in checks if c.name == "transit" and not c.ok]
    for c in failed:
        row = w.session.get(TransitRow, str(c.params.get("transit_no") or ""))
        if row is None or row.destination_site != site or row.status not in OPEN:
            continue
        kind = "transit_seal" if c.code in SEAL_FAILURES or seal.tampered else "transit_mismatch"
        if kind == "transit_seal":
            row.seal_ok = False
        text = AlertText(
            code=AlertCode.TRANSIT_CHECK, params={"transit_no": row.transit_no, "site": site}, findings=[c.finding()]
        )
        alerts.raise_alert(
            w, kind, row.plate, text, f"transit_check:{row.transit_no}:{pass_id}:{c.code.value}", pass_id
        )


def _seal(w: audit.Work, row: TransitRow, seen: SealSeen, pass_id: str, where: str) -> bool | None:
    """Whether the seal read is the declared one; None: not checked (no seal declared, or no reader)."""
    if row.e_seal is None or not seen.reader:
        return None
    if seen.seal == row.e_seal and not seen.tampered:
        return True
    shown = "tampered" if seen.tampered and seen.seal == row.e_seal else seen.seal or "not_read"
    text = AlertText(
        code=AlertCode.TRANSIT_SEAL,
        params={"transit_no": row.transit_no, "where": where, "seen": shown, "declared": row.e_seal},
    )
    alerts.raise_alert(w, "transit_seal", row.plate, text, f"transit_seal:{row.transit_no}:{where}", pass_id)
    return False


def check_overdue(c: Central, now: datetime | None = None) -> list[str]:
    now = now or datetime.now(UTC)
    late: list[str] = []
    with audit.write(c, "system") as w:
        for row in w.session.scalars(select(TransitRow).where(TransitRow.status == "en_route")):
            if row.started_at and aware(row.started_at) + timedelta(hours=row.time_limit_h) < now:
                row.status = "overdue"
                late.append(row.transit_no)
                text = AlertText(
                    code=AlertCode.TRANSIT_OVERDUE,
                    params={
                        "transit_no": row.transit_no,
                        "entry_site": row.entry_site,
                        "destination_site": row.destination_site,
                        "time_limit_h": row.time_limit_h,
                    },
                )
                alerts.raise_alert(w, "transit_overdue", row.plate, text, f"transit_overdue:{row.transit_no}")
                w.audit("transit.overdue", f"transit:{row.transit_no}")
    return late


def get(c: Central, transit_no: str) -> TransitRow:
    return fetch(c, TransitRow, transit_no, "transit")


def list_transits(c: Central, q: TransitQuery) -> tuple[int, list[TransitRow]]:
    with c.sessions() as s:
        stmt = where_given(select(TransitRow), (TransitRow.status, q.status), (TransitRow.plate, q.plate))
        return page(s, stmt, q.limit, q.offset, TransitRow.transit_no)
