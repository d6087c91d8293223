"""One lane's state machine: idle → vehicle present → collecting → deciding → acting → clearing.

Adapters (Modbus I/O, camera, recogniser, store) are injected; the decision itself is the pure
`decide()`. Every wait has a timeout, and every failure path ends with the barrier down and the
lane held for an officer — never an automatic open.
"""

from __future__ import annotations

import asyncio
import logging
import time
import uuid
from collections.abc import Callable
from datetime import UTC, datetime
from enum import StrEnum
from typing import Protocol

import numpy as np

from kakou.edge.config import LaneSection
from kakou.edge.decision import Decision, Knowledge, Observation, Parameters, decide
from kakou.edge.store import EdgeStore
from kakou.protocols.camera import CameraFault, HttpSnapshotCamera
from kakou.protocols.modbus_io import BarrierFault, BarrierRefused, IoFault, IoInputs, LaneIO
from kakou.sync.messages import Outcome, PassRecord


class PlateReading(Protocol):
    text: str | None
    confidence: float


class PlateRecogniser(Protocol):
    def read_many(self, frames: list[np.ndarray]) -> PlateReading: ...


class LaneState(StrEnum):
    IDLE = "idle"
    PRESENT = "vehicle_present"
    COLLECTING = "collecting"
    DECIDING = "deciding"
    RELEASED = "released"
    HELD = "held_for_officer"
    INSPECTION = "to_inspection"
    CLEARING = "clearing"
    FAULT = "fault"


class Lane:
    def __init__(self, node: str, cfg: LaneSection, io: LaneIO, camera: HttpSnapshotCamera | None,
                 recogniser: PlateRecogniser, store: EdgeStore, params: Parameters,
                 on_pass: Callable[[PassRecord], None], poll_interval: float = 0.05) -> None:
        self.node = node
        self.cfg = cfg
        self.io = io
        self.camera = camera
        self.recogniser = recogniser
        self.store = store
        self.params = params
        self.on_pass = on_pass
        self.poll_interval = poll_interval
        self.state = LaneState.IDLE
        self.last_pass: PassRecord | None = None
        self.log = logging.LoggerAdapter(logging.getLogger(__name__), {"node": node, "lane": cfg.id})

    def _enter(self, state: LaneState, why: str = "") -> None:
        if state != self.state:
            self.log.info("lane %s → %s%s", self.state.value, state.value, f" ({why})" if why else "")
            self.state = state

    async def run(self) -> None:
        await self.io.connect()
        while True:
            try:
                await self._wait(lambda i: i.loop_before or i.loop_under, timeout=None)
                await self._one_pass()
            except IoFault as exc:
                # The lane cannot see its loops or barrier: report and keep trying to reach it.
                self._enter(LaneState.FAULT, str(exc))
                await asyncio.sleep(1.0)
                self._enter(LaneState.IDLE, "retrying I/O")

    async def _wait(self, cond: Callable[[IoInputs], bool], timeout: float | None) -> bool:
        """Poll the loops (how Modbus I/O is read on site) until cond holds; False on timeout."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            if cond(await self.io.read_inputs()):
                return True
            if deadline is not None and time.monotonic() > deadline:
                return False
            await asyncio.sleep(self.poll_interval)

    async def _one_pass(self) -> None:
        started = datetime.now(UTC)
        self._enter(LaneState.PRESENT)
        self._enter(LaneState.COLLECTING)
        faults: list[str] = []
        plate, confidence, frames = await self._read_plate(faults)
        self._enter(LaneState.DECIDING)
        obs = Observation(lane=self.cfg.id, direction=self.cfg.direction, at=datetime.now(UTC),
                          plate=plate, plate_confidence=confidence, faults=faults)
        version, orders = self.store.release_orders_for(plate) if plate else (self.store.knowledge_version, [])
        knowledge = Knowledge(version=version, release_orders=orders)
        decision = decide(obs, knowledge, self.params)
        record = self._record(started, obs, decision)
        # Write-ahead: the pass is durable before the barrier moves.
        self.store.record_pass(record, {"observation": obs.model_dump(mode="json"),
                                        "knowledge": knowledge.model_dump(mode="json"),
                                        "parameters": self.params.model_dump(mode="json"),
                                        "frames": frames})
        self.last_pass = record
        self.on_pass(record)
        self.log.info("pass %s plate=%s outcome=%s reasons=%s", record.pass_id, plate, decision.outcome.value,
                      "; ".join(decision.reasons))
        if decision.outcome is Outcome.RELEASE:
            await self._release()
        else:
            self._enter(LaneState.HELD if decision.outcome is Outcome.OFFICER else LaneState.INSPECTION,
                        "; ".join(decision.reasons))
            # Until the officer UI takes over, the vehicle is turned away: wait for the lane to empty.
            await self._wait(lambda i: not (i.loop_before or i.loop_under or i.loop_after), timeout=None)
            self._enter(LaneState.IDLE)

    async def _read_plate(self, faults: list[str]) -> tuple[str | None, float, int]:
        if self.camera is None:
            return None, 0.0, 0
        images: list[np.ndarray] = []
        for _ in range(self.cfg.plate_camera.frames if self.cfg.plate_camera else 1):
            try:
                images.append((await self.camera.snapshot()).image)
            except CameraFault as exc:
                faults.append(str(exc))
                break
        if not images:
            return None, 0.0, 0
        reading = await asyncio.to_thread(self.recogniser.read_many, images)
        return reading.text, float(reading.confidence), len(images)

    def _record(self, started: datetime, obs: Observation, decision: Decision) -> PassRecord:
        return PassRecord(
            pass_id=f"{self.node}-{self.cfg.id}-{uuid.uuid4().hex[:12]}",
            node=self.node, lane=self.cfg.id, direction=self.cfg.direction,
            started_at=started, decided_at=obs.at, plate=obs.plate, plate_confidence=obs.plate_confidence,
            containers=obs.containers, outcome=decision.outcome, reasons=decision.reasons,
            release_order=decision.release_order, knowledge_version=decision.knowledge_version,
            opens_barrier=decision.outcome is Outcome.RELEASE,
        )

    async def _release(self) -> None:
        self._enter(LaneState.RELEASED)
        try:
            await self.io.set_light(True)
            await self.io.open_barrier()
        except BarrierFault as exc:
            self._enter(LaneState.FAULT, str(exc))
        self._enter(LaneState.CLEARING)
        # The vehicle has gone (through, or backed out) once every loop is clear.
        while not await self._wait(lambda i: not (i.loop_before or i.loop_under or i.loop_after),
                                   timeout=self.cfg.clear_timeout_s):
            self.log.warning("lane not clear after %ss; barrier stays up until it is", self.cfg.clear_timeout_s)
        await self.io.set_light(False)
        while True:
            try:
                await self.io.close_barrier()
                break
            except BarrierRefused:
                await self._wait(lambda i: not i.loop_under, timeout=None)
            except BarrierFault as exc:
                self._enter(LaneState.FAULT, str(exc))
                break
        self._enter(LaneState.IDLE)
