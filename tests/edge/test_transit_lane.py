"""A transit truck at its destination lane, end to end: central declares the transit, it reaches the
lane over the real broker, the e-seal reader (simulator on a real pty) hears the seal, the lane
decides, and central closes the transit from the pass, or alerts when the lane held the truck."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from edge_helpers import drive_off

from kakou.central import registry, transit
from kakou.central.transit import TransitIn
from kakou.demo import DemoPorts, authorize, start_stack, stop_stack
from kakou.edge.lane import LaneState
from kakou.netutil import free_port
from kakou.protocols.eseal import EsealReaderConfig, EsealReaderDriver
from kakou.protocols.serial_link import Backoff, SerialSettings
from kakou.sim.eseal_sim import EsealReaderSim
from kakou.sim.render import encode_jpeg, render_plate_scene
from kakou.sync.checks import CheckCode
from kakou.waiting import eventually

PLATE = "苏E88888"
SEAL = "CNSZ-ES0012345"


@pytest.fixture
async def stack(tmp_path: Path):
    stack, tasks = await start_stack(tmp_path, DemoPorts(mqtt=free_port(), central=0, edge=0))
    try:
        await _fit_seal_reader(stack, tmp_path)
        yield stack
    finally:
        await stop_stack(stack, tasks)


async def _fit_seal_reader(stack, tmp_path: Path) -> None:
    # The demo lane has no e-seal reader: fit one as `[lanes.e_seal]` in the node's config does
    # (node.py), before the node's tasks first run and open their devices.
    sim = EsealReaderSim(heartbeat_s=0.2, link_dir=tmp_path)
    driver = EsealReaderDriver(
        EsealReaderConfig(serial=SerialSettings(port=sim.path), backoff=Backoff(initial_s=0.05, max_s=0.5))
    )
    stack.edge.lanes["L1"].dev.e_seal = driver
    stack.edge._devices.append(driver)
    # The lane is registered at the destination site, so its node follows that site's stream.
    registry.upsert(stack.central.central, "admin", "site", {"code": "gate1", "name": "gate 1"})
    registry.upsert(
        stack.central.central,
        "admin",
        "lane",
        {"node": stack.edge.id, "lane": "L1", "site": "gate1", "direction": "in"},
    )
    # The first transit is declared before the node starts: its first sync answer names the site
    # stream, which it then follows live (a node learns a new site on its next sync request).
    transit.declare(
        stack.central.central,
        "alice",
        TransitIn(
            transit_no="ZG100", plate=PLATE, entry_site="ENTRY", destination_site="gate1", e_seal=SEAL, time_limit_h=6
        ),
    )
    await sim.__aenter__()
    stack.sims.e_seal = sim  # stopped with the other simulators


async def _arrive(
    stack,
    seal: str,
    status: str = "intact",
    seed: int = 1,
    seal_late: bool = False,
) -> None:
    if not seal_late:
        stack.sims.e_seal.present_seal(seal, status=status)  # heard on the approach
    stack.sims.plate_camera.show(encode_jpeg(render_plate_scene(PLATE, kind="blue", seed=seed)))
    stack.sims.io.set_loop("before", True)
    if seal_late:  # heard only once the truck stands at the barrier: the lane waits for it (id_wait_s)
        stack.sims.e_seal.present_seal(seal, status=status)


async def test_a_transit_truck_is_checked_released_and_closed_or_held_on_a_wrong_seal(stack) -> None:
    lane = stack.edge.lanes["L1"]
    async with httpx.AsyncClient(base_url=stack.central.url, timeout=10) as central:
        await authorize(stack, central)
        r = await central.post(
            "/api/v1/transits",
            json={  # another truck's: never this one's
                "transit_no": "ZG101",
                "plate": "苏E00001",
                "entry_site": "ENTRY",
                "destination_site": "gate1",
                "e_seal": "CNSZ-ES0000001",
                "time_limit_h": 6,
            },
        )
        assert r.status_code == 201, r.text
        await eventually(lambda: lane.records.transits_for(PLATE), 20, what="the transit in the lane's cache")
        await lane.dev.e_seal.status.wait_for("online", 10)

        await _arrive(stack, SEAL, seal_late=True)
        await eventually(
            lambda: lane.state is LaneState.RELEASED or lane.state is LaneState.CLEARING,
            30,
            what="the lane to release the transit truck",
        )
        record = lane.last_pass
        assert record.transit_no == "ZG100" and record.outcome.value == "release"
        assert {c.code for c in record.checks} >= {CheckCode.E_SEAL_READ, CheckCode.TRANSIT_ARRIVED}
        await drive_off(stack)

        async def closed() -> bool:
            r = await central.get("/api/v1/transits/ZG100")
            return r.json()["status"] == "closed" and r.json()["close_pass"] == record.pass_id

        await eventually(closed, 30, what="central to close the transit")
        await eventually(lambda: not lane.records.transits_for(PLATE), 20, what="the closed transit withdrawn")
        assert (await central.get("/api/v1/alerts")).json()["items"] == []

        # The same truck on its next transit carries another seal: held, the barrier never opens.
        r = await central.post(
            "/api/v1/transits",
            json={
                "transit_no": "ZG102",
                "plate": PLATE,
                "entry_site": "ENTRY",
                "destination_site": "gate1",
                "e_seal": SEAL,
                "time_limit_h": 6,
            },
        )
        assert r.status_code == 201, r.text
        await eventually(lambda: lane.records.transits_for(PLATE), 20, what="the second transit in the cache")
        events = len(stack.sims.io.events)
        await _arrive(stack, "CNSZ-ES0099999", seed=2)
        await eventually(lambda: lane.state is LaneState.HELD, 30, what="the lane to hold the truck")
        assert len(stack.sims.io.events) == events  # the barrier never moved
        assert [r.code for r in lane.current.decision.reasons] == [CheckCode.TRANSIT_SEAL_MISMATCH]
        assert "电子关锁不符" in lane.state_reason

        async def seal_alert() -> list[dict]:
            items = (await central.get("/api/v1/alerts", params={"kind": "transit_seal"})).json()["items"]
            return [a for a in items if "ZG102" in a["message"]]

        (alert,) = await eventually(seal_alert, 30, what="central's seal alert")
        assert "读到 CNSZ-ES0099999" in alert["message"]
        assert (await central.get("/api/v1/transits/ZG102")).json()["status"] == "declared"
