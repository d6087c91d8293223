"""Vehicles en route on a transit (转关): simulated vehicle terminals publish positions through a real
Mosquitto to central's real bridge; central keeps the latest one, raises route-deviation and
stopped-too-long alerts (Chinese texts), and refuses and counts what it cannot accept."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta

import pytest
from central_helpers import Api, ingest
from sqlalchemy import select

from kakou.broker import MosquittoBroker
from kakou.central import positions, projections, registry, transit
from kakou.central.bridge import CentralBridge
from kakou.central.service import Central
from kakou.central.tables import AlertRow
from kakou.central.transit import TransitIn
from kakou.sim.vehicle_terminal_sim import VehicleTerminalSim, moved
from kakou.sync.mqtt import BrokerConfig
from kakou.waiting import eventually

PLATE = "粤B12345"
START = (22.50, 113.90)
END = moved(START, 20_000, 0)  # the declared route: 20 km due north


def _en_route(central: Central, at: datetime) -> None:
    for code in ("ENTRY", "DEST"):
        registry.upsert(central, "admin", "site", {"code": code, "name": code})
    registry.upsert(central, "admin", "lane", {"node": "a", "lane": "L1", "site": "ENTRY", "direction": "out"})
    registry.upsert(central, "admin", "lane", {"node": "b", "lane": "L1", "site": "DEST", "direction": "in"})
    registry.upsert(central, "admin", "vehicle", {"plate": PLATE, "terminal": "T-0001"})
    transit.declare(
        central,
        "alice",
        TransitIn(
            transit_no="ZG1",
            plate=PLATE,
            entry_site="ENTRY",
            destination_site="DEST",
            time_limit_h=6,
            route=[START, END],
        ),
    )
    ingest(central, 1, PLATE, node="a", at=at)  # leaves the office of entry: the transit is en route
    projections.run_all(central)
    assert transit.get(central, "ZG1").status == "en_route"


def _alerts(central: Central, kind: str) -> list[AlertRow]:
    with central.sessions() as s:
        return list(s.scalars(select(AlertRow).where(AlertRow.kind == kind).order_by(AlertRow.id)))


def _latest(central: Central) -> positions.VehiclePositionRow | None:
    rows = positions.latest(central, "ZG1")
    return rows[0] if rows else None


async def test_route_deviation_and_a_long_stop_raise_one_alert_each(
    api: Api, central: Central, mosquitto: MosquittoBroker, bridge: CentralBridge
) -> None:
    t0 = datetime.now(UTC) - timedelta(hours=3)
    _en_route(central, t0)
    async with VehicleTerminalSim(BrokerConfig(port=mosquitto.port), "T-0001", START, at=t0) as truck:
        fix = await truck.drive(5_000, 300, minutes=5)  # on the road, inside the 2 km corridor
        row = await eventually(lambda: _latest(central), 10, what="the first position stored")
        assert (row.plate, row.lat, row.lon) == (PLATE, fix.lat, fix.lon) and row.off_route_m == pytest.approx(300, 1)

        await truck.drive(1_000, 2_700, minutes=5)  # 3 km east of the route
        (alert,) = await eventually(lambda: _alerts(central, "route_deviation"), 10, what="the deviation alert")
        assert alert.subject == PLATE and alert.severity == "high"
        assert alert.message.startswith(f"转关 ZG1 车辆 {PLATE} 偏离申报路线 3000 米（允许 2000 米），位置 ")
        fix = await truck.drive(1_000, 1_000, minutes=5)  # still off: the same excursion, no new alert
        await eventually(lambda: (r := _latest(central)) is not None and r.lon == fix.lon, 10, what="the next fix")
        assert len(_alerts(central, "route_deviation")) == 1

        await truck.drive(1_000, -3_900, minutes=5)  # back on the road
        await truck.stand(20)  # a break: within the limit
        fix = await truck.stand(20)  # 40 min in one spot: over the 30 min limit
        (stop,) = await eventually(lambda: _alerts(central, "vehicle_stopped"), 10, what="the stop alert")
        assert stop.message.startswith(f"转关 ZG1 车辆 {PLATE} 途中停留 40 分钟（上限 30 分钟），位置 ")
        await truck.stand(10)
        late = await truck.drive(-3_000, 0, minutes=1)  # an older fix delivered late is ignored
        late_at = fix.at - timedelta(minutes=30)
        await truck.send_raw(late.model_copy(update={"at": late_at}).model_dump_json().encode())
        await truck.drive(2_000, 0, minutes=5)
        row = await eventually(
            lambda: (r := _latest(central)) is not None and r.at > late.at and r, 10, what="the newest fix"
        )
        assert row.at.replace(tzinfo=UTC) == truck.at and row.off_route_m == pytest.approx(100, abs=1)
        assert len(_alerts(central, "vehicle_stopped")) == 1  # the one stop, alerted once
        assert len(_alerts(central, "route_deviation")) == 1
    (seen,) = (await asyncio.to_thread(api("alice").get, "/api/v1/transit-positions")).json()
    assert (seen["transit_no"], seen["plate"], seen["terminal"]) == ("ZG1", PLATE, "T-0001")
    assert seen["lat"] == row.lat and seen["off_route_m"] == row.off_route_m and seen["off_route_since"] is None


async def test_unknown_terminals_and_impossible_positions_are_refused_and_counted(
    central: Central, mosquitto: MosquittoBroker, bridge: CentralBridge
) -> None:
    t0 = datetime.now(UTC) - timedelta(hours=1)
    _en_route(central, t0)
    cfg = BrokerConfig(port=mosquitto.port)
    async with (
        VehicleTerminalSim(cfg, "T-9999", START, at=t0) as stranger,
        VehicleTerminalSim(cfg, "T-0001", START, at=t0) as truck,
    ):
        await stranger.drive(100, 0, minutes=1)  # no vehicle is registered with this terminal
        good = {"terminal": "T-0001", "at": (t0 + timedelta(minutes=1)).isoformat(), "lat": START[0], "lon": START[1]}
        for bad in (
            {**good, "lat": 95.0},
            {**good, "lon": -181},
            {**good, "speed_kmh": 1e9},
            {**good, "terminal": "T-0002"},
            {**good, "at": "2099-01-01T00:00:00Z"},
        ):
            await truck.send_raw(json.dumps(bad).encode())
        await truck.send_raw(b"\x00\xff not json at all")
        await truck.send_raw(b"{" * 50_000)
        fix = await truck.drive(200, 0, minutes=2)  # and the truck's next good fix is still taken
        row = await eventually(
            lambda: (r := _latest(central)) is not None and r.lat == fix.lat and r,
            10,
            what="the good fix after the bad ones",
        )
        assert row.terminal == "T-0001"
    assert bridge.rejected["position refused"] == 3  # unknown terminal, another terminal's id, a future fix
    assert bridge.rejected["malformed"] == 5
    assert bridge.rejected_by_node["T-9999"] == 1
    assert len(positions.latest(central)) == 1
    # once the transit is closed, the truck's positions are no longer kept, and are no error
    ingest(central, 2, PLATE, node="b", direction="in", transit_no="ZG1")
    projections.run_all(central)
    assert transit.get(central, "ZG1").status == "closed"
    far = moved(START, 0, 50_000)
    assert positions.receive(central, "T-0001", json.dumps({**good, "lat": far[0], "lon": far[1]}).encode()) == []
    assert positions.latest(central) == []
    assert _alerts(central, "route_deviation") == [] and _alerts(central, "vehicle_stopped") == []


def test_distance_off_a_route() -> None:
    assert positions.off_route_m(moved(START, 10_000, 1_500), [START, END]) == pytest.approx(1_500, rel=1e-3)
    assert positions.off_route_m(moved(START, -400, 300), [START, END]) == pytest.approx(500, rel=1e-3)
    assert positions.distance_m(START, END) == pytest.approx(20_000, rel=1e-3)
