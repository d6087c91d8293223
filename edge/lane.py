"""One lane's state machine: idle → vehicle present → collecting → deciding → acting → clearing.

Adapters (Modbus I/O, cameras, weighbridge, readers, recognisers, store) are injected; the
decision itself is the pure `decide()`. Every wait has a timeout, and every failure path ends
with the barrier down and the lane held for an officer — never an automatic open.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
import uuid
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from enum import StrEnum
from pathlib import Path
from typing import Any, Literal, Protocol

import cv2
import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from kakou.edge.camera_view import ViewWatch
from kakou.edge.config import LaneSection
from kakou.edge.decision import Decision, Knowledge, Observation, Parameters, decide, orders_for
from kakou.edge.driver_display import DriverDisplay, driver_message
from kakou.edge.inspections import RESULT_CODES
from kakou.edge.inspections import Result as InspectionResult
from kakou.edge.records import Action, Intervention, LaneRecords
from kakou.edge.store import EdgeStore
from kakou.models.face import FaceMatcher
from kakou.protocols.camera import Camera, CameraFault, Frame
from kakou.protocols.modbus_io import BarrierFault, BarrierRefused, IoFault, IoInputs, LaneIO
from kakou.sync.checks import INSPECTION_RESULT_CODES, CheckCode, check, finding, render_all
from kakou.sync.messages import Outcome, PassRecord
from kakou.tasks import finished, first_of


class Reading(Protocol):  # read-only, as the recognisers' frozen results are
    @property
    def text(self) -> str | None: ...
    @property
    def confidence(self) -> float: ...
    @property
    def valid(self) -> bool: ...


class Recogniser(Protocol):
    def read_many(self, frames: list[np.ndarray]) -> Reading: ...


class CodesRecogniser(Protocol):
    """Several codes per vehicle (two 20' containers on one chassis), voted per camera."""

    def read_codes(self, cameras: list[list[np.ndarray]]) -> Sequence[Reading]: ...


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


class OfficerCommand(BaseModel):
    """What an officer did at the lane screen; validated by the API before it reaches the lane."""

    model_config = ConfigDict(frozen=True)

    # control_disposal: central disposed of the control-order hit and released the vehicle
    # (officer is then "central:<user>"); never sent by the lane screen.
    action: Literal["manual_entry", "override", "inspection_result", "release_on_documents", "control_disposal"]
    officer: str
    reason: str = ""
    plate: str | None = None
    containers: list[str] = Field(default_factory=list)
    outcome: Literal["release", "inspection"] | None = None  # override
    result: InspectionResult | None = None  # inspection_result
    confirmed_by: str | None = None  # the second officer, who confirmed with their own PIN


def control_hold(decision: Decision | None) -> bool:
    """The decision holds the vehicle on a control order (布控) hit."""
    return decision is not None and any(c.code is CheckCode.CONTROL_ORDER_HIT for c in decision.checks)


def would_release(cmd: OfficerCommand) -> bool:
    """The command may let the vehicle go (manual entry: the keyed data may no longer hit)."""
    return (
        cmd.action in ("manual_entry", "release_on_documents", "control_disposal")
        or (cmd.action == "override" and cmd.outcome == "release")
        or (cmd.action == "inspection_result" and cmd.result == "passed")
    )


ID_WINDOW_S = 30.0  # an e-plate or card read this recent may be the arriving truck's (_tag_for, _recent)
MAX_RECENT_TAGS = 32  # kept at most, the latest (a reader gone wild must not grow the lane's memory)

CONTROL_HOLD_REFUSAL = (
    "布控扣留：须由中心处置该命中，或由第二名关员以本人 PIN 确认后放行 "
    "(control-order hold: released only by central's disposal of the hit, "
    "or by a second officer confirming with their own PIN)"
)


def control_release_refused(decision: Decision | None, cmd: OfficerCommand) -> bool:
    """A lane officer alone may not release a vehicle held on a control order."""
    return control_hold(decision) and would_release(cmd) and cmd.action != "control_disposal" and not cmd.confirmed_by


@dataclass
class LaneDevices:
    io: LaneIO
    plate_camera: Camera | None = None
    container_camera: Camera | None = None
    face_camera: Camera | None = None
    weighbridge: Any = None  # kakou.protocols.weighbridge.WeighbridgeDriver
    rfid: Any = None  # kakou.protocols.cardreader.CardReaderDriver (e-plate tags)
    ic_card: Any = None  # kakou.protocols.cardreader.CardReaderDriver (driver cards)
    display: Any = None  # kakou.protocols.display.DisplayDriver (the driver's LED sign)
    e_seal: Any = None  # kakou.protocols.eseal.EsealReaderDriver (electronic seals, 电子关锁)


@dataclass
class Recognisers:
    plate: Recogniser
    container: CodesRecogniser | None = None
    face: FaceMatcher | None = None
    faces_dir: Path | None = None  # reference photos by photo_ref


@dataclass
class Current:
    """The vehicle in the lane now, as the lane screen shows it."""

    pass_id: str
    started_at: datetime
    observation: Observation | None = None
    decision: Decision | None = None
    images: list[str] = field(default_factory=list)
    face: np.ndarray | None = None  # the driver's face frame, matched once the driver is known
    tag: str | None = None  # its e-plate, once read: the reader keeps seeing it while it is in the lane
    identified: bool = False  # its readings are taken: any other tag read now is a vehicle behind it
    kept: list[tuple[str, str, np.ndarray]] = field(default_factory=list)  # (sha256, "plate"/"container", frame)


def _clean(text: str) -> str:
    return "".join(ch for ch in text.upper() if ch.isalnum())


def locate(lines: list[Any], text: str) -> list[float] | None:
    """Where `text` is in a frame: the union of the OCR lines that are part of it, as
    [x0, y0, x1, y1] in pixels; None when no line is. Lines are kept when at least three of their
    characters in order are in the text (a plate or container code split over lines still marks)."""
    want = _clean(text)
    boxes = []
    for ln in lines:
        got = _clean(ln.text)
        if len(got) >= 3 and (got in want or want in got):
            boxes.append((ln.x0, ln.y0, ln.x1, ln.y1))
    if not boxes:
        return None
    return [
        round(min(b[0] for b in boxes), 1),
        round(min(b[1] for b in boxes), 1),
        round(max(b[2] for b in boxes), 1),
        round(max(b[3] for b in boxes), 1),
    ]


@dataclass
class Waiting:
    e_plate: str  # the tag id read at the approach
    plate: str | None  # registered to that tag, when the cache knows it
    since: datetime
    seen: float  # monotonic time of the latest read


class VehicleQueue:
    """Vehicles waiting behind the one in the lane, as the approach's e-plate reader sees them.

    A tag read while a pass is in progress that is not the current vehicle's joins the queue
    (first read first); a vehicle leaves it when it becomes the lane's vehicle, or when its tag
    has not been read for `ttl_s` (it drove off, or it is out of the reader's range). The queue is
    for the lane screen only: it never feeds a decision.
    """

    def __init__(self, ttl_s: float = 300.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.ttl_s = ttl_s
        self.clock = clock
        self._waiting: dict[str, Waiting] = {}

    def seen(self, tag: str, plate: str | None, at: datetime) -> None:
        found = self._waiting.get(tag)
        if found is None:
            self._waiting[tag] = Waiting(tag, plate, at, self.clock())
        else:
            found.seen, found.plate = self.clock(), plate or found.plate

    def entered(self, tag: str | None, plate: str | None) -> None:
        """The vehicle with this tag or plate is now in the lane."""
        for key, w in list(self._waiting.items()):
            if (tag and key == tag) or (plate and w.plate == plate):
                del self._waiting[key]

    def snapshot(self) -> list[dict[str, Any]]:
        # Also read by the status API from a worker thread: work on a copy (taken atomically).
        now, waiting = self.clock(), list(self._waiting.items())
        for key, w in waiting:
            if now - w.seen > self.ttl_s:
                self._waiting.pop(key, None)
        return [
            {"e_plate": w.e_plate, "plate": w.plate, "since": w.since.isoformat()}
            for _, w in waiting
            if now - w.seen <= self.ttl_s
        ]


class Lane:
    def __init__(
        self,
        node: str,
        cfg: LaneSection,
        devices: LaneDevices,
        recognisers: Recognisers,
        store: EdgeStore,
        records: LaneRecords,
        params: Parameters,
        on_pass: Callable[[PassRecord], None],
        on_event: Callable[[dict[str, Any]], None] | None = None,
        on_frame: Callable[[str, bytes], None] | None = None,
        poll_interval: float = 0.05,
        on_device: Callable[..., Any] | None = None,
    ) -> None:
        self.node = node
        self.cfg = cfg
        self.dev = devices
        self.io = devices.io
        self.rec = recognisers
        self.store = store
        self.records = records
        self.params = params
        self.on_pass = on_pass
        self.on_event = on_event or (lambda _e: None)
        self.on_frame = on_frame or (lambda _lane, _jpeg: None)
        # (lane, device, kind, state, code, detail): what a device just did, for device health
        # (kakou.edge.device_states); each lane has one device of a kind, named by the kind.
        self.on_device = on_device or (lambda *_a: None)
        self.poll_interval = poll_interval
        self.state = LaneState.IDLE
        self.state_reason = ""
        self.current: Current | None = None
        self.last_pass: PassRecord | None = None
        self.commands: asyncio.Queue[OfficerCommand] = asyncio.Queue()
        self._disposal_queued: str | None = None  # the held pass central's release was queued for
        # Last input → barrier command, in ms (cache lookup, decide(), durable pass write): the bench reads it.
        self.decision_ms: deque[float] = deque(maxlen=10_000)
        # E-plate reads not yet given to a truck (id → monotonic time of its last read): the reader
        # also hears the trucks queued behind the one in the lane (_tag_for chooses among them).
        self._tags: dict[str, float] = {}  # in read order: the oldest first
        self._card: tuple[str, float] | None = None
        self._seal: tuple[Any, float] | None = None  # last e-seal read (SealRead, monotonic time)
        self._id_read = asyncio.Event()
        self.queue = VehicleQueue()
        # Where the read plate / container code is in each kept frame, for the screen to mark it.
        self.marks: dict[str, list[dict[str, Any]]] = {}
        # Each reading camera's view over its last passes, for the technician (camera_view.py).
        self.views = {
            kind: ViewWatch(section.watch_passes)
            for kind, section in (("plate_camera", cfg.plate_camera), ("container_camera", cfg.container_camera))
            if section is not None
        }
        self._background: set[asyncio.Task[None]] = set()
        self.log = logging.LoggerAdapter(logging.getLogger(__name__), {"node": node, "lane": cfg.id})
        self.display = DriverDisplay(devices.display, self.log) if devices.display is not None else None
        if self.display is not None:
            self.display.want(driver_message(self.state.value, None))

    # -- state --------------------------------------------------------------------------------
    def _enter(self, state: LaneState, why: str = "") -> None:
        if state != self.state or why != self.state_reason:
            self.log.info("lane %s → %s%s", self.state.value, state.value, f" ({why})" if why else "")
            self.state, self.state_reason = state, why
            self.on_event({"type": "state", "lane": self.cfg.id, "state": state.value, "reason": why})
            if self.display is not None:
                cur = self.current
                plate = cur.observation.plate if cur is not None and cur.observation is not None else None
                self.display.want(driver_message(state.value, plate))

    def snapshot(self) -> dict[str, Any]:
        cur = self.current
        return {
            "lane": self.cfg.id,
            "direction": self.direction,
            "lane_class": self.lane_class,
            "gate_role": self.records.parameters_for(self.cfg.id, self.params).gate_role,
            "state": self.state.value,
            "reason": self.state_reason,
            "current": None
            if cur is None
            else {
                "pass_id": cur.pass_id,
                "started_at": cur.started_at.isoformat(),
                "observation": cur.observation.model_dump(mode="json") if cur.observation else None,
                "decision": cur.decision.model_dump(mode="json") if cur.decision else None,
                "images": cur.images,
            },
            "last_pass": self.last_pass.model_dump(mode="json") if self.last_pass else None,
            "io_fault": self.io.fault,
            "queue": self.queue.snapshot(),
        }

    # -- settings central sent for this lane (its registration), else the node's configuration ---------
    @property
    def direction(self) -> Literal["in", "out"]:
        settings = self.records.lane_settings(self.cfg.id)
        return settings.direction if settings is not None and settings.direction else self.cfg.direction

    @property
    def lane_class(self) -> Literal["A", "B", "C"]:
        """A reads plate and containers; B/C: the officer keys them (central may change it)."""
        settings = self.records.lane_settings(self.cfg.id)
        return settings.lane_class if settings is not None and settings.lane_class else self.cfg.lane_class

    # -- main loop ------------------------------------------------------------------------------
    async def run(self) -> None:
        await self.io.connect()
        readers = [
            asyncio.create_task(self._follow(r, kind))
            for r, kind in ((self.dev.rfid, "tag"), (self.dev.ic_card, "card"), (self.dev.e_seal, "seal"))
            if r is not None
        ]
        if self.display is not None:
            readers.append(asyncio.create_task(self.display.run()))
        try:
            while True:
                try:
                    inputs = await self.io.read_inputs()
                    self._device("io_module", "ok")
                    if not inputs.barrier_down:
                        # Restarted with the barrier up (a crash mid-pass): lower it once the lane is clear.
                        await self._clear_and_close("barrier found up at start")
                        continue
                    await self._wait(lambda i: i.loop_before or i.loop_under, timeout=None)
                    await self._one_pass()
                except IoFault as exc:
                    # The lane cannot see its loops or barrier: report and keep trying to reach it.
                    self._device("io_module", "fault", "io_unreachable", str(exc))
                    self._enter(LaneState.FAULT, str(exc))
                    await asyncio.sleep(1.0)
                    self._enter(LaneState.IDLE, "retrying I/O")
                except Exception as exc:
                    # A bug must not take the lane down with it: record it, alarm, and start over with
                    # the barrier as it is (it only ever opened for a recorded release).
                    self.log.exception("lane error; pass abandoned")
                    self._enter(LaneState.FAULT, f"internal error: {exc!r}")
                    self.on_event({"type": "alarm", "lane": self.cfg.id, "text": f"lane error: {exc!r}"})
                    self.current = None
                    await asyncio.sleep(1.0)
        finally:
            for t in [*readers, *self._background]:
                t.cancel()
            if self.display is not None:  # the lane goes offline: tell drivers to use another lane
                self.display.want(driver_message("closed", None))
                with contextlib.suppress(Exception):
                    await asyncio.wait_for(self.display.send_wanted(), 1.0)

    async def _follow(self, reader: Any, kind: str) -> None:
        """Keep the latest tag / card read; a pass uses a read from shortly before or during it."""
        async for read in reader.reads():
            if kind == "seal":
                self._seal = (read, time.monotonic())  # heard on the approach
                self._id_read.set()
                continue
            if kind == "tag":
                cur = self.current
                if cur is not None and cur.identified:
                    if read.id == cur.tag:
                        continue  # the identified truck's own tag, read again while it waits
                    # The lane's vehicle is already identified: this one waits behind it.
                    self.queue.seen(read.id, self.records.plate_of_tag(read.id), datetime.now(UTC))
                now = time.monotonic()
                self._tags.pop(read.id, None)
                self._tags[read.id] = now
                while len(self._tags) > MAX_RECENT_TAGS or now - next(iter(self._tags.values())) > ID_WINDOW_S:
                    del self._tags[next(iter(self._tags))]
            else:
                self._card = (read.id, time.monotonic())
            self._id_read.set()

    def _recent(self, read: tuple[str, float] | None) -> str | None:
        return read[0] if read and time.monotonic() - read[1] <= ID_WINDOW_S else None

    def _tag_for(self, plate: str | None) -> str | None:
        """The e-plate of the truck in the lane among the tags read lately: the one registered to
        the plate the camera read, else the latest. The reader hears the queue too, and a reader
        that reports a tag once while it stays in its field does not report the next truck's tag
        again when it drives in: the latest read may be a truck behind it, which held the right
        truck for a tag not its own (docs/architecture.md, *The queue behind the truck*)."""
        now = time.monotonic()
        fresh = [t for t, at in self._tags.items() if now - at <= ID_WINDOW_S]  # the oldest first
        if plate is not None:
            for t in reversed(fresh):
                if self.records.plate_of_tag(t) == plate:
                    return t
        return fresh[-1] if fresh else None

    async def _wait(
        self, cond: Callable[[IoInputs], bool], timeout: float | None, stop: asyncio.Event | None = None
    ) -> bool:
        """Poll the loops (how Modbus I/O is read on site) until cond holds; False on timeout or
        once `stop` is set."""
        deadline = None if timeout is None else time.monotonic() + timeout
        while stop is None or not stop.is_set():
            if cond(await self.io.read_inputs()):
                return True
            if deadline is not None and time.monotonic() > deadline:
                return False
            await asyncio.sleep(self.poll_interval)
        return False

    async def _one_pass(self) -> None:
        started = datetime.now(UTC)
        pass_id = f"{self.node}-{self.cfg.id}-{started:%Y%m%d%H%M%S}-{uuid.uuid4().hex[:6]}"
        self.current = Current(pass_id=pass_id, started_at=started)
        self._enter(LaneState.PRESENT)
        self._enter(LaneState.COLLECTING)
        obs = await self._observe(pass_id)
        await self._decide_and_act(obs)

    async def _observe(self, pass_id: str) -> Observation:
        faults: list[str] = []
        lane_class = self.lane_class
        automatic = lane_class == "A"
        plate = None
        codes: Sequence[Reading] | None = None  # None: no container camera or reader on this lane
        frames_used = 0
        weight_task = asyncio.create_task(self._weigh(faults))
        if automatic:
            plate_frames = await self._frames(self.dev.plate_camera, faults, kind="plate_camera")
            cont_frames = await self._frames(self.dev.container_camera, faults, kind="container_camera")
            frames_used = len(plate_frames) + len(cont_frames)
            plate = (
                await asyncio.to_thread(self.rec.plate.read_many, [f.image for f in plate_frames])
                if plate_frames
                else None
            )
            if cont_frames and self.rec.container is not None:
                codes = await asyncio.to_thread(self.rec.container.read_codes, [[f.image for f in cont_frames]])
            if plate_frames:
                await self._viewed("plate_camera", plate_frames[0].image, plate is not None and plate.valid)
            if cont_frames:
                await self._viewed("container_camera", cont_frames[0].image, None)
            assert self.current is not None
            for kind, f in [("plate", f) for f in plate_frames[:1]] + [("container", f) for f in cont_frames[:1]]:
                digest = self.records.save_image(pass_id, f.jpeg, datetime.now(UTC))
                self.current.images.append(digest)
                self.current.kept.append((digest, kind, f.image))
            if plate_frames:
                self.on_frame(self.cfg.id, plate_frames[0].jpeg)
            face_frames = await self._frames(self.dev.face_camera, faults, count=1, kind="face_camera")
            self.current.face = face_frames[0].image if face_frames else None
        gross = await weight_task
        await self._await_ids(seal=self._expects_seal(plate.text if plate is not None and plate.valid else None))
        tag = self._tag_for(plate.text if plate is not None and plate.valid else None)
        e_plate = self.records.plate_of_tag(tag) if tag else None
        assert self.current is not None
        self.current.tag, self.current.identified = tag, True
        self.queue.entered(tag, plate.text if plate is not None and plate.valid else None)
        if tag and e_plate is None:
            faults.append(f"e-plate tag {tag} is not registered to any vehicle")
        # A container camera that read no code: at least one container the officer must key.
        unreadable = 1 if codes is not None and not codes else 0
        obs = Observation(
            pass_id=pass_id,
            lane=self.cfg.id,
            direction=self.direction,
            at=datetime.now(UTC),
            plate=plate.text if plate is not None and plate.valid else None,
            plate_confidence=float(plate.confidence) if plate is not None else 0.0,
            containers=[r.text for r in codes or [] if r.valid and r.text],
            container_types={
                r.text: st
                for r in codes or []
                if r.valid and r.text and isinstance(st := getattr(r, "size_type", None), str) and len(st) == 4
            },
            containers_unreadable=unreadable,
            gross_kg=gross,
            e_plate=e_plate,
            ic_card=self._recent(self._card),
            faults=faults,
            **self._seal_seen(),
        )
        self._tags.pop(tag or "", None)  # a read belongs to one truck
        self._card = self._seal = None
        self.log.debug("observed %s from %d frame(s)", obs.model_dump(mode="json"), frames_used)
        if not automatic:
            faults.append(f"lane class {lane_class}: the officer keys plate and containers")
            obs = obs.model_copy(update={"faults": faults})
        return obs

    def _seal_seen(self) -> dict[str, Any]:
        """The observation's e-seal fields: the seal heard in the last 30 s, if the lane has a reader."""
        if self.dev.e_seal is None:
            return {}
        seal = self._seal[0] if self._seal and time.monotonic() - self._seal[1] <= 30.0 else None
        return {
            "e_seal_reader": True,
            "e_seal": seal.seal if seal else None,
            "e_seal_status": seal.status if seal else None,
        }

    def _expects_seal(self, plate: str | None) -> bool:
        """The lane hears seals and this plate arrives on a transit declared with one (from the cache)."""
        return (
            self.dev.e_seal is not None
            and plate is not None
            and any(t.e_seal for t in self.records.transits_for(plate))
        )

    async def _await_ids(self, seal: bool = False) -> None:
        """Give the e-plate and card readers (and the e-seal reader, for a truck whose transit
        declares a seal) a moment if they have not read this truck yet."""
        deadline = time.monotonic() + self.cfg.id_wait_s
        while time.monotonic() < deadline and (
            (self.dev.rfid is not None and self._tag_for(None) is None)
            or (self.dev.ic_card is not None and self._recent(self._card) is None)
            or (seal and self._seal_seen().get("e_seal") is None)
        ):
            self._id_read.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._id_read.wait(), max(deadline - time.monotonic(), 0.01))

    def _device(self, kind: str, state: str, code: str = "", detail: str = "") -> None:
        try:
            self.on_device(self.cfg.id, kind, kind, state, code, detail)
        except Exception:  # health reporting must never cost a pass
            self.log.exception("device state not recorded")

    async def _frames(
        self, camera: Camera | None, faults: list[str], count: int | None = None, kind: str = "plate_camera"
    ) -> list[Frame]:
        if camera is None:
            return []
        frames: list[Frame] = []
        for _ in range(count or (self.cfg.plate_camera.frames if self.cfg.plate_camera else 1)):
            try:
                frames.append(await camera.snapshot())
            except CameraFault as exc:
                faults.append(str(exc))
                self._device(kind, "fault", "no_frame", str(exc))
                break
        if frames and kind not in self.views:
            self._device(kind, "ok")  # a reading camera is reported once its frames are read (_viewed)
        return frames

    async def _viewed(self, kind: str, image: np.ndarray, read: bool | None) -> None:
        """A reading camera that gave frames: working, unless its view has gone bad (camera_view.py).
        Judged in a worker thread (the veil measure, ~3 ms at 1920 px, is not the loop's work)."""
        watch = self.views.get(kind)
        try:
            problem = await asyncio.to_thread(watch.seen, image, read) if watch is not None else None
        except Exception:  # the watch must never cost a pass
            self.log.exception("camera view not judged")
            problem = None
        if problem is None:
            self._device(kind, "ok")
        else:
            self._device(kind, "fault", problem.code, problem.detail)

    async def _weigh(self, faults: list[str]) -> float | None:
        wb = self.dev.weighbridge
        if wb is None:
            return None
        try:
            sample = await wb.wait_for(lambda s: s.stable and s.weight_kg is not None, timeout=self.cfg.weigh_timeout_s)
        except TimeoutError:
            faults.append(f"weight not stable within {self.cfg.weigh_timeout_s:g}s ({wb.status.status.reason})")
            return None  # a truck not standing still is no device fault: the driver's status says that
        return float(sample.weight_kg)

    # -- deciding and acting ------------------------------------------------------------------
    async def _decide_and_act(self, obs: Observation, supersedes: str | None = None) -> None:
        t0 = time.perf_counter()
        self._enter(LaneState.DECIDING)
        params = self.records.parameters_for(self.cfg.id, self.params)
        knowledge = self.records.knowledge_for(
            obs.plate,
            obs.ic_card,
            obs.containers,
            entry_weighing=obs.direction == "out" and params.tare_mode == "measured",
            yard=params.yard,
        )
        if obs.face_score is None and (score := await self._face_score(knowledge)) is not None:
            obs = obs.model_copy(update={"face_score": score})
        decision = decide(obs, knowledge, params)
        assert self.current is not None
        self.current.observation, self.current.decision = obs, decision
        record = self._record(obs, decision, supersedes)
        # Write-ahead: the pass is durable before the barrier moves.
        self.store.record_pass(
            record,
            {
                "observation": obs.model_dump(mode="json"),
                "knowledge": knowledge.model_dump(mode="json"),
                "parameters": params.model_dump(mode="json"),
            },
        )
        self._published(record)
        self._mark_later(obs)
        self.log.info(
            "pass %s plate=%s outcome=%s reasons=%s",
            record.pass_id,
            obs.plate,
            decision.outcome.value,
            render_all(decision.reasons, "en", "; "),
        )
        if decision.outcome is Outcome.RELEASE:
            await self._release(t0 if supersedes is None else None)
        else:
            await self._hold(obs, decision)

    def _mark_later(self, obs: Observation) -> None:
        """Find the read plate / container code in the kept frames, after the decision (the barrier
        never waits for it), and tell the screens. Best effort: a recogniser without an OCR engine,
        or a text not found again, leaves the frame unmarked."""
        cur = self.current
        wanted = {"plate": obs.plate, "container": obs.containers[0] if obs.containers else None}
        todo = [(d, k, img) for d, k, img in (cur.kept if cur else []) if wanted[k] and d not in self.marks]
        if not todo:
            return
        task = asyncio.create_task(self._mark(todo, wanted, obs.pass_id))
        self._background.add(task)
        task.add_done_callback(self._background.discard)

    async def _mark(self, todo: list[tuple[str, str, np.ndarray]], wanted: dict[str, str | None], pass_id: str) -> None:
        for digest, kind, image in todo:
            reader = self.rec.plate if kind == "plate" else self.rec.container
            engine = getattr(reader, "engine", None)
            text = wanted[kind]
            if engine is None or not text:
                continue
            try:
                lines = await asyncio.to_thread(engine.lines, image, 480)
            except Exception as exc:  # a display aid: never a lane fault
                self.log.warning("could not locate the %s in frame %s: %s", kind, digest[:12], exc)
                continue
            box = locate(lines, text)
            if box is None:
                continue
            h, w = image.shape[:2]
            self.marks[digest] = [{"kind": kind, "text": text, "box": box, "width": w, "height": h}]
            while len(self.marks) > 200:  # the screen shows recent passes only
                self.marks.pop(next(iter(self.marks)), None)
            self.on_event(
                {"type": "marks", "lane": self.cfg.id, "pass_id": pass_id, "image": digest, "marks": self.marks[digest]}
            )

    async def _face_score(self, knowledge: Knowledge) -> float | None:
        """1:1 check of the face frame against the driver's registered photo, when both exist."""
        cur, matcher, folder = self.current, self.rec.face, self.rec.faces_dir
        ref = knowledge.driver.photo_ref if knowledge.driver else None
        if cur is None or cur.face is None or matcher is None or folder is None or not ref:
            return None
        path = folder / Path(ref).name  # never outside the faces directory
        reference = await asyncio.to_thread(cv2.imread, str(path)) if path.is_file() else None
        if reference is None:
            self.log.warning(
                "reference photo %s for driver %s is missing or unreadable",
                path,
                knowledge.driver.driver_id if knowledge.driver else "?",
            )
            return None
        try:
            return round(await asyncio.to_thread(matcher.match, cur.face, reference), 4)
        except ValueError as exc:
            self.log.warning("face match failed: %s", exc)
            return None

    def _published(self, record: PassRecord) -> None:
        self.last_pass = record
        self.on_pass(record)
        self.on_event({"type": "pass", "lane": self.cfg.id, "pass": record.model_dump(mode="json")})

    def _record(self, obs: Observation, decision: Decision, supersedes: str | None) -> PassRecord:
        assert self.current is not None
        return PassRecord(
            pass_id=obs.pass_id,
            node=self.node,
            lane=self.cfg.id,
            direction=obs.direction,
            started_at=self.current.started_at,
            decided_at=obs.at,
            plate=obs.plate,
            plate_confidence=obs.plate_confidence,
            containers=obs.containers,
            gross_kg=obs.gross_kg,
            outcome=decision.outcome,
            reasons=decision.reasons,
            release_order=decision.release_order,
            release_orders=decision.release_orders,
            knowledge_version=decision.knowledge_version,
            opens_barrier=decision.outcome is Outcome.RELEASE,
            checks=list(decision.checks),
            e_plate=obs.e_plate,
            ic_card=obs.ic_card,
            entered_by=obs.entered_by,
            supersedes=supersedes,
            images=list(self.current.images),
            transit_no=decision.transit_no,
        )

    async def _hold(self, obs: Observation, decision: Decision) -> None:
        state = LaneState.HELD if decision.outcome is Outcome.OFFICER else LaneState.INSPECTION
        self._enter(state, render_all(decision.reasons))
        self.central_disposal()  # central may have disposed of the hit already (a re-decided pass)
        # Wait for an officer, or for the vehicle to leave the lane (turned away / to inspection).
        while True:
            # Also when this lane is being cancelled, the two waits end with it. `stop` too: on
            # Python 3.11 a cancel that lands as a Modbus read completes is lost by
            # asyncio.wait_for (it returns the read), and the poll would go on for as long as
            # the truck stands there, with the officer's command taken and never carried out.
            stop = asyncio.Event()
            cmd_task, gone_task = await first_of(
                self.commands.get(),
                self._wait(lambda i: not (i.loop_before or i.loop_under or i.loop_after), timeout=None, stop=stop),
                on_stop=stop.set,
            )
            if finished(cmd_task):
                if await self._officer(cmd_task.result(), obs):
                    return
                continue
            gone_task.result()
            self.current = None
            self._enter(LaneState.IDLE, "vehicle left without release")
            return

    def backfill(self, pass_id: str, officer: str, plate: str, containers: list[str]) -> PassRecord | None:
        """The plate and containers of a truck released on documents, keyed afterwards: a pass record
        superseding that release, so central, traceability and the orders' exit counts get them.

        The keyed data go through decide()'s checks as of the release (control orders, registrations,
        weight): what fails is in the reasons and checks, for central to alert on; the outcome stays
        the release that happened, and the orders covering the containers count the exit."""
        found = self.store.get_pass(pass_id)
        if found is None:
            return None
        done, _ = found
        obs = Observation(
            pass_id=f"{pass_id}-b{uuid.uuid4().hex[:4]}",
            lane=done.lane,
            direction=done.direction,
            at=done.decided_at,
            plate=plate,
            plate_confidence=1.0,
            containers=containers,
            gross_kg=done.gross_kg,
            e_plate=done.e_plate,
            ic_card=done.ic_card,
            entered_by=officer,
        )
        params = self.records.parameters_for(self.cfg.id, self.params)
        knowledge = self.records.knowledge_for(plate, done.ic_card, containers, yard=params.yard)
        decision = decide(obs, knowledge, params)
        # It has gone: no draw to make, and at an inspection lane the officer's release was the decision.
        checks = [c for c in decision.checks if c.name != "random" and c.code is not CheckCode.LANE_INSPECTION]
        used = [o.order_no for o in orders_for(obs, knowledge)]
        record = PassRecord(
            pass_id=obs.pass_id,
            node=self.node,
            lane=done.lane,
            direction=done.direction,
            started_at=done.started_at,
            decided_at=datetime.now(UTC),
            plate=plate,
            plate_confidence=1.0,
            containers=containers,
            gross_kg=done.gross_kg,
            outcome=Outcome.RELEASE,
            reasons=[finding(CheckCode.BACKFILLED, officer=officer)] + [c.finding() for c in checks if not c.ok],
            release_order=used[0] if used else None,
            release_orders=used,
            knowledge_version=decision.knowledge_version,
            opens_barrier=False,
            checks=checks,
            e_plate=done.e_plate,
            ic_card=done.ic_card,
            entered_by=officer,
            supersedes=pass_id,
            images=list(done.images),
        )
        # Not a decision of the lane (replay leaves it alone): what was keyed and what it was judged on.
        self.store.record_pass(
            record,
            {
                "backfill_of": pass_id,
                "backfill_observation": obs.model_dump(mode="json"),
                "knowledge": knowledge.model_dump(mode="json"),
                "parameters": params.model_dump(mode="json"),
            },
        )
        self.on_pass(record)
        self.on_event({"type": "pass", "lane": self.cfg.id, "pass": record.model_dump(mode="json")})
        return record

    def record_intervention(
        self, at: datetime, pass_id: str, officer: str, action: Action, reason: str, data: dict[str, Any]
    ) -> None:
        """Write down an officer action on this lane that replaced an automatic step (人工干预)."""
        self.records.record_intervention(
            Intervention(
                at=at, lane=self.cfg.id, pass_id=pass_id, officer=officer, action=action, reason=reason, data=data
            )
        )

    def record_inspection(self, pass_id: str, officer: str, result: InspectionResult, note: str) -> PassRecord | None:
        """The result of the inspection of a vehicle this lane sent to the inspection area and that
        has left the lane: a pass record superseding the one that sent it (the lane holding it
        takes the result as an officer command instead). Its outcome stays `inspection` and it
        opens nothing: the vehicle is released, or held, when it comes back, judged against this
        result (its mark). None if `pass_id` is no decision of this lane that sent a vehicle to
        inspection (a further-inspection result is followed up on the pass that sent it)."""
        found = self.store.get_pass(pass_id)
        if found is None or found[0].lane != self.cfg.id or found[0].outcome is not Outcome.INSPECTION:
            return None
        sent, _ = found
        if any(c.code in INSPECTION_RESULT_CODES for c in sent.checks):
            return None  # a result itself (further inspection): the next one is for the pass that sent it
        code = CheckCode.INSPECTION_PASSED if result == "passed" else RESULT_CODES[result]
        result_check = check(code, result == "passed", officer=officer, note=note)
        now = datetime.now(UTC)
        record = sent.model_copy(
            update={
                "pass_id": f"{pass_id}-i{uuid.uuid4().hex[:4]}",
                "decided_at": now,
                "reasons": [result_check.finding()],
                "checks": [result_check],
                "opens_barrier": False,
                "release_order": None,
                "release_orders": [],
                "entered_by": officer,
                "supersedes": pass_id,
                "knowledge_version": self.store.knowledge_version,
            }
        )
        self.record_intervention(
            now, pass_id, officer, "inspection_result", note, {"result": result, "recorded_as": record.pass_id}
        )
        record = PassRecord.model_validate(record.model_dump())  # model_copy does not validate
        self.store.record_pass(record, {"inspection_of": pass_id, "result": result})
        self.on_pass(record)
        self.on_event({"type": "pass", "lane": self.cfg.id, "pass": record.model_dump(mode="json")})
        return record

    def central_disposal(self) -> bool:
        """If central disposed of the control-order hit holding this lane's vehicle and released it,
        queue that as the command that releases it; True if it did. Called when knowledge changes."""
        cur = self.current
        if (
            cur is None
            or cur.observation is None
            or self.state not in (LaneState.HELD, LaneState.INSPECTION)
            or not control_hold(cur.decision)
        ):
            return False
        rows = self.store.query(
            "SELECT data FROM knowledge WHERE kind = 'control_disposal' AND key = ?", (cur.observation.pass_id,)
        )
        if not rows or self._disposal_queued == cur.observation.pass_id:
            return False
        try:
            data = json.loads(rows[0][0])
            if data.get("release") is not True:
                return False
            cmd = OfficerCommand(
                action="control_disposal", officer=f"central:{data['by']}", reason=str(data.get("disposal", ""))
            )
        except (ValueError, KeyError, TypeError):
            self.log.warning("unreadable control disposal for pass %s", cur.observation.pass_id)
            return False
        self._disposal_queued = cur.observation.pass_id
        self.commands.put_nowait(cmd)
        return True

    async def _officer(self, cmd: OfficerCommand, obs: Observation) -> bool:
        """Carry out an officer's command on the held vehicle; True when the pass is finished."""
        now = datetime.now(UTC)
        if control_release_refused(self.current.decision if self.current else None, cmd):
            self.log.warning("refused %s by %s alone on a control-order hold", cmd.action, cmd.officer)
            return False  # the API refuses it first; nothing reaches the barrier without a second officer
        data = cmd.model_dump(exclude={"officer", "action", "reason"}, mode="json")
        self.record_intervention(now, obs.pass_id, cmd.officer, cmd.action, cmd.reason, data)
        new_id = f"{obs.pass_id}-m{uuid.uuid4().hex[:4]}"
        if cmd.action == "manual_entry":
            io_faults = [f for f in obs.faults if "barrier" in f or "I/O" in f]
            manual = obs.model_copy(
                update={
                    "pass_id": new_id,
                    "at": now,
                    "plate": cmd.plate,
                    "plate_confidence": 1.0,
                    "containers": cmd.containers or obs.containers,
                    "containers_unreadable": 0,
                    "faults": io_faults,
                    "entered_by": cmd.officer,
                }
            )
            await self._decide_and_act(manual, supersedes=obs.pass_id)
            return True
        if cmd.action == "inspection_result" and cmd.result != "passed":
            self._inspection_failed(cmd, obs, new_id, now)
            return False
        outcome = Outcome.INSPECTION if cmd.action == "override" and cmd.outcome == "inspection" else Outcome.RELEASE
        if cmd.action == "control_disposal":
            reason = finding(CheckCode.CONTROL_DISPOSAL_RELEASED, officer=cmd.officer, note=cmd.reason or "")
        elif cmd.confirmed_by:  # a control-order hold: two officers
            code = {
                "override": CheckCode.OFFICER_OVERRIDE_CONFIRMED,
                "inspection_result": CheckCode.INSPECTION_PASSED_CONFIRMED,
                "release_on_documents": CheckCode.RELEASED_ON_DOCUMENTS_CONFIRMED,
            }[cmd.action]
            reason = finding(code, officer=cmd.officer, confirmed_by=cmd.confirmed_by, note=cmd.reason or "")
        else:
            code = {
                "override": CheckCode.OFFICER_OVERRIDE,
                "inspection_result": CheckCode.INSPECTION_PASSED,
                "release_on_documents": CheckCode.RELEASED_ON_DOCUMENTS,
            }[cmd.action]
            reason = finding(code, officer=cmd.officer, note=cmd.reason or "")
        # A passed inspection is a check too: the vehicle's "inspected" mark (kakou.edge.inspections).
        result_check = [check(reason.code, True, **reason.params)] if cmd.action == "inspection_result" else []
        decision = Decision(
            outcome=outcome, reasons=[reason], checks=result_check, knowledge_version=self.store.knowledge_version
        )
        record = self._record(
            obs.model_copy(update={"pass_id": new_id, "at": now, "entered_by": cmd.officer}), decision, obs.pass_id
        )
        self.store.record_pass(
            record,
            {"officer_command": cmd.model_dump(mode="json"), "superseded_observation": obs.model_dump(mode="json")},
        )
        if cmd.action == "release_on_documents":
            self.records.add_backfill(new_id, self.cfg.id, now)
        self._published(record)
        if outcome is Outcome.RELEASE:
            await self._release()
            return True
        self._enter(LaneState.INSPECTION, decision.reasons[0].text())
        return False

    def _inspection_failed(self, cmd: OfficerCommand, obs: Observation, new_id: str, now: datetime) -> None:
        """A failed inspection (seized, returned, further inspection): recorded as a pass that
        supersedes the one that sent the vehicle to inspection, so central stores and counts it and
        the vehicle's mark holds it wherever it turns up next; the barrier stays down."""
        assert cmd.result is not None and cmd.result != "passed"
        code = RESULT_CODES[cmd.result]
        result = check(code, False, officer=cmd.officer, note=cmd.reason or "")
        outcome = Outcome.INSPECTION if cmd.result == "further_inspection" else Outcome.OFFICER
        decision = Decision(
            outcome=outcome, reasons=[result.finding()], checks=[result], knowledge_version=self.store.knowledge_version
        )
        record = self._record(
            obs.model_copy(update={"pass_id": new_id, "at": now, "entered_by": cmd.officer}), decision, obs.pass_id
        )
        self.store.record_pass(
            record,
            {"officer_command": cmd.model_dump(mode="json"), "superseded_observation": obs.model_dump(mode="json")},
        )
        self._published(record)
        self._enter(LaneState.INSPECTION, result.text())

    async def _release(self, decided_from: float | None = None) -> None:
        self._enter(LaneState.RELEASED)
        try:
            if decided_from is not None:
                self.decision_ms.append((time.perf_counter() - decided_from) * 1000)
            await self.io.open_barrier()
            self._device("barrier", "ok")
            await self.io.set_light(True)
        except BarrierFault as exc:
            self._device("barrier", "fault", "no_feedback", str(exc))
            self._enter(LaneState.FAULT, str(exc))
        await self._clear_and_close()

    async def _clear_and_close(self, why: str = "") -> None:
        self._enter(LaneState.CLEARING, why)
        # The vehicle has gone (through, or backed out) once every loop is clear.
        while not await self._wait(
            lambda i: not (i.loop_before or i.loop_under or i.loop_after), timeout=self.cfg.clear_timeout_s
        ):
            self.log.warning("lane not clear after %ss; barrier stays up until it is", self.cfg.clear_timeout_s)
        await self.io.set_light(False)
        while True:
            try:
                await self.io.close_barrier()
                self._device("barrier", "ok")
                break
            except BarrierRefused:
                await self._wait(lambda i: not i.loop_under, timeout=None)
            except BarrierFault as exc:
                self._device("barrier", "fault", "no_feedback", str(exc))
                self._enter(LaneState.FAULT, str(exc))
                break
        self.current = None
        self._enter(LaneState.IDLE)
