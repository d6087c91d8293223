"""Vehicles en route on a transit (转关): their terminals' positions, and the alerts they raise.

A vehicle terminal (车载终端) publishes `VehiclePosition` on topics.up(terminal, POSITION). Central
takes the vehicle from the terminal's registration (`terminal` on the vehicle), never from the
message, keeps the latest position of each open transit of that vehicle, and raises:

- `route_deviation` when the position is farther than the parameter library's `route_corridor_m`
  from the transit's declared route (one alert per excursion: back inside the corridor ends it);
- `vehicle_stopped` when the vehicle has stood within STOP_RADIUS_M of one spot for longer than
  `stop_limit_min` (one alert per stop).

A message from a terminal no vehicle is registered with is refused with the reason (the bridge
counts it), never stored; one of a vehicle on no open transit is not kept (nothing to follow).
Out-of-order fixes are ignored.
"""

from __future__ import annotations

import itertools
import math
from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from kakou.central import alerts, audit
from kakou.central.alert_texts import AlertCode, AlertText
from kakou.central.db import aware
from kakou.central.risk import parameters_for
from kakou.central.service import Central
from kakou.central.tables import RegistrationRow, TransitRow, VehiclePositionRow
from kakou.sync.messages import VehiclePosition

STOP_RADIUS_M = 50.0  # GPS wander of a truck standing still
CLOCK_SKEW = timedelta(minutes=5)  # a fix further in the future than this is the terminal's clock, not a fix
EARTH_M = 6_371_000.0


class Refused(ValueError):
    """The message is well-formed but not one central accepts (the reason is the text)."""


def distance_m(a: tuple[float, float], b: tuple[float, float]) -> float:
    """Great-circle distance (haversine) between two (lat, lon) points."""
    la1, lo1, la2, lo2 = map(math.radians, (*a, *b))
    h = math.sin((la2 - la1) / 2) ** 2 + math.cos(la1) * math.cos(la2) * math.sin((lo2 - lo1) / 2) ** 2
    return 2 * EARTH_M * math.asin(min(1.0, math.sqrt(h)))


def off_route_m(p: tuple[float, float], route: list[tuple[float, float]]) -> float:
    """Distance from `p` to the polyline `route`: per segment on a local flat projection around `p`
    (exact enough within a corridor of kilometres), the nearest segment wins."""
    cos = math.cos(math.radians(p[0]))

    def xy(q: tuple[float, float]) -> tuple[float, float]:
        return (math.radians(q[1] - p[1]) * cos * EARTH_M, math.radians(q[0] - p[0]) * EARTH_M)

    best = math.inf
    pts = [xy(q) for q in route]
    for (ax, ay), (bx, by) in itertools.pairwise(pts):
        dx, dy = bx - ax, by - ay
        seg = dx * dx + dy * dy
        t = 0.0 if seg == 0 else max(0.0, min(1.0, -(ax * dx + ay * dy) / seg))
        best = min(best, math.hypot(ax + t * dx, ay + t * dy))
    return best


def receive(c: Central, terminal: str | None, payload: bytes, now: datetime | None = None) -> list[str]:
    """Validate and apply one position message from the terminal whose topic it came on; returns
    the transits it updated. ValidationError (malformed, out of range) or Refused otherwise."""
    msg = VehiclePosition.model_validate_json(payload)
    if msg.terminal != terminal:
        raise Refused(f"terminal mismatch: the topic is {terminal!r}, the message says {msg.terminal!r}")
    now = now or datetime.now(UTC)
    if aware(msg.at) > now + CLOCK_SKEW:
        raise Refused(f"fix time {msg.at.isoformat()} is in the future")
    with audit.write(c, f"terminal:{msg.terminal}") as w:
        plate = w.session.scalar(
            select(RegistrationRow.key).where(
                RegistrationRow.kind == "vehicle",
                RegistrationRow.deleted.is_(False),
                RegistrationRow.data["terminal"].as_string() == msg.terminal,
            )
        )
        if plate is None:
            raise Refused(f"unknown terminal {msg.terminal!r}: no vehicle is registered with it")
        transits = list(
            w.session.scalars(
                select(TransitRow).where(TransitRow.plate == plate, TransitRow.status.in_(("en_route", "overdue")))
            )
        )
        if not transits:
            return []  # a registered vehicle between transits: nothing to follow, nothing wrong
        params = parameters_for(c)
        for t in transits:
            _apply(w, t, plate, msg, params.route_corridor_m, params.stop_limit_min)
    return [t.transit_no for t in transits]


def _apply(
    w: audit.Work, t: TransitRow, plate: str, msg: VehiclePosition, corridor_m: float, stop_limit_min: float
) -> None:
    row = w.session.get(VehiclePositionRow, t.transit_no)
    at, here = aware(msg.at), (msg.lat, msg.lon)
    if row is None:
        row = VehiclePositionRow(
            transit_no=t.transit_no, terminal=msg.terminal, plate=plate, at=at, lat=msg.lat, lon=msg.lon
        )
        w.session.add(row)
    elif aware(row.at) >= at:
        return  # an older fix delivered late: the latest stays
    row.terminal, row.at, row.lat, row.lon, row.speed_kmh = msg.terminal, at, msg.lat, msg.lon, msg.speed_kmh
    row.received_at = datetime.now(UTC)
    where = f"{msg.lat:.5f}, {msg.lon:.5f}"

    if t.route:
        row.off_route_m = round(off_route_m(here, [(p[0], p[1]) for p in t.route]), 1)
        if row.off_route_m <= corridor_m:
            row.off_route_since = None
        elif row.off_route_since is None:
            row.off_route_since = at
            text = AlertText(
                code=AlertCode.ROUTE_DEVIATION,
                params={
                    "transit_no": t.transit_no,
                    "plate": plate,
                    "off_m": row.off_route_m,
                    "corridor_m": corridor_m,
                    "where": where,
                },
            )
            alerts.raise_alert(
                w, "route_deviation", plate, text, f"route_deviation:{t.transit_no}:{at.isoformat()}", t.transit_no
            )

    anchor = (row.stop_lat, row.stop_lon)
    if anchor[0] is None or anchor[1] is None or distance_m(here, (anchor[0], anchor[1])) > STOP_RADIUS_M:
        row.stop_lat, row.stop_lon, row.stopped_since = msg.lat, msg.lon, at  # moving: a new spot
        return
    since = aware(row.stopped_since or at)
    stood = at - since
    if stood > timedelta(minutes=stop_limit_min):
        text = AlertText(
            code=AlertCode.VEHICLE_STOPPED,
            params={
                "transit_no": t.transit_no,
                "plate": plate,
                "minutes": stood.total_seconds() / 60,
                "limit_min": stop_limit_min,
                "where": where,
            },
        )
        alerts.raise_alert(
            w, "vehicle_stopped", plate, text, f"vehicle_stopped:{t.transit_no}:{since.isoformat()}", t.transit_no
        )


def latest(c: Central, transit_no: str | None = None) -> list[VehiclePositionRow]:
    """The latest position of each vehicle on an open transit (or of one transit)."""
    with c.sessions() as s:
        q = select(VehiclePositionRow).join(TransitRow, TransitRow.transit_no == VehiclePositionRow.transit_no)
        q = (
            q.where(TransitRow.transit_no == transit_no)
            if transit_no
            else q.where(TransitRow.status.in_(("en_route", "overdue")))
        )
        return list(s.scalars(q.order_by(VehiclePositionRow.transit_no)))
