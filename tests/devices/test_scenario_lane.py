"""A whole truck through a full set of lane simulators, read by the real drivers (no edge node):
loops and barrier on Modbus, weighbridge, RFID e-plate and IC card readers on ptys, plate and
container cameras over HTTP. A small controller written here plays the lane's part."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from dataclasses import dataclass, field
from pathlib import Path

import cv2
import numpy as np
import pytest

from kakou.protocols.camera import CameraFault, HttpSnapshotCamera
from kakou.protocols.camera_video import VideoCamera
from kakou.protocols.cardreader import CardReaderConfig, CardReaderDriver, IdRead
from kakou.protocols.io_map import Light
from kakou.protocols.modbus_io import LaneIO
from kakou.protocols.serial_link import SerialSettings
from kakou.protocols.weighbridge import WeighbridgeConfig, WeighbridgeDriver, WeightSample
from kakou.protocols.weighbridge_stability import StabilityParams
from kakou.sim.render import encode_jpeg, render_container_scene, render_plate_scene
from kakou.sim.scenario import LaneSims, Truck, TruckResult, describe, drive_truck, start_lane_sims
from kakou.waiting import eventually

PLATE = encode_jpeg(render_plate_scene("粤B12345", kind="yellow", seed=1))
CONTAINER = encode_jpeg(render_container_scene("CSQU3054383", seed=1))
TAG, CARD = "E28011606000020849AB12CD", "04A1B2C3D4E5F6"


@dataclass
class Lane:
    io: LaneIO
    plate: HttpSnapshotCamera
    container: HttpSnapshotCamera
    scale: WeighbridgeDriver
    rfid: CardReaderDriver
    card: CardReaderDriver
    rtsp_url: str | None = None
    ids: list[IdRead] = field(default_factory=list)
    stable: list[WeightSample] = field(default_factory=list)


@pytest.fixture
async def lane(tmp_path: Path) -> AsyncIterator[tuple[LaneSims, Lane]]:
    sims = await start_lane_sims(
        container_camera_port=0,
        weighbridge_protocol="toledo",
        rfid=True,
        card=True,
        link_dir=str(tmp_path),
        travel_time=0.05,
        rtsp_port=0,
    )
    async with AsyncExitStack() as stack:
        stack.push_async_callback(sims.stop)
        io = LaneIO.from_url(sims.io.url, sims.io.io_map, feedback_timeout=2.0, poll_interval=0.02)
        stack.callback(io.close)
        assert sims.container_camera is not None and sims.weighbridge and sims.rfid and sims.card
        cams = [HttpSnapshotCamera(c.url, timeout=1.0) for c in (sims.plate_camera, sims.container_camera)]
        for c in cams:
            stack.push_async_callback(c.aclose)
        scale = await stack.enter_async_context(
            WeighbridgeDriver(
                WeighbridgeConfig(
                    serial=SerialSettings(port=sims.weighbridge.path),
                    protocol="toledo",
                    stability=StabilityParams(min_readings=5, tolerance_kg=10, window_s=0.3),
                )
            )
        )
        rfid, card = [
            await stack.enter_async_context(
                CardReaderDriver(CardReaderConfig(serial=SerialSettings(port=dev.path), kind=kind))
            )
            for dev, kind in ((sims.rfid, "rfid"), (sims.card, "card"))
        ]
        yield sims, Lane(io, cams[0], cams[1], scale, rfid, card)


async def collect(lane: Lane) -> None:
    """Listen from before the truck comes: reads are pushed once and would otherwise be missed."""

    async def ids(reader: CardReaderDriver) -> None:
        async for r in reader.reads():
            lane.ids.append(r)

    async def weights() -> None:
        async for s in lane.scale.samples():
            if s.stable and (s.weight_kg or 0) > 0:
                lane.stable.append(s)

    await asyncio.gather(ids(lane.rfid), ids(lane.card), weights())


async def _arrived(io: LaneIO) -> bool:
    return (await io.read_inputs()).loop_before


async def _clear(io: LaneIO) -> bool:
    i = await io.read_inputs()
    return not (i.loop_before or i.loop_under or i.loop_after)


async def control(lane: Lane, need_card: bool = True) -> dict:
    """The lane's part: wait for a truck, a settled weight and its ids; photograph; open; close."""
    io = lane.io
    await eventually(lambda: _arrived(io), timeout=10, interval=0.02, what="a truck on the before-loop")
    weight = await lane.scale.wait_for(lambda s: s.stable and (s.weight_kg or 0) > 1000, timeout=10)
    # The lane's reader window: both ids, or whatever came within a second of the weight settling.
    with contextlib.suppress(TimeoutError):
        await eventually(lambda: {r.kind for r in lane.ids} == {"rfid", "card"}, timeout=1.0, what="ids")
    kinds = {r.kind: r.id for r in lane.ids}
    seen: dict[str, object] = {"weight": weight.weight_kg, "ids": kinds}
    for name, cam in (("plate", lane.plate), ("container", lane.container)):
        try:
            seen[name] = (await cam.snapshot()).jpeg
        except CameraFault:
            seen[name] = None
    if lane.rtsp_url:  # the plate camera's video stream as well, over a real RTSP session
        async with VideoCamera(lane.rtsp_url, read_timeout=1.0) as video:
            seen["rtsp_shape"] = (await video.snapshot()).image.shape
    if need_card and "card" not in kinds:
        await io.set_signal(Light.RED)
        return seen
    await io.set_signal(Light.GREEN)
    await io.open_barrier()
    await eventually(lambda: _clear(io), timeout=10, interval=0.02, what="the lane to clear")
    await io.set_signal(Light.RED)
    await io.close_barrier()
    return seen


