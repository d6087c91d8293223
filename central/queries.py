"""The queries and figures of the gate manuals (seed 004, 查询统计): passes by yard (site), by
document type, combined filters; transit statistics; the intervention record searched by
officer and time (人工干预记录). Every rate by kakou.sync.rates, as the lanes and the console count.

Passes are selected by the database (time window, lanes of a site, plate, outcome) and the rest is
filtered and counted here; a selection is capped at `MAX_ROWS` passes (`truncated` says so).
"""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel
from sqlalchemy import String, and_, cast, false, or_, select

from kakou.central.service import Central
from kakou.central.tables import DeclarationRow, RegistrationRow, ReleaseOrderRow, TransitRow
from kakou.central.tables_sync import PassRow
from kakou.sync import rates
from kakou.sync.checks import SPEC, CheckCode, checks_in

MAX_ROWS = 100_000
GroupBy = Literal["site", "doc_type", "lane", "outcome", "direction", "day"]
DOC_NONE, DOC_ORDER_ONLY = "none", "release_order"  # no release order; an order without declarations


class Filters(BaseModel):
    since: datetime | None = None
    until: datetime | None = None
    site: str | None = None  # 场站/卡口: the lanes registered at it
    lane: str | None = None  # NODE/LANE
    direction: Literal["in", "out"] | None = None
    outcome: Literal["release", "officer", "inspection"] | None = None
    doc_type: str | None = None  # declaration, inventory_list, release_order (order only), none
    doc_no: str | None = None  # a release order number or a declaration's doc number
    plate: str | None = None
    container: str | None = None


class Group(BaseModel):
    key: str
    passes: int
    recognition_rate: float | None
    manual_intervention_rate: float | None
    held_rate: float | None
    inspection_rate: float | None
    hit_rate: float | None
    device_availability: float | None


class PassStats(BaseModel):
    totals: Group
    group_by: str | None
    groups: list[Group]
    truncated: bool


def _aware(t: datetime | None) -> datetime | None:
    return t if t is None or t.tzinfo else t.replace(tzinfo=UTC)


def _lane_sites(s: Any) -> dict[str, str]:
    rows = s.scalars(select(RegistrationRow).where(RegistrationRow.kind == "lane", RegistrationRow.deleted.is_(False)))
    return {f"{r.data['node']}/{r.data['lane']}": r.data.get("site") or "" for r in rows}


def _doc_types(s: Any, orders: set[str]) -> dict[str, tuple[set[str], set[str]]]:
    """Per release order: (its document types, its document numbers)."""
    out: dict[str, tuple[set[str], set[str]]] = {}
    if not orders:
        return out
    rows = list(
        s.execute(
            select(ReleaseOrderRow.order_no, ReleaseOrderRow.declarations).where(ReleaseOrderRow.order_no.in_(orders))
        )
    )
    docs = {d for _no, ds in rows for d in ds or []}
    types = (
        {
            no: t
            for no, t in s.execute(
                select(DeclarationRow.doc_no, DeclarationRow.doc_type).where(
                    DeclarationRow.doc_no.in_(docs), DeclarationRow.deleted.is_(False)
                )
            )
        }
        if docs
        else {}
    )
    for no, ds in rows:
        out[no] = ({types[d] for d in ds or [] if d in types}, set(ds or []))
    return out


def _group(key: str, recs: list[dict[str, Any]], superseded: set[str]) -> Group:
    return Group(key=key, **rates.rates(recs, superseded))


