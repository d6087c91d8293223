"""Transit (转关): the pass at the office of entry starts the clock, the pass at the destination
closes it (核销); the e-seal seen at both ends must be the declared one; overdue raises an alert."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from kakou.central import alerts, audit
from kakou.central.db import page
from kakou.central.risk import parameters_for
from kakou.central.service import Central, Conflict, NotFound
from kakou.central.tables import TransitRow


class TransitIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    transit_no: str = Field(min_length=1, max_length=40)
    plate: str = Field(min_length=1, max_length=16)
    containers: list[Annotated[str, Field(min_length=1, max_length=20)]] = Field(default_factory=list, max_length=50)
    entry_site: str = Field(min_length=1, max_length=40)  # lengths: the columns' (PostgreSQL enforces them)
    destination_site: str = Field(min_length=1, max_length=40)
    e_seal: str | None = Field(None, max_length=40)
    time_limit_h: float | None = Field(None, gt=0, le=24 * 365)  # default: the parameter library's limit


def _aware(t: datetime) -> datetime:
    return t if t.tzinfo else t.replace(tzinfo=UTC)


def declare(c: Central, actor: str, t: TransitIn) -> TransitRow:
    if t.entry_site == t.destination_site:
        raise ValueError("office of entry and destination must differ")
    limit = t.time_limit_h or parameters_for(c).transit_time_limit_h
    with audit.write(c, actor) as w:
        if w.session.get(TransitRow, t.transit_no) is not None:
            raise Conflict(f"transit {t.transit_no} already exists")
        row = TransitRow(transit_no=t.transit_no, plate=t.plate, containers=t.containers, entry_site=t.entry_site,
                         destination_site=t.destination_site, e_seal=t.e_seal, time_limit_h=limit,
                         status="declared", created_by=actor)
        w.session.add(row)
        w.audit("transit.declare", f"transit:{t.transit_no}", t.model_dump(mode="json"))
    return row


def on_pass(w: audit.Work, site: str, plate: str | None, pass_id: str, at: datetime, e_seal: str | None) -> None:
    """A gate pass at `site`: starts or closes the transits of this plate (inside the projection's work)."""
    if not plate:
        return
    rows = w.session.scalars(select(TransitRow).where(TransitRow.plate == plate,
                                                      TransitRow.status.in_(("declared", "en_route", "overdue"))))
    moved = False
    for row in rows:
        if row.status == "declared" and site == row.entry_site:
            row.status, row.started_at, row.start_pass = "en_route", at, pass_id
            _seal(w, row, e_seal, pass_id, "entry")
            w.audit("transit.start", f"transit:{row.transit_no}", {"pass_id": pass_id})
            moved = True
        elif row.status in ("en_route", "overdue") and site == row.destination_site:
            row.closed_at, row.close_pass = at, pass_id
            row.seal_ok = _seal(w, row, e_seal, pass_id, "destination") and row.seal_ok is not False
            late = _aware(at) - _aware(row.started_at or at) > timedelta(hours=row.time_limit_h)
            row.status = "closed_late" if late else "closed"
            w.audit("transit.close", f"transit:{row.transit_no}", {"pass_id": pass_id, "late": late,
                                                                    "seal_ok": row.seal_ok})
            moved = True
    if moved:  # a transit time rule holds from the start of the journey: the orders' verdicts change
        from kakou.central import risk_eval

        w.session.flush()
        risk_eval.refresh(w, plate)


def _seal(w: audit.Work, row: TransitRow, seen: str | None, pass_id: str, where: str) -> bool:
    if row.e_seal is None or seen == row.e_seal:
        if where == "entry":
            row.seal_ok = True
        return True
    row.seal_ok = False
    alerts.raise_alert(w, "transit_seal", row.plate,
                       f"transit {row.transit_no}: e-seal at {where} is {seen or 'not read'}, declared {row.e_seal}",
                       f"transit_seal:{row.transit_no}:{where}", pass_id)
    return False


def check_overdue(c: Central, now: datetime | None = None) -> list[str]:
    now = now or datetime.now(UTC)
    late: list[str] = []
    with audit.write(c, "system") as w:
        for row in w.session.scalars(select(TransitRow).where(TransitRow.status == "en_route")):
            if row.started_at and _aware(row.started_at) + timedelta(hours=row.time_limit_h) < now:
                row.status = "overdue"
                late.append(row.transit_no)
                alerts.raise_alert(w, "transit_overdue", row.plate,
                                   f"transit {row.transit_no} ({row.entry_site} → {row.destination_site}) is over "
                                   f"its {row.time_limit_h:g} h limit", f"transit_overdue:{row.transit_no}")
                w.audit("transit.overdue", f"transit:{row.transit_no}")
    return late


def get(c: Central, transit_no: str) -> TransitRow:
    with c.sessions() as s:
        row = s.get(TransitRow, transit_no)
    if row is None:
        raise NotFound(f"no transit {transit_no}")
    return row


def list_transits(c: Central, limit: int, offset: int, status: str | None = None,
                  plate: str | None = None) -> tuple[int, list[TransitRow]]:
    with c.sessions() as s:
        q = select(TransitRow)
        if status:
            q = q.where(TransitRow.status == status)
        if plate:
            q = q.where(TransitRow.plate == plate)
        return page(s, q, limit, offset, TransitRow.transit_no)
