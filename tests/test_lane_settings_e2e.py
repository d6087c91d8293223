"""A lane's settings changed at central reach the lane over the signed downlink (its node's
stream) and change what it decides: real Mosquitto, Modbus barrier, HTTP camera and OCR."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from stack_helpers import drive_held_truck

from kakou.demo import DemoPorts, authorize, demo_order, issue_release_order, start_stack, stop_stack
from kakou.netutil import free_port
from kakou.sim.render import encode_jpeg, render_plate_scene
from kakou.sim.scenario import TruckResult, drive_truck
from kakou.waiting import eventually

PLATE = "粤B12345"


@pytest.fixture
async def stack(tmp_path: Path):
    stack, tasks = await start_stack(tmp_path, DemoPorts(mqtt=free_port(), central=0, edge=0))
    yield stack
    await stop_stack(stack, tasks)


async def _passes(http: httpx.AsyncClient) -> list[dict]:
    return (await http.get("/api/v1/passes")).json()["items"]


async def _nth_pass(http: httpx.AsyncClient, n: int) -> dict | None:
    items = await _passes(http)
    return items[0]["record"] if len(items) >= n else None  # newest first


async def test_settings_set_at_central_change_what_the_lane_decides(stack) -> None:
    jpeg = encode_jpeg(render_plate_scene(PLATE, kind="blue", seed=3))
    lane = {"node": stack.edge.id, "lane": "L1", "site": "gate1", "direction": "in", "appointment_required": True}
    records = stack.edge.records
    async with httpx.AsyncClient(base_url=stack.central.url, timeout=10) as http:
        await authorize(stack, http)
        assert (await http.put("/api/v1/registrations/site", json={"code": "gate1", "name": "北门"})).status_code == 200
        r = await issue_release_order(stack, http, demo_order(PLATE, "HF0001").model_dump(mode="json"))
        assert r.status_code == 200, r.text
        # Central makes the lane a yard entry that takes trucks by appointment only.
        assert (await http.put("/api/v1/registrations/lane", json=lane)).status_code == 200
        await eventually(
            lambda: records.parameters_for("L1", stack.edge.cfg.parameters).require_appointment,
            15,
            what="the lane's settings at the lane",
        )
        await eventually(lambda: records.knowledge_for(PLATE, None).release_orders, 15, what="the order at the lane")

        assert await drive_held_truck(stack, jpeg) is TruckResult.TURNED_AWAY
        rec = await eventually(lambda: _nth_pass(http, 1), 20, what="the held pass at central")
        assert rec["outcome"] == "officer"
        assert [(f["code"], f["params"]) for f in rec["reasons"]] == [("appointment_missing", {"plate": PLATE})]
        assert stack.sims.io.events == []  # the barrier never moved

        # The truck books an appointment: the same lane now releases it.
        now = datetime.now(UTC)
        r = await http.put(
            "/api/v1/registrations/appointment",
            json={
                "appointment_no": "YY0001",
                "plate": PLATE,
                "valid_from": (now - timedelta(minutes=30)).isoformat(),
                "valid_until": (now + timedelta(hours=2)).isoformat(),
            },
        )
        assert r.status_code == 200, r.text
        await eventually(lambda: records.knowledge_for(PLATE, None).appointments, 15, what="the appointment")
        assert await drive_truck(stack.sims, jpeg) is TruckResult.PASSED
        rec = await eventually(lambda: _nth_pass(http, 2), 20, what="the released pass at central")
        assert rec["outcome"] == "release" and rec["release_order"] == "HF0001"
        assert ("appointment_ok", True) in [(c["code"], c["ok"]) for c in rec["checks"]]

        # Central turns the lane round: an exit lane refuses the entry order.
        assert (await http.put("/api/v1/registrations/lane", json={**lane, "direction": "out"})).status_code == 200
        await eventually(lambda: stack.edge.lanes["L1"].direction == "out", 15, what="the new direction at the lane")
        assert await drive_held_truck(stack, jpeg) is TruckResult.TURNED_AWAY
        rec = await eventually(lambda: _nth_pass(http, 3), 20, what="the third pass at central")
        assert rec["direction"] == "out" and rec["outcome"] == "officer"
        assert [f["code"] for f in rec["reasons"]] == ["release_order_wrong_direction"]

        # Class B from the console's form: the lane reads nothing itself, the officer keys.
        r = await http.put(
            f"/api/v1/registrations/lane/{stack.edge.id}/L1/settings",
            json={"site": "gate1", "direction": "in", "lane_class": "B"},
        )
        assert r.status_code == 200, r.text
        await eventually(lambda: stack.edge.lanes["L1"].lane_class == "B", 15, what="class B at the lane")
        async with httpx.AsyncClient(base_url=stack.edge.url, timeout=10) as edge:
            lane_shown = (await edge.get("/api/v1/status")).json()["lanes"][0]
        assert (lane_shown["direction"], lane_shown["lane_class"]) == ("in", "B")
        assert await drive_held_truck(stack, jpeg) is TruckResult.TURNED_AWAY
        rec = await eventually(lambda: _nth_pass(http, 4), 20, what="the fourth pass at central")
        assert rec["plate"] is None and rec["outcome"] == "officer"
        assert any(f["code"] == "device_fault" and "lane class B" in f["params"]["fault"] for f in rec["reasons"])
        # Only the one release ever moved the barrier.
        assert [e.command for e in stack.sims.io.events] == ["raise", "lower"]
