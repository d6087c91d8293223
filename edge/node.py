"""An edge node: its store, its link to central, its lanes, and the local lane API."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

from kakou.edge.api import create_app
from kakou.edge.config import EdgeConfig, LaneSection
from kakou.edge.lane import Lane, PlateRecogniser
from kakou.edge.link import EdgeLink
from kakou.edge.store import EdgeStore
from kakou.http_server import make_server
from kakou.netutil import bind_tcp
from kakou.protocols.camera import HttpSnapshotCamera
from kakou.protocols.modbus_io import LaneIO
from kakou.sync.signing import key_id, load_public_b64

log = logging.getLogger(__name__)


def trusted_keys(cfg: EdgeConfig) -> dict:
    texts = list(cfg.central.public_keys) + [Path(p).read_text() for p in cfg.central.public_key_files]
    keys = [load_public_b64(t) for t in texts]
    return {key_id(k): k for k in keys}


class EdgeNode:
    def __init__(self, cfg: EdgeConfig, recogniser: PlateRecogniser | None = None) -> None:
        self.cfg = cfg
        self.id = cfg.node.id
        self.store = EdgeStore(cfg.node.data_dir / "edge.db")
        self.link = EdgeLink(self.id, self.store, cfg.broker, trusted_keys(cfg))
        if recogniser is None:
            from kakou.models.plate import PlateReader  # heavy import: ONNX models

            recogniser = PlateReader()
        self.lanes = {lane.id: self._lane(lane, recogniser) for lane in cfg.lanes}
        self._sock = bind_tcp(cfg.http.host, cfg.http.port, f"edge {self.id} lane API")
        self.url = f"http://{cfg.http.host}:{self._sock.getsockname()[1]}"
        self._http = make_server(create_app(self))

    def _lane(self, lane: LaneSection, recogniser: PlateRecogniser) -> Lane:
        io = LaneIO(lane.io.host, lane.io.port, lane.io.map, feedback_timeout=lane.io.feedback_timeout_s)
        cam = HttpSnapshotCamera(lane.plate_camera.url, lane.plate_camera.timeout_s) if lane.plate_camera else None
        return Lane(self.id, lane, io, cam, recogniser, self.store, self.cfg.parameters,
                    on_pass=lambda _rec: self.link.wake())

    def knowledge_age_s(self) -> float | None:
        at = self.store.knowledge_updated_at()
        return None if at is None else (datetime.now(UTC) - datetime.fromisoformat(at)).total_seconds()

    async def run(self) -> None:
        log.info("edge node %s: %d lane(s), lane API on %s", self.id, len(self.lanes), self.url)
        tasks = [asyncio.create_task(self.link.run(), name="link"),
                 asyncio.create_task(self._http.serve(sockets=[self._sock]), name="edge-http")]
        tasks += [asyncio.create_task(lane.run(), name=f"lane-{lid}") for lid, lane in self.lanes.items()]
        try:
            done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
            for t in done:
                t.result()
        finally:
            self._http.should_exit = True
            for t in tasks:
                t.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            for lane in self.lanes.values():
                lane.io.close()
            self.store.close()
