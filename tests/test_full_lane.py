"""A fully equipped lane end to end: registrations and orders at central, weighbridge on a serial
line, e-plate and IC card readers, plate and container cameras, a control order issued now."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from stack_helpers import drive_held_truck, emergency_control_order

from kakou.demo import DemoPorts, authorize, issue_release_order, start_stack, stop_stack
from kakou.netutil import free_port
from kakou.sim.render import encode_jpeg, render_container_scene, render_plate_scene
from kakou.sim.scenario import Truck, TruckResult, drive_truck
from kakou.waiting import eventually

PLATE, TAG, CARD = "粤B12345", "E28011606000020512345678", "04A1B2C3D4E5F6"
BOX_OK, BOX_WATCHED = "CSQU3054383", "MSKU1234565"


@pytest.fixture
async def stack(tmp_path: Path):
    stack, tasks = await start_stack(tmp_path, DemoPorts(mqtt=free_port(), central=0, edge=0), full_lane=True)
    yield stack
    await stop_stack(stack, tasks)


def truck(box: str, gross: float, seed: int) -> Truck:
    return Truck(
        plate_jpeg=encode_jpeg(render_plate_scene(PLATE, kind="blue", seed=seed)),
        container_jpeg=encode_jpeg(render_container_scene(box, seed=seed)),
        gross_kg=gross,
        rfid_tag=TAG,
        ic_card=CARD,
    )


async def _pass_count(http: httpx.AsyncClient) -> int:
    return (await http.get("/api/v1/passes")).json()["total"]


async def _registered_truck_with_orders(stack, http: httpx.AsyncClient, boxes: dict[str, str], **order: object) -> int:
    """PLATE's vehicle and driver registered, and a release order per (order_no, container) in
    `boxes` with the `order` fields; returns the knowledge version of the last order."""
    now = datetime.now(UTC)
    await authorize(stack, http)
    for kind, data in (
        ("vehicle", {"plate": PLATE, "e_plate": TAG, "tare_kg": 15_000}),
        ("driver", {"driver_id": "D001", "ic_card": CARD, "name": "李四"}),
    ):
        r = await http.put(f"/api/v1/registrations/{kind}", json=data)
        assert r.status_code == 200, r.text
    for no, box in boxes.items():
        r = await issue_release_order(
            stack,
            http,
            {
                "order_no": no,
                "plate": PLATE,
                "containers": [box],
                "direction": "in",
                "valid_from": (now - timedelta(hours=1)).isoformat(),
                "valid_until": (now + timedelta(hours=2)).isoformat(),
                **order,
            },
        )
        assert r.status_code == 200, r.text
    return r.json()["version"]


async def test_registered_truck_with_matching_weight_is_released_then_control_order_stops_the_next(stack) -> None:
    async with httpx.AsyncClient(base_url=stack.central.url, timeout=10) as http:
        version = await _registered_truck_with_orders(
            stack, http, {"HF1": BOX_OK, "HF2": BOX_WATCHED}, declared_gross_kg=30_000
        )
        await eventually(lambda: stack.edge.store.knowledge_version >= version, 15, what="orders at the lane")

        assert await drive_truck(stack.sims, truck=truck(BOX_OK, 30_250, seed=1)) is TruckResult.PASSED
        await eventually(lambda: _pass_count(http), 20, what="the first pass at central")
        rec = (await http.get("/api/v1/passes")).json()["items"][0]["record"]
        assert rec["outcome"] == "release" and rec["release_order"] == "HF1"
        assert rec["containers"] == [BOX_OK] and rec["gross_kg"] == pytest.approx(30_250, abs=50)
        assert rec["e_plate"] == PLATE and rec["ic_card"] == CARD
        # The frames follow the pass on their own path and are served by central under their hash.
        assert len(rec["images"]) == 2  # plate and container

        async def image_at_central() -> bool:
            return (await http.get(f"/api/v1/images/{rec['images'][1]}")).status_code == 200

        await eventually(image_at_central, 20, what="the container frame at central")
        checks = {c["name"]: c["ok"] for c in rec["checks"]}
        assert checks | {"weight": True, "e_plate": True, "driver": True, "control": True} == checks
        # The driver's LED sign said what to do, in Chinese (GB2312), with the plate.
        sign = stack.sims.display
        assert (await sign.wait_shown("请减速 依次驶入")).color == "green"  # approach
        await sign.wait_shown("请停车 稍候")  # reading
        go = await sign.wait_shown("放行 请通行")
        assert go.line == 1 and go.color == "green" and go.encoding == "gb2312"
        plate_line = sign.history[sign.history.index(go) - 1]
        assert (plate_line.text, plate_line.line) == (PLATE, 0)

        # A central officer stops one container now: an emergency order acts before review.
        latest = await emergency_control_order(http, "container", BOX_WATCHED, "inspect", "tip-off: undeclared goods")
        await eventually(lambda: stack.edge.store.knowledge_version >= latest, 15, what="the control order")

        raised_before = len(stack.sims.io.events)
        result = await drive_held_truck(stack, truck=truck(BOX_WATCHED, 30_100, seed=2))
        assert result is TruckResult.TURNED_AWAY
        assert len(stack.sims.io.events) == raised_before  # the barrier did not move
        await eventually(lambda: _gt(_pass_count(http), 1), 20, what="the second pass at central")
        rec = (await http.get("/api/v1/passes")).json()["items"][0]["record"]
        assert rec["outcome"] == "inspection" and rec["containers"] == [BOX_WATCHED]
        assert any(r["code"] == "control_order_hit" and "tip-off" in r["params"]["note"] for r in rec["reasons"])
        assert (await stack.sims.display.wait_shown("请驶往查验区")).color == "yellow"

        # Central raises the control-order hit for field staff on its own, from the stored pass.
        async def hit_alerts() -> list[dict]:
            return (await http.get("/api/v1/alerts", params={"kind": "control_hit"})).json()["items"]

        (alert,) = await eventually(hit_alerts, 20, what="the control-order hit alert at central")
        assert BOX_WATCHED in alert["subject"] + alert["message"]


async def _gt(value, floor: int) -> bool:
    return await value > floor


async def test_weighbridge_lost_mid_pass_holds_the_truck_with_the_reason(stack) -> None:
    lane = stack.edge.lanes["L1"]
    lane.cfg.weigh_timeout_s = 3.0  # the site's setting; short so the test is quick
    async with httpx.AsyncClient(base_url=stack.central.url, timeout=10) as http:
        await authorize(stack, http)
        now = datetime.now(UTC)
        r = await issue_release_order(
            stack,
            http,
            {
                "order_no": "HF9",
                "plate": PLATE,
                "containers": [BOX_OK],
                "direction": "in",
                "valid_from": (now - timedelta(hours=1)).isoformat(),
                "valid_until": (now + timedelta(hours=2)).isoformat(),
            },
        )
        await eventually(lambda: stack.edge.store.knowledge_version >= r.json()["version"], 15, what="the order")
        stack.sims.weighbridge.disconnect()  # the indicator's cable is pulled as the truck rolls on
        result = await drive_held_truck(stack, truck=truck(BOX_OK, 30_000, seed=3))
        assert result is TruckResult.TURNED_AWAY and stack.sims.io.events == [], (lane.state, lane.state_reason)
        await eventually(lambda: _pass_count(http), 20, what=f"the pass at central ({lane.state.value})")
        rec = (await http.get("/api/v1/passes")).json()["items"][0]["record"]
        assert rec["outcome"] == "officer"
        assert any(
            r["code"] == "device_fault" and r["params"]["fault"].startswith("weight not stable within 3s")
            for r in rec["reasons"]
        ), rec["reasons"]
        stop = await stack.sims.display.wait_shown("请停车 等候关员处理")  # stop: see the officer
        assert stop.color == "red"


async def test_two_containers_on_one_chassis_under_two_orders_are_read_and_released(stack) -> None:
    # The container camera sees both 20' containers; each travels under its own release order.
    box_a, box_b = "MSKU1234565", "TGHU8832010"
    async with httpx.AsyncClient(base_url=stack.central.url, timeout=10) as http:
        version = await _registered_truck_with_orders(stack, http, {"HF-A": box_a, "HF-B": box_b})
        await eventually(lambda: stack.edge.store.knowledge_version >= version, 15, what="orders")
        two = Truck(
            plate_jpeg=encode_jpeg(render_plate_scene(PLATE, kind="blue", seed=4)),
            container_jpeg=encode_jpeg(render_container_scene(box_a, seed=None, beside=box_b)),
            gross_kg=30_000,
            rfid_tag=TAG,
            ic_card=CARD,
        )
        assert await drive_truck(stack.sims, truck=two) is TruckResult.PASSED
        await eventually(lambda: _pass_count(http), 20, what="the pass at central")
        rec = (await http.get("/api/v1/passes")).json()["items"][0]["record"]
        assert rec["outcome"] == "release"
        assert sorted(rec["containers"]) == [box_a, box_b]
        assert sorted(rec["release_orders"]) == ["HF-A", "HF-B"]
