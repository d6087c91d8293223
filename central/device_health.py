"""Device health per device, kind, lane and site, from the state changes the lanes report.

A device is *down* while its last reported state is `fault` or `offline` (kakou.sync.devices.DOWN).
An *episode* is one stretch down: it starts when a device that was up (or never reported) reports
a down state, and ends at the next `ok` (the repair). Over a window [since, until]:

- faults: episodes that started in the window; faults per day = faults / window length in days;
- mean time to repair (MTTR): mean length of the episodes that ended (were repaired) in the window;
- downtime: the part of the window the device was down; availability = 1 − downtime / window.

State changes are few (a flaky camera a few dozen a day), so the episodes are walked in Python.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime, timedelta
from typing import Any

from pydantic import BaseModel
from sqlalchemy import and_, func, or_, select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from kakou.central import alerts, audit
from kakou.central.alert_texts import AlertCode, AlertText
from kakou.central.service import Central
from kakou.central.tables import DeviceEventRow, RegistrationRow
from kakou.sync.devices import DOWN, KIND_LABELS, STATE_LABELS, DeviceReport

DEFAULT_WINDOW = timedelta(days=7)


def record(c: Central, report: DeviceReport) -> int:
    """Store a lane's report; a state already stored (MQTT redelivery) is skipped. Returns how many
    were new."""
    rows = [{"node": report.node, **s.model_dump()} for s in report.states]
    with c.sessions.begin() as s:
        dialect = s.get_bind().dialect.name
        insert = pg_insert if dialect == "postgresql" else sqlite_insert
        stmt = insert(DeviceEventRow.__table__).on_conflict_do_nothing().returning(DeviceEventRow.__table__.c.id)
        return len(list(s.scalars(stmt, [{**r, "received_at": datetime.now(UTC)} for r in rows])))


class DeviceHealth(BaseModel):
    node: str
    lane: str  # the lane id on its node
    site: str | None  # from the lane's registration
    device: str
    kind: str
    kind_label: str  # 中文
    state: str  # ok / fault / offline / unknown (nothing reported)
    state_label: str
    since: datetime | None  # in this state since (the start of the episode when down)
    code: str  # the fault's code, when down
    detail: str
    faults: int
    faults_per_day: float | None
    mttr_s: float | None  # mean time to repair, seconds
    downtime_s: float
    availability: float | None


class KindHealth(BaseModel):
    """One device kind at one lane or site."""

    kind: str
    kind_label: str
    devices: int
    down_now: int
    faults: int
    faults_per_day: float | None
    mttr_s: float | None
    availability: float | None


class PlaceHealth(BaseModel):
    place: str  # node/lane, or the site code ("" for lanes with no site registered)
    devices: list[DeviceHealth] = []
    kinds: list[KindHealth]


class HealthReport(BaseModel):
    since: datetime
    until: datetime
    down_alert_after_s: float
    lanes: list[PlaceHealth]
    sites: list[PlaceHealth]


def _lane_sites(s: Any) -> dict[tuple[str, str], str]:
    rows = s.scalars(select(RegistrationRow).where(RegistrationRow.kind == "lane", RegistrationRow.deleted.is_(False)))
    return {(r.data["node"], r.data["lane"]): r.data.get("site") for r in rows}


def _device(
    key: tuple[str, str, str], events: list[DeviceEventRow], since: datetime, until: datetime, site: str | None
) -> DeviceHealth:
    node, lane, device = key
    state, start, last = "unknown", None, None
    faults, repairs, down = 0, [], 0.0
    for e in events:  # ordered by time, all up to `until`
        was_down = state in DOWN
        if e.state in DOWN and not was_down:
            start = e.at
            if e.at >= since:
                faults += 1
        elif e.state not in DOWN and was_down and start is not None:
            if e.at >= since:
                repairs.append((e.at - start).total_seconds())
            down += _overlap(start, e.at, since, until)
            start = e.at  # up again since the repair
        elif e.state not in DOWN and state == "unknown":
            start = e.at  # up since its first report
        # fault → offline, or ok → ok: the same stretch goes on
        state, last = e.state, e
    if state in DOWN and start is not None:
        down += _overlap(start, until, since, until)
    span = (until - since).total_seconds()
    kind = events[-1].kind if events else ""
    return DeviceHealth(
        node=node,
        lane=lane,
        site=site,
        device=device,
        kind=kind,
        kind_label=KIND_LABELS.get(kind, (kind, kind))[0],
        state=state,
        state_label=STATE_LABELS[state][0],
        since=start,
        code=last.code if last is not None and state in DOWN else "",
        detail=last.detail if last is not None and state in DOWN else "",
        faults=faults,
        faults_per_day=round(faults / (span / 86400), 3) if span > 0 else None,
        mttr_s=round(sum(repairs) / len(repairs), 1) if repairs else None,
        downtime_s=round(down, 1),
        availability=round(1 - down / span, 4) if span > 0 else None,
    )


def _overlap(a: datetime, b: datetime, since: datetime, until: datetime) -> float:
    return max(0.0, (min(b, until) - max(a, since)).total_seconds())


def _kinds(devices: list[DeviceHealth], span_s: float) -> list[KindHealth]:
    by_kind: dict[str, list[DeviceHealth]] = defaultdict(list)
    for d in devices:
        by_kind[d.kind].append(d)
    out = []
    for kind, ds in sorted(by_kind.items()):
        faults = sum(d.faults for d in ds)
        # MTTR over every repair of the kind: weight each device's mean by its repairs.
        repaired = [(d.mttr_s, d.faults) for d in ds if d.mttr_s is not None]
        weight = sum(max(n, 1) for _, n in repaired)
        mttr = round(sum(m * max(n, 1) for m, n in repaired) / weight, 1) if repaired else None
        down = sum(d.downtime_s for d in ds)
        out.append(
            KindHealth(
                kind=kind,
                kind_label=KIND_LABELS.get(kind, (kind, kind))[0],
                devices=len(ds),
                down_now=sum(d.state in DOWN for d in ds),
                faults=faults,
                faults_per_day=round(faults / (span_s / 86400), 3) if span_s > 0 else None,
                mttr_s=mttr,
                availability=round(1 - down / (span_s * len(ds)), 4) if span_s > 0 else None,
            )
        )
    return out


def _window(since: datetime | None, until: datetime | None) -> tuple[datetime, datetime]:
    """The window, aware (a time given without an offset is taken as UTC)."""
    until = until or datetime.now(UTC)
    until = until if until.tzinfo else until.replace(tzinfo=UTC)
    since = since or until - DEFAULT_WINDOW
    return (since if since.tzinfo else since.replace(tzinfo=UTC)), until


def _events(s: Any, since: datetime, until: datetime) -> list[DeviceEventRow]:
    """The window's events, and before it only what the state at `since` needs: from each
    device's last `ok` before the window on (its ongoing episode, if down), not the whole history."""
    e = DeviceEventRow
    keys = (e.node, e.lane, e.device)
    last_ok = (
        select(*keys, func.max(e.at).label("ok_at")).where(e.at < since, e.state == "ok").group_by(*keys).subquery()
    )
    before = (
        select(e)
        .outerjoin(last_ok, and_(last_ok.c.node == e.node, last_ok.c.lane == e.lane, last_ok.c.device == e.device))
        .where(e.at < since, or_(last_ok.c.ok_at.is_(None), e.at >= last_ok.c.ok_at))
    )
    window = select(e).where(e.at >= since, e.at <= until)
    rows = list(s.scalars(before)) + list(s.scalars(window))
    return sorted(rows, key=lambda r: (r.at, r.id))