async def test_full_truck_through_the_lane(lane: tuple[LaneSims, Lane]) -> None:
    sims, drivers = lane
    listener = asyncio.create_task(collect(drivers))
    ctl = asyncio.create_task(control(drivers))
    assert sims.plate_rtsp is not None
    drivers.rtsp_url = sims.plate_rtsp.url
    result = await drive_truck(
        sims,
        wait_for_barrier=15,
        step_s=0.15,
        truck=Truck(plate_jpeg=PLATE, container_jpeg=CONTAINER, gross_kg=42_160, rfid_tag=TAG, ic_card=CARD),
    )
    seen = await asyncio.wait_for(ctl, 10)
    listener.cancel()
    assert result is TruckResult.PASSED
    assert seen["weight"] == 42_160 and drivers.stable[0].weight_kg == 42_160  # never a part-loaded weight
    assert seen["ids"] == {"rfid": TAG, "card": CARD}
    assert seen["plate"] == PLATE and seen["container"] == CONTAINER
    plate = cv2.imdecode(np.frombuffer(PLATE, np.uint8), cv2.IMREAD_COLOR)
    assert plate is not None and seen["rtsp_shape"] == plate.shape
    assert [e.command for e in sims.io.events] == ["raise", "lower"] and sims.io.barrier_down
    assert sims.io.light is Light.RED and sims.plate_camera.jpeg is None
    steps = sims.steps()
    assert steps[:2] == ["arrive", "on scale 42160 kg"] and steps[-3:] == ["off scale", "left", "barrier down"]
    assert steps.index("barrier up") > steps.index(f"card {CARD}")
    assert drivers.scale.stats.framing_errors == 0


async def test_truck_without_card_is_turned_away(lane: tuple[LaneSims, Lane]) -> None:
    sims, drivers = lane
    listener = asyncio.create_task(collect(drivers))
    ctl = asyncio.create_task(control(drivers))
    result = await drive_truck(
        sims, wait_for_barrier=2.0, step_s=0.1, truck=Truck(plate_jpeg=PLATE, gross_kg=18_000, rfid_tag=TAG)
    )
    seen = await asyncio.wait_for(ctl, 10)
    listener.cancel()
    assert result is TruckResult.TURNED_AWAY and seen["ids"] == {"rfid": TAG} and seen["container"] is None
    assert sims.io.events == [] and sims.io.light is Light.RED
    assert not any(sims.io.loop(k) for k in ("before", "under", "after"))
    assert sims.steps()[-1] == "turned away"


async def test_describe_lists_every_device(lane: tuple[LaneSims, Lane]) -> None:
    sims, _ = lane
    text = "\n".join(describe(sims))
    assert sims.io.url in text and "weighbridge (toledo)" in text and "IC card reader: serial" in text
    assert "plate camera RTSP: rtsp://" in text
