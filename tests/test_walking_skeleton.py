"""A truck end to end: central → MQTT → edge cache; camera → OCR → decide → Modbus barrier →
pass → MQTT → central. Real Mosquitto, real Modbus TCP, real HTTP camera, real OCR."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from stack_helpers import drive_held_truck, order_at_lane

from kakou.demo import DemoPorts, authorize, demo_order, start_stack, stop_stack
from kakou.netutil import free_port
from kakou.sim.render import encode_jpeg, render_plate_scene
from kakou.sim.scenario import TruckResult, drive_truck
from kakou.waiting import eventually


@pytest.fixture
async def stack(tmp_path: Path):
    stack, tasks = await start_stack(tmp_path, DemoPorts(mqtt=free_port(), central=0, edge=0))
    assert stack.broker.kind == "mosquitto"
    yield stack
    await stop_stack(stack, tasks)


async def _passes(http: httpx.AsyncClient) -> list[dict]:
    return (await http.get("/api/v1/passes")).json()["items"]


async def test_truck_with_release_order_is_released_and_recorded_at_central(stack) -> None:
    async with httpx.AsyncClient(base_url=stack.central.url, timeout=10) as http:
        await authorize(stack, http)
        order = demo_order("粤B12345", "HF0001")
        await order_at_lane(stack, http, order.model_dump(mode="json"), what="the release order in the edge cache")

        result = await drive_truck(stack.sims, encode_jpeg(render_plate_scene("粤B12345", kind="blue", seed=3)))

        assert result is TruckResult.PASSED
        assert [e.command for e in stack.sims.io.events] == ["raise", "lower"]
        assert stack.sims.io.barrier_down
        items = await eventually(lambda: _passes(http), 20, what="the pass at central")
        assert len(items) == 1
        rec = items[0]
        assert (rec["plate"], rec["outcome"], rec["record"]["release_order"]) == ("粤B12345", "release", "HF0001")
        assert rec["node"] == stack.edge.id and rec["seq"] == 1
        await eventually(lambda: stack.edge.store.outbox_counts()["queued"] == 0, 10, what="central's ack")


async def test_truck_without_release_order_is_held_and_barrier_never_rises(stack) -> None:
    async with httpx.AsyncClient(base_url=stack.central.url, timeout=10) as http:
        await authorize(stack, http)
        await eventually(lambda: stack.edge.link.online, 15, what="the edge to connect")
        result = await drive_held_truck(stack, encode_jpeg(render_plate_scene("苏E88888", kind="blue", seed=4)))

        assert result is TruckResult.TURNED_AWAY
        assert stack.sims.io.events == []
        assert not stack.sims.io.coil(stack.sims.io.io_map.coil_barrier_raise)
        items = await eventually(lambda: _passes(http), 20, what="the pass at central")
        assert items[0]["outcome"] == "officer"
        assert items[0]["record"]["reasons"] == [{"code": "release_order_missing", "params": {"plate": "苏E88888"}}]
        assert items[0]["record"]["opens_barrier"] is False