def devices(c: Central, since: datetime | None = None, until: datetime | None = None) -> list[DeviceHealth]:
    since, until = _window(since, until)
    with c.read() as s:
        events = _events(s, since, until)
        sites = _lane_sites(s)
    per: dict[tuple[str, str, str], list[DeviceEventRow]] = defaultdict(list)
    for e in events:
        per[(e.node, e.lane, e.device)].append(e)
    return [_device(k, evs, since, until, sites.get(k[:2])) for k, evs in sorted(per.items())]


def report(c: Central, since: datetime | None = None, until: datetime | None = None) -> HealthReport:
    """Every device, and the figures per kind for each lane and each site."""
    since, until = _window(since, until)
    span = (until - since).total_seconds()
    ds = devices(c, since, until)
    lanes: dict[str, list[DeviceHealth]] = defaultdict(list)
    sites: dict[str, list[DeviceHealth]] = defaultdict(list)
    for d in ds:
        lanes[f"{d.node}/{d.lane}"].append(d)
        sites[d.site or ""].append(d)
    return HealthReport(
        since=since,
        until=until,
        down_alert_after_s=c.device_down_alert_after.total_seconds(),
        lanes=[PlaceHealth(place=k, devices=v, kinds=_kinds(v, span)) for k, v in sorted(lanes.items())],
        sites=[PlaceHealth(place=k, kinds=_kinds(v, span)) for k, v in sorted(sites.items())],
    )


def check_down(c: Central, now: datetime | None = None) -> int:
    """Raise one alert per device episode that has lasted longer than `c.device_down_alert_after`
    (the housekeeper calls this every round). Returns how many alerts were raised."""
    now = now or datetime.now(UTC)
    after = c.device_down_alert_after
    late = [
        d
        for d in devices(c, now - timedelta(seconds=1), now)
        if d.state in DOWN and d.since is not None and now - d.since > after
    ]
    if not late:
        return 0
    raised = 0
    with audit.write(c, "system") as w:
        for d in late:
            lane = f"{d.node}/{d.lane}"
            minutes = int((now - d.since).total_seconds() // 60) if d.since else 0
            kind_zh, kind_en = KIND_LABELS.get(d.kind, (d.kind, d.kind))
            state_zh, state_en = STATE_LABELS[d.state]
            text = AlertText(
                code=AlertCode.DEVICE_DOWN,
                params={
                    "lane": lane,
                    "kind_zh": kind_zh,
                    "kind_en": kind_en,
                    "device": d.device,
                    "state_zh": state_zh,
                    "state_en": state_en,
                    "minutes": minutes,
                    "limit_min": int(after.total_seconds() // 60),
                },
            )
            key = f"device_down:{lane}:{d.device}:{d.since.isoformat() if d.since else ''}"
            raised += alerts.raise_alert(w, "device_fault", lane, text, key) is not None
    return raised
