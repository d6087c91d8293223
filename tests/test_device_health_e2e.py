"""Device health end to end (issue 18 item 6): a fully equipped lane's devices report their states
through the real broker; central's device health shows each device by kind with its state, and a
camera that stops answering during a pass shows as a fault until it gives frames again."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from stack_helpers import order_at_lane

from kakou.demo import DemoPorts, authorize, demo_order, start_stack, stop_stack
from kakou.edge.camera_view import ViewWatch
from kakou.models.camera_variation import hazy
from kakou.netutil import free_port
from kakou.sim.render import encode_jpeg, render_container_scene, render_plate_scene
from kakou.sim.scenario import Truck, drive_truck
from kakou.waiting import eventually


@pytest.fixture
async def stack(tmp_path: Path):
    stack, tasks = await start_stack(tmp_path, DemoPorts(mqtt=free_port(), central=0, edge=0), full_lane=True)
    yield stack
    await stop_stack(stack, tasks)


async def _devices(http: httpx.AsyncClient) -> dict[str, dict[str, Any]]:
    body = (await http.get("/api/v1/device-health")).json()
    return {d["kind"]: d for lane in body["lanes"] for d in lane["devices"]}


async def test_lane_device_states_reach_central_and_a_camera_fault_shows_until_repaired(stack) -> None:
    async with httpx.AsyncClient(base_url=stack.central.url, timeout=10) as http:
        await authorize(stack, http)
        # The serial drivers come online: each is reported once, as working.
        devs = await eventually(
            lambda: _sub(http, {"weighbridge", "rfid", "ic_card", "display"}), 20, what="the serial devices at central"
        )
        assert devs["weighbridge"]["state_label"] == "正常" and devs["weighbridge"]["kind_label"] == "地磅"
        # The plate camera hangs up on every request during a pass: a fault, with its code.
        stack.sims.plate_camera.hang_up = True
        truck = Truck(
            plate_jpeg=encode_jpeg(render_plate_scene("粤B12345", kind="blue", seed=1)),
            container_jpeg=encode_jpeg(render_container_scene("CSQU3054383", seed=1)),
            gross_kg=20_000,
        )
        cam = (await _while_truck_waits(stack, truck, lambda: _sub(http, {"plate_camera"}, state="fault")))[
            "plate_camera"
        ]
        assert (cam["state_label"], cam["code"], cam["faults"]) == ("故障", "no_frame", 1)
        assert cam["kind_label"] == "车牌相机"
        # Repaired: the next truck's frames bring it back, with the time it took.
        stack.sims.plate_camera.hang_up = False
        lane = next(iter(stack.edge.lanes.values()))

        async def repaired_and_decided() -> dict[str, Any] | None:
            # The truck (no order yet) stays until the lane has decided on it, so that the order
            # filed next cannot reach the lane while it is still deciding on this truck.
            devs = await _sub(http, {"plate_camera"}, state="ok")
            return devs if devs and lane.state.value == "held_for_officer" else None

        cam = (await _while_truck_waits(stack, truck, repaired_and_decided))["plate_camera"]
        assert cam["faults"] == 1 and cam["mttr_s"] is not None and cam["mttr_s"] > 0
        # A barrier that never reaches its position (a released truck): the barrier is reported down.
        order = {**demo_order("粤B12345", "HF-DH1").model_dump(mode="json"), "containers": ["CSQU3054383"]}
        await order_at_lane(stack, http, order, what="the order at the lane")
        await eventually(lambda: lane.state.value == "idle", 20, what="the lane empty again")
        stack.sims.io.stuck = True
        bar = (await _while_truck_waits(stack, truck, lambda: _sub(http, {"barrier"}, state="fault")))["barrier"]
        assert (bar["kind_label"], bar["state_label"], bar["code"]) == ("道闸", "故障", "no_feedback")


async def test_a_plate_camera_whose_window_fogs_up_is_reported_for_the_technician(stack) -> None:
    """Frames still come and the reader still lifts the veil, but the window needs cleaning:
    after most of the camera's last passes were veiled, central shows the plate camera as a fault
    with the code and a Chinese detail for the technician."""
    lane = next(iter(stack.edge.lanes.values()))
    lane.views["plate_camera"] = ViewWatch(3)  # three passes, not the default ten: a short test
    truck = Truck(
        plate_jpeg=encode_jpeg(hazy(render_plate_scene("粤B12345", kind="blue", seed=1), 0.6)),
        container_jpeg=encode_jpeg(render_container_scene("CSQU3054383", seed=1)),
        gross_kg=20_000,
    )

    async def decided() -> bool:
        return lane.state.value == "held_for_officer"

    async with httpx.AsyncClient(base_url=stack.central.url, timeout=10) as http:
        await authorize(stack, http)
        for _ in range(2):
            await _while_truck_waits(stack, truck, decided)
        assert (await _devices(http)).get("plate_camera", {}).get("state") != "fault"
        cam = (await _while_truck_waits(stack, truck, lambda: _sub(http, {"plate_camera"}, state="fault")))[
            "plate_camera"
        ]
        assert (cam["state_label"], cam["code"]) == ("故障", "view_veiled")
        assert "画面发白" in cam["detail"]


async def _while_truck_waits(stack, truck: Truck, seen: Callable[[], Awaitable[Any]]) -> Any:
    """Drive `truck` into an empty lane and keep it there until central shows what `seen` looks for
    (however long the lane takes to decide on a loaded machine); then it backs out."""
    lane = next(iter(stack.edge.lanes.values()))
    await eventually(lambda: lane.state.value == "idle", 20, what="the lane empty")
    leave = asyncio.Event()
    driving = asyncio.create_task(drive_truck(stack.sims, truck=truck, wait_for_barrier=120, leave=leave))
    try:
        return await eventually(seen, 30, what="the device state at central")
    finally:
        leave.set()
        await asyncio.wait_for(driving, 30)


async def _sub(http: httpx.AsyncClient, kinds: set[str], state: str | None = None) -> dict[str, Any] | None:
    devs = await _devices(http)
    if not kinds <= set(devs) or (state and any(devs[k]["state"] != state for k in kinds)):
        return None
    return devs
