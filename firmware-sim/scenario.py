"""Drives a simulated truck through a lane, through the devices' own simulators.

The truck behaves like a driver would: pulls up to the barrier (before-loop), waits for it to
rise, drives under and past it, and leaves. If the barrier stays down it backs out.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from enum import StrEnum

from kakou.sim.camera_sim import CameraSim
from kakou.sim.io_sim import LaneIoSim

log = logging.getLogger(__name__)


class TruckResult(StrEnum):
    PASSED = "passed"
    TURNED_AWAY = "turned_away"


@dataclass
class LaneSims:
    io: LaneIoSim
    plate_camera: CameraSim


async def drive_truck(sims: LaneSims, plate_jpeg: bytes | None, wait_for_barrier: float = 20.0,
                      step_s: float = 0.3) -> TruckResult:
    """`step_s` is how long the truck takes from one loop to the next (physics, not a test wait)."""
    sims.plate_camera.show(plate_jpeg)
    sims.io.set_loop("before", True)
    if not await sims.io.wait_barrier(up=True, timeout=wait_for_barrier):
        log.info("barrier stayed down; truck backs out")
        sims.io.set_loop("before", False)
        sims.plate_camera.show(None)
        return TruckResult.TURNED_AWAY
    for loop, occupied in (("under", True), ("before", False), ("after", True), ("under", False),
                           ("after", False)):
        sims.io.set_loop(loop, occupied)
        await asyncio.sleep(step_s)
    sims.plate_camera.show(None)
    await sims.io.wait_barrier(up=False, timeout=wait_for_barrier)
    return TruckResult.PASSED
