"""Drives a simulated truck through a lane, through the devices' own simulators.

The truck behaves like a driver would: pulls up to the barrier onto the scale (before-loop), the
weight ramps up axle by axle and settles, the RFID e-plate is read as it enters the antenna's
field, the driver swipes the IC card, the plate and container cameras see it; then it waits for
the barrier to rise, drives under and past it, and leaves. If the barrier stays down it backs out.

Every device but the I/O module and the plate camera is optional, so the same runner serves the
walking skeleton (loops + plate) and a full lane.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from dataclasses import dataclass, field
from enum import StrEnum

from kakou.protocols.eseal import SealStatus
from kakou.sim.camera_rtsp_sim import RtspCameraSim
from kakou.sim.camera_sim import CameraSim
from kakou.sim.cardreader_sim import CardReaderSim
from kakou.sim.display_sim import DisplaySim
from kakou.sim.eseal_sim import EsealReaderSim
from kakou.sim.io_sim import LaneIoSim
from kakou.sim.weighbridge_sim import WeighbridgeSim
from kakou.tasks import finished, first_of

log = logging.getLogger(__name__)


class TruckResult(StrEnum):
    PASSED = "passed"
    TURNED_AWAY = "turned_away"


@dataclass
class LaneSims:
    io: LaneIoSim
    plate_camera: CameraSim
    container_camera: CameraSim | None = None
    weighbridge: WeighbridgeSim | None = None
    rfid: CardReaderSim | None = None
    card: CardReaderSim | None = None
    display: DisplaySim | None = None  # serial LED sign (the Modbus one lives in the I/O module)
    plate_rtsp: RtspCameraSim | None = None  # the plate camera's RTSP stream, showing the same picture
    e_seal: EsealReaderSim | None = None  # electronic seal (电子关锁) reader, at a transit destination
    trace: list[tuple[float, str]] = field(default_factory=list)  # (monotonic, step) of every truck

    def note(self, step: str) -> None:
        self.trace.append((time.monotonic(), step))
        log.debug("scenario: %s", step)

    def steps(self) -> list[str]:
        return [s for _, s in self.trace]

    async def stop(self) -> None:
        """Stop every simulator that is part of the set (started by `start_lane_sims` or by hand)."""
        await self.io.stop()
        for cam in (self.plate_camera, self.container_camera, self.plate_rtsp):
            if cam is not None:
                await cam.stop()
        if self.weighbridge is not None:
            await self.weighbridge.stop()
        for dev in (self.rfid, self.card, self.display, self.e_seal):
            if dev is not None:
                await dev.__aexit__(None, None, None)


@dataclass
class Truck:
    """What one truck shows the lane. Anything left None is simply not presented."""

    plate_jpeg: bytes | None = None
    container_jpeg: bytes | None = None
    gross_kg: float | None = None
    axles: int = 5  # the weight comes on in this many steps as the axles roll onto the deck
    settle_frames: int = 10  # indicator frames of motion after the last axle, before it is steady
    rfid_tag: str | None = None  # hex id of the e-plate
    ic_card: str | None = None  # hex uid of the driver's IC card
    e_seal: str | None = None  # the id of the electronic seal on its container (transit)
    e_seal_status: SealStatus = "intact"


async def drive_truck(
    sims: LaneSims,
    plate_jpeg: bytes | None = None,
    wait_for_barrier: float = 20.0,
    step_s: float = 0.3,
    *,
    truck: Truck | None = None,
    leave: asyncio.Event | None = None,
) -> TruckResult:
    """`step_s` is how long the truck takes from one loop to the next (physics, not a test wait).

    Pass `truck` for a full lane; `plate_jpeg` alone is the plate-only truck of the walking skeleton.
    The driver backs out when the barrier stays down for `wait_for_barrier` seconds, or at once when
    `leave` is set (told to by an officer, or by a test once it has seen what it waits for).
    """
    t = truck or Truck(plate_jpeg=plate_jpeg)
    if t.plate_jpeg is None:
        t.plate_jpeg = plate_jpeg
    if sims.e_seal is not None and t.e_seal:
        sims.e_seal.present_seal(t.e_seal, status=t.e_seal_status)  # heard on the approach
        sims.note(f"e-seal {t.e_seal} {t.e_seal_status}")
    _show_plate(sims, t.plate_jpeg)
    if sims.container_camera is not None:
        sims.container_camera.show(t.container_jpeg)
    sims.io.set_loop("before", True)
    sims.note("arrive")
    await _roll_onto_scale(sims, t, step_s)
    if sims.rfid is not None and t.rfid_tag:
        sims.rfid.present_tag(t.rfid_tag)
        sims.note(f"rfid {t.rfid_tag}")
    if sims.card is not None and t.ic_card:
        sims.card.present_card(t.ic_card)
        sims.note(f"card {t.ic_card}")
    if not await _barrier_up(sims, wait_for_barrier, leave):
        log.info("barrier stayed down; truck backs out")
        sims.note("turned away")
        if sims.weighbridge is not None:
            sims.weighbridge.vehicle_off()
        sims.io.set_loop("before", False)
        _clear_cameras(sims)
        await asyncio.sleep(step_s)  # backing away takes time: the lane is seen empty before the next truck
        return TruckResult.TURNED_AWAY
    sims.note("barrier up")
    for loop, occupied in (("under", True), ("before", False), ("after", True), ("under", False), ("after", False)):
        sims.io.set_loop(loop, occupied)
        if loop == "before" and sims.weighbridge is not None:
            sims.weighbridge.vehicle_off()  # the rear axles leave the deck as the cab passes the boom
            sims.note("off scale")
        await asyncio.sleep(step_s)
    _clear_cameras(sims)
    sims.note("left")
    await sims.io.wait_barrier(up=False, timeout=wait_for_barrier)
    sims.note("barrier down")
    return TruckResult.PASSED


async def _barrier_up(sims: LaneSims, timeout: float, leave: asyncio.Event | None) -> bool:
    if leave is None:
        return await sims.io.wait_barrier(up=True, timeout=timeout)
    up, _told = await first_of(sims.io.wait_barrier(up=True, timeout=timeout), leave.wait())
    return finished(up) and up.result()


async def _roll_onto_scale(sims: LaneSims, t: Truck, step_s: float) -> None:
    wb = sims.weighbridge
    if wb is None or t.gross_kg is None:
        return
    # Axle by axle: each step adds its share and the deck bounces (motion) a little.
    for i in range(1, t.axles + 1):
        last = i == t.axles
        wb.set_weight(
            t.gross_kg * i / t.axles,
            settle_frames=t.settle_frames if last else 3,
            wobble_kg=max(t.gross_kg / t.axles / 10, 20.0),
        )
        if not last:
            await asyncio.sleep(step_s / t.axles)
    sims.note(f"on scale {t.gross_kg:g} kg")


def _show_plate(sims: LaneSims, jpeg: bytes | None) -> None:
    sims.plate_camera.show(jpeg)
    if sims.plate_rtsp is not None:
        sims.plate_rtsp.show(jpeg)  # NotRtpJpeg for a picture RTP/JPEG cannot carry: a scenario bug


def _clear_cameras(sims: LaneSims) -> None:
    _show_plate(sims, None)
    if sims.container_camera is not None:
        sims.container_camera.show(None)


async def start_lane_sims(
    *,
    modbus_port: int = 0,
    camera_port: int = 0,
    container_camera_port: int | None = None,
    weighbridge_protocol: str | None = None,
    rfid: bool = False,
    card: bool = False,
    display: bool = False,
    link_dir: str | None = None,
    io_sim: LaneIoSim | None = None,
    travel_time: float = 0.2,
    rtsp_port: int | None = None,
    e_seal: bool = False,
) -> LaneSims:
    """Start a lane's simulators; optional devices only when asked. Serial ones get pty paths in `link_dir`."""
    sims = LaneSims(io_sim or LaneIoSim(port=modbus_port, travel_time=travel_time), CameraSim(port=camera_port))
    try:  # every simulator's stop() is safe before start(), so a half-started set cleans up whole
        await sims.io.start()
        await sims.plate_camera.start()
        if rtsp_port is not None:
            sims.plate_rtsp = RtspCameraSim(port=rtsp_port)
            await sims.plate_rtsp.start()
        if container_camera_port is not None:
            sims.container_camera = CameraSim(port=container_camera_port)
            await sims.container_camera.start()
        if weighbridge_protocol:
            sims.weighbridge = WeighbridgeSim(weighbridge_protocol, name="weighbridge0", link_dir=link_dir)
            await sims.weighbridge.start()
        serial_sims: tuple[tuple[bool, str, type[CardReaderSim | DisplaySim | EsealReaderSim], str], ...] = (
            (rfid, "rfid", CardReaderSim, "rfid0"),
            (card, "card", CardReaderSim, "card0"),
            (display, "display", DisplaySim, "display0"),
            (e_seal, "e_seal", EsealReaderSim, "eseal0"),
        )
        for wanted, attr, sim_class, name in serial_sims:
            if wanted:
                sim = sim_class(name=name, link_dir=link_dir)
                setattr(sims, attr, sim)  # part of the set before it starts: stop() cleans up a failed start
                await sim.__aenter__()
    except BaseException:
        with contextlib.suppress(Exception):
            await sims.stop()
        raise
    return sims


def describe(sims: LaneSims) -> list[str]:
    """One line per device: where a driver (or a technician's probe) reaches it."""
    lines = [
        f"lane I/O module: modbus {sims.io.url}",
        f"plate camera: {sims.plate_camera.url} (stream {sims.plate_camera.stream_url})",
    ]
    if sims.plate_rtsp is not None:
        lines.append(f"plate camera RTSP: {sims.plate_rtsp.url}")
    if sims.container_camera is not None:
        lines.append(f"container camera: {sims.container_camera.url}")
    if sims.weighbridge is not None:
        lines.append(f"weighbridge ({sims.weighbridge.protocol}): serial {sims.weighbridge.path}")
    for name, dev in (
        ("RFID e-plate reader", sims.rfid),
        ("IC card reader", sims.card),
        ("LED display", sims.display),
        ("e-seal reader", sims.e_seal),
    ):
        if dev is not None:
            lines.append(f"{name}: serial {dev.path}")
    return lines