def pass_stats(c: Central, f: Filters, group_by: GroupBy | None = None) -> PassStats:
    since, until = _aware(f.since), _aware(f.until)
    with c.read() as s:
        sites = _lane_sites(s)
        q = select(PassRow.pass_id, PassRow.node, PassRow.lane, PassRow.decided_at, PassRow.record)
        if since:
            q = q.where(PassRow.decided_at >= since)  # follow-ups come later: needed for `superseded`
        if f.site is not None:
            lanes = [k.split("/", 1) for k, site in sites.items() if site == f.site]
            q = q.where(or_(*(and_(PassRow.node == n, PassRow.lane == ln) for n, ln in lanes)) if lanes else false())
        if f.lane:
            node, _, ln = f.lane.partition("/")
            q = q.where(PassRow.node == node, PassRow.lane == ln)
        if f.plate:
            q = q.where(PassRow.plate == f.plate)
        rows = list(s.execute(q.order_by(PassRow.decided_at).limit(MAX_ROWS + 1)))
        truncated = len(rows) > MAX_ROWS
        rows = rows[:MAX_ROWS]
        recs = [
            {
                **(r.record if isinstance(r.record, dict) else {}),
                "pass_id": r.pass_id,
                "node": r.node,
                "lane": r.lane,
                "_at": _aware(r.decided_at),
            }
            for r in rows
        ]
        superseded = {str(x["supersedes"]) for x in recs if x.get("supersedes")}
        chosen = [x for x in recs if until is None or x["_at"] <= until]
        orders = {o for x in chosen for o in _orders(x)}
        docs = _doc_types(s, orders)
    keep = []
    for x in chosen:
        used = _orders(x)
        types: set[str] = set().union(*(docs.get(o, (set(), set()))[0] for o in used)) if used else set()
        x["_doc_types"] = types or ({DOC_ORDER_ONLY} if used else {DOC_NONE})
        nos = set(used).union(*(docs.get(o, (set(), set()))[1] for o in used)) if used else set()
        if not rates.is_pass(x):
            continue  # a follow-up: it counts through `superseded`, for its pass
        if (
            (f.direction and x.get("direction") != f.direction)
            or (f.outcome and x.get("outcome") != f.outcome)
            or (f.container and f.container not in (x.get("containers") or []))
            or (f.doc_type and f.doc_type not in x["_doc_types"])
            or (f.doc_no and f.doc_no not in nos)
        ):
            continue
        keep.append(x)
    groups: dict[str, list[dict[str, Any]]] = defaultdict(list)
    if group_by:
        for x in keep:
            for key in _keys(x, group_by, sites):
                groups[key].append(x)
    return PassStats(
        totals=_group("*", keep, superseded),
        group_by=group_by,
        truncated=truncated,
        groups=[_group(k, v, superseded) for k, v in sorted(groups.items())],
    )


def _orders(x: dict[str, Any]) -> list[str]:
    return list(x.get("release_orders") or ([x["release_order"]] if x.get("release_order") else []))


def _keys(x: dict[str, Any], group_by: str, sites: dict[str, str]) -> list[str]:
    lane = f"{x['node']}/{x['lane']}"
    match group_by:
        case "site":
            return [sites.get(lane) or ""]
        case "doc_type":
            return sorted(x["_doc_types"])
        case "lane":
            return [lane]
        case "day":
            return [x["_at"].strftime("%Y-%m-%d")]
        case _:
            return [str(x.get(group_by) or "")]


# -- the intervention record (人工干预记录) -------------------------------------------------------

OFFICER_CODES = frozenset(code for code, (group, _m) in SPEC.items() if group == "officer") | {CheckCode.PLATE_ENTERED}


class Intervention(BaseModel):
    pass_id: str
    node: str
    lane: str
    at: datetime
    plate: str | None
    outcome: str
    officer: str
    confirmed_by: str | None
    action: str  # the check code of what the officer did
    text: str  # in Chinese
    supersedes: str | None


