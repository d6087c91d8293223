"""Traceability: everything that happened to a plate, container, declaration or release order,
as one time-ordered timeline; exact subject plus an optional time range; CSV export."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import or_, select

from kakou.central.db import aware
from kakou.central.service import Central
from kakou.central.tables import (
    AlertRow,
    AuditRow,
    ControlOrderRow,
    LedgerMovementRow,
    PassSubjectRow,
    ReleaseOrderRow,
    TransitRow,
)
from kakou.central.tables_sync import PassRow
from kakou.sync.checks import reasons_in, render_all

SubjectKind = Literal["plate", "container", "declaration", "order"]


class Event(BaseModel):
    at: datetime
    kind: str  # pass, order, control_order, alert, ledger, transit, audit
    summary: str
    ref: str
    data: dict[str, Any] = {}


def timeline(
    c: Central,
    kind: SubjectKind,
    value: str,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 1000,
) -> list[Event]:
    ev: list[Event] = []
    with c.sessions() as s:
        if kind in ("plate", "container", "order"):
            q = (
                select(PassRow)
                .join(PassSubjectRow, PassSubjectRow.pass_row == PassRow.id)
                .where(PassSubjectRow.subject_kind == kind, PassSubjectRow.subject == value)
            )
            if since:
                q = q.where(PassSubjectRow.at >= since)
            if until:
                q = q.where(PassSubjectRow.at <= until)
            for p in s.scalars(q.order_by(PassSubjectRow.at.desc()).limit(limit)):
                r = p.record
                ev.append(
                    Event(
                        at=p.decided_at,
                        kind="pass",
                        ref=p.pass_id,
                        summary=f"{p.node}/{p.lane} {r.get('direction', '')}: {p.outcome} — "
                        f"{render_all(reasons_in(r))}",
                        data={
                            "plate": p.plate,
                            "containers": r.get("containers", []),
                            "gross_kg": r.get("gross_kg"),
                            "images": r.get("images", []),
                            "release_order": r.get("release_order"),
                            "release_orders": r.get("release_orders")
                            or ([r["release_order"]] if r.get("release_order") else []),
                            "entered_by": r.get("entered_by"),
                            "supersedes": r.get("supersedes"),
                        },
                    )
                )
        orders_q = None
        if kind == "plate":
            orders_q = select(ReleaseOrderRow).where(ReleaseOrderRow.plate == value)
        elif kind == "order":
            orders_q = select(ReleaseOrderRow).where(ReleaseOrderRow.order_no == value)
        elif kind == "declaration":
            for mv in s.scalars(select(LedgerMovementRow).where(LedgerMovementRow.source == f"declaration:{value}")):
                ev.append(
                    Event(
                        at=mv.at,
                        kind="ledger",
                        ref=f"{mv.ledger_no}/{mv.item_no}",
                        summary=f"{mv.kind} {mv.quantity:g} on {mv.ledger_no}/{mv.item_no}"
                        + (f", gated by {mv.gate_pass}" if mv.gated else ", awaiting a gate pass"),
                        data={"gated": mv.gated},
                    )
                )
        targets = [f"{'release_order' if kind == 'order' else kind}:{value}"]
        if orders_q is not None:
            targets += [f"release_order:{o.order_no}" for o in s.scalars(orders_q)]
        # Orders a container went out on are found through its passes.
        targets += [f"release_order:{no}" for e in ev if e.kind == "pass" for no in e.data["release_orders"]]
        if kind in ("plate", "container"):
            target_kind = "vehicle" if kind == "plate" else "container"
            for co in s.scalars(
                select(ControlOrderRow).where(
                    ControlOrderRow.target_kind == target_kind, ControlOrderRow.target_value == value
                )
            ):
                targets.append(f"control_order:{co.order_no}")
            for t in s.scalars(select(TransitRow).where(TransitRow.plate == value)) if kind == "plate" else []:
                targets.append(f"transit:{t.transit_no}")
        for a in s.scalars(select(AuditRow).where(AuditRow.target.in_(targets)).order_by(AuditRow.seq).limit(limit)):
            ev.append(
                Event(
                    at=datetime.fromisoformat(a.at),
                    kind=a.action.split(".")[0],
                    ref=a.target,
                    summary=f"{a.action} by {a.actor}",
                    data=a.detail,
                )
            )
        for al in s.scalars(
            select(AlertRow)
            .where(or_(AlertRow.subject == value, AlertRow.source.in_([e.ref for e in ev if e.kind == "pass"])))
            .limit(limit)
        ):
            ev.append(
                Event(
                    at=al.created_at,
                    kind="alert",
                    ref=f"alert:{al.id}",
                    summary=f"{al.kind}: {al.message} [{al.status}]",
                    data={"disposal": al.disposal},
                )
            )
    ev = [e.model_copy(update={"at": aware(e.at)}) for e in ev]
    if since:
        ev = [e for e in ev if e.at >= aware(since)]
    if until:
        ev = [e for e in ev if e.at <= aware(until)]
    return sorted(ev, key=lambda e: (e.at, e.kind, e.ref))[:limit]


# A cell starting with one of these is a formula to a spreadsheet (=HYPERLINK(…), +cmd|…, @SUM…):
# the refs and summaries carry text from the edges and from officers, so such a cell is written with
# a leading apostrophe and stays text (OWASP's advice for CSV injection).
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n")


def cell(value: str) -> str:
    """`value` as a spreadsheet shows it, never as a formula."""
    return "'" + value if value.startswith(_FORMULA_START) else value


def _row(e: Event) -> list[str]:
    return [e.at.isoformat(), cell(e.kind), cell(e.ref), cell(e.summary)]


def to_csv(events: list[Event]) -> str:
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(["at", "kind", "ref", "summary"])
    for e in events:
        w.writerow(_row(e))
    return out.getvalue()


def to_xlsx(events: list[Event]) -> bytes:
    from openpyxl import Workbook

    wb = Workbook(write_only=True)
    ws = wb.create_sheet("timeline")
    ws.append(["at", "kind", "ref", "summary"])
    for e in events:
        ws.append(_row(e))
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
