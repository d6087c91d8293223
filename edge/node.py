"""An edge node: its store, its link to central, its lanes, and the local lane API + screen."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from kakou.edge.api import create_app
from kakou.edge.config import EdgeConfig, LaneSection
from kakou.edge.device_states import DeviceStates
from kakou.edge.events import LaneEvents
from kakou.edge.image_upload import ImageUploader
from kakou.edge.lane import Lane, LaneDevices, Recogniser, Recognisers
from kakou.edge.link import EdgeLink
from kakou.edge.officers import OfficerSessions
from kakou.edge.records import LaneRecords
from kakou.edge.store import EdgeStore
from kakou.http_server import make_server
from kakou.models.face import load_matcher
from kakou.netutil import bind_tcp
from kakou.protocols.camera import open_camera
from kakou.protocols.modbus_io import LaneIO
from kakou.protocols.serial_link import DeviceStatus
from kakou.sync.devices import DeviceKind
from kakou.sync.signing import key_id, load_public_b64
from kakou.tasks import run_together

log = logging.getLogger(__name__)


def trusted_keys(cfg: EdgeConfig) -> dict:
    texts = list(cfg.central.public_keys) + [Path(p).read_text() for p in cfg.central.public_key_files]
    keys = [load_public_b64(t) for t in texts]
    return {key_id(k): k for k in keys}


def default_recognisers(cfg: EdgeConfig) -> Recognisers:
    from kakou.models.container import ContainerReader  # heavy imports: ONNX models
    from kakou.models.plate import PlateReader

    wants_containers = any(lane.container_camera for lane in cfg.lanes)
    wants_faces = any(lane.face_camera for lane in cfg.lanes)
    return Recognisers(
        plate=PlateReader(threshold=cfg.parameters.min_plate_confidence, latin_patterns=cfg.latin_plate_patterns),
        container=ContainerReader() if wants_containers else None,
        face=load_matcher(cfg.face_matcher) if wants_faces else None,
        faces_dir=cfg.faces_dir,
    )


class EdgeNode:
    def __init__(
        self, cfg: EdgeConfig, recognisers: Recognisers | None = None, plate_recogniser: Recogniser | None = None
    ) -> None:
        self.cfg = cfg
        self.id = cfg.node.id
        self.store = EdgeStore(cfg.node.data_dir / "edge.db")
        self.records = LaneRecords(self.store, cfg.node.data_dir / "images")
        self.device_states = DeviceStates(self.id)
        self.link = EdgeLink(self.id, self.store, cfg.broker, trusted_keys(cfg), device_states=self.device_states)
        self.uploader = ImageUploader(self.store, cfg.node.data_dir)  # frames of acked passes → central
        self.events = LaneEvents()
        self.officers = OfficerSessions({o.id: o for o in cfg.officers}, lookup=self.store.officer_pin)
        if recognisers is None:
            recognisers = Recognisers(plate=plate_recogniser) if plate_recogniser else default_recognisers(cfg)
        self._devices: list[Any] = []
        self.lanes = {lane.id: self._lane(lane, recognisers) for lane in cfg.lanes}
        self._sock = bind_tcp(cfg.http.host, cfg.http.port, f"edge {self.id} lane API")
        self.url = f"http://{cfg.http.host}:{self._sock.getsockname()[1]}"
        self._http = make_server(create_app(self))

    def _lane(self, lane: LaneSection, recognisers: Recognisers) -> Lane:
        io = LaneIO.from_url(lane.io.url, lane.io.io_map(), feedback_timeout=lane.io.feedback_timeout_s)
        cam = lambda c: open_camera(c.url, timeout=c.timeout_s, one_field=c.one_field, turn=c.turn) if c else None  # noqa: E731
        devices = LaneDevices(
            io=io,
            plate_camera=cam(lane.plate_camera),
            container_camera=cam(lane.container_camera),
            face_camera=cam(lane.face_camera),
        )
        if lane.weighbridge:
            from kakou.protocols.weighbridge import WeighbridgeDriver

            devices.weighbridge = WeighbridgeDriver(lane.weighbridge)
        for attr in ("rfid", "ic_card"):
            if getattr(lane, attr):
                from kakou.protocols.cardreader import CardReaderDriver

                setattr(devices, attr, CardReaderDriver(getattr(lane, attr)))
        if lane.display:
            from kakou.protocols.display import DisplayDriver

            devices.display = DisplayDriver(lane.display)
        if lane.e_seal:
            from kakou.protocols.eseal import EsealReaderDriver

            devices.e_seal = EsealReaderDriver(lane.e_seal)
        self._devices += [
            d
            for d in (devices.weighbridge, devices.rfid, devices.ic_card, devices.display, devices.e_seal)
            if d is not None
        ]
        serial: tuple[DeviceKind, ...] = ("weighbridge", "rfid", "ic_card", "display")
        for kind in serial:  # the serial drivers judge their own health
            driver = getattr(devices, kind)
            if driver is not None:
                driver.status.on_change(lambda st, k=kind, lid=lane.id: self._serial_state(lid, k, st))
        return Lane(
            self.id,
            lane,
            devices,
            recognisers,
            self.store,
            self.records,
            self.cfg.parameters,
            on_pass=lambda _rec: self.link.wake(),
            on_event=self.events.publish,
            on_frame=self.events.put_snapshot,
            on_device=self.device_states.set,
        )

    def _serial_state(self, lane: str, kind: DeviceKind, st: DeviceStatus) -> None:
        """A serial driver's status change as a device state ("connecting" at start-up is no state
        yet; after a fault, the device is still down until it is online again)."""
        if st.state == "online":
            self.device_states.set(lane, kind, kind, "ok")
        elif st.state == "faulted":
            self.device_states.set(lane, kind, kind, "fault", "driver_fault", st.reason)

    def knowledge_age_s(self) -> float | None:
        at = self.store.knowledge_updated_at()
        return None if at is None else (datetime.now(UTC) - datetime.fromisoformat(at)).total_seconds()

    def status(self) -> dict[str, Any]:
        link = self.link
        return {
            "node": self.id,
            "online": link.online,
            "offline_since": link.offline_since.isoformat() if link.offline_since else None,
            "knowledge_version": self.store.knowledge_version,
            "knowledge_age_s": self.knowledge_age_s(),
            "outbox": self.store.outbox_counts(),
            "lanes": [lane.snapshot() for lane in self.lanes.values()],
        }

    async def _housekeeping(self) -> None:
        """Image retention: by age, then oldest first while disk is short. Pass records stay."""
        while True:
            removed = await asyncio.to_thread(
                self.records.prune_images,
                timedelta(days=self.cfg.image_retention_days),
                self.cfg.min_free_disk_mb * 1024 * 1024,
                datetime.now(UTC),
            )
            if removed:
                log.info("image retention removed %d frame(s)", removed)
            await asyncio.sleep(600)

    async def _control_disposals(self) -> None:
        """Central's disposal of a control-order hit arrives as knowledge: release the held vehicle."""
        while True:
            await self.link.knowledge_changed.wait()
            self.link.knowledge_changed.clear()
            for lane in self.lanes.values():
                lane.central_disposal()

    async def run(self) -> None:
        log.info("edge node %s: %d lane(s), lane screen on %s/lane", self.id, len(self.lanes), self.url)
        async with contextlib.AsyncExitStack() as stack:
            for dev in self._devices:
                await stack.enter_async_context(dev)
            parts = {
                "link": self.link.run(),
                "edge-http": self._http.serve(sockets=[self._sock]),
                "housekeeping": self._housekeeping(),
                "image-upload": self.uploader.run(),
                "control-disposals": self._control_disposals(),
            }
            parts |= {f"lane-{lid}": lane.run() for lid, lane in self.lanes.items()}
            try:
                await run_together(parts, on_stop=self._stop_serving)
            finally:
                for lane in self.lanes.values():
                    lane.io.close()
                self.store.close()

    def _stop_serving(self) -> None:
        self._http.should_exit = True
        self.events.close()  # end the lane screens' event streams so the HTTP server can stop