def interventions(
    c: Central,
    officer: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    lane: str | None = None,
    limit: int = 100,
    offset: int = 0,
) -> tuple[int, list[Intervention]]:
    """What officers did at the lanes (keyed an identity, overrode, passed an inspection, released
    on documents or its backfill, central's disposal), newest first; `officer` matches the officer
    or the second officer who confirmed."""
    since, until = _aware(since), _aware(until)
    with c.read() as s:
        q = select(
            PassRow.pass_id,
            PassRow.node,
            PassRow.lane,
            PassRow.decided_at,
            PassRow.plate,
            PassRow.outcome,
            PassRow.record,
        )
        if since:
            q = q.where(PassRow.decided_at >= since)
        if until:
            q = q.where(PassRow.decided_at <= until)
        if lane:
            node, _, ln = lane.partition("/")
            q = q.where(PassRow.node == node, PassRow.lane == ln)
        if officer:  # the database narrows to records naming them (as stored: maybe \u-escaped); the checks decide
            text = cast(PassRow.record, String)
            q = q.where(or_(text.contains(officer), text.contains(json.dumps(officer)[1:-1])))
        rows = list(s.execute(q.order_by(PassRow.decided_at.desc()).limit(MAX_ROWS)))
    found: list[Intervention] = []
    for r in rows:
        rec = r.record if isinstance(r.record, dict) else {}
        for ch in checks_in(rec):
            if ch.code not in OFFICER_CODES:
                continue
            who, second = str(ch.params.get("officer") or ""), ch.params.get("confirmed_by")
            if officer and officer not in (who, second):
                continue
            found.append(
                Intervention(
                    pass_id=r.pass_id,
                    node=r.node,
                    lane=r.lane,
                    at=_aware(r.decided_at),
                    plate=r.plate,
                    outcome=r.outcome,
                    officer=who,
                    confirmed_by=str(second) if second else None,
                    action=ch.code.value,
                    text=ch.text(),
                    supersedes=rec.get("supersedes"),
                )
            )
    return len(found), found[offset : offset + limit]


# -- transit statistics (转关统计) ----------------------------------------------------------------


class TransitGroup(BaseModel):
    entry_site: str
    destination_site: str
    transits: int
    declared: int  # not yet started
    en_route: int
    overdue: int
    closed_on_time: int
    closed_late: int
    on_time_rate: float | None  # closed on time ÷ closed
    mean_hours: float | None  # of the closed ones
    seal_mismatches: int


def transit_stats(
    c: Central, since: datetime | None = None, until: datetime | None = None, site: str | None = None
) -> list[TransitGroup]:
    """Per (entry, destination): transits started in the window (all, without one), by status."""
    since, until = _aware(since), _aware(until)
    with c.read() as s:
        q = select(TransitRow)
        if since:
            q = q.where(TransitRow.started_at >= since)
        if until:
            q = q.where(TransitRow.started_at <= until)
        if site:
            q = q.where(or_(TransitRow.entry_site == site, TransitRow.destination_site == site))
        rows = list(s.scalars(q))
    acc: dict[tuple[str, str], list[TransitRow]] = defaultdict(list)
    for t in rows:
        acc[(t.entry_site, t.destination_site)].append(t)
    out = []
    for (a, b), ts in sorted(acc.items()):
        statuses = [t.status for t in ts]

        def count(*st: str, statuses: list[str] = statuses) -> int:
            return sum(x in st for x in statuses)

        closed = [t for t in ts if t.status in ("closed", "closed_late") and t.started_at and t.closed_at]
        hours = [(_aware(t.closed_at) - _aware(t.started_at)).total_seconds() / 3600 for t in closed]  # type: ignore[operator]
        out.append(
            TransitGroup(
                entry_site=a,
                destination_site=b,
                transits=len(ts),
                declared=count("declared"),
                en_route=count("en_route"),
                overdue=count("overdue"),
                closed_on_time=count("closed"),
                closed_late=count("closed_late"),
                on_time_rate=rates.ratio(count("closed"), count("closed", "closed_late")),
                mean_hours=round(sum(hours) / len(hours), 2) if hours else None,
                seal_mismatches=sum(t.seal_ok is False for t in ts),
            )
        )
    return out
