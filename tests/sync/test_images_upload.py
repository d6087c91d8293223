"""The edge's image uploader on its own: central not there yet, pruned and damaged frames.

Real SQLite at both ends, central's real HTTP server on a real socket."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from pathlib import Path

import numpy as np

from kakou.central import ingest
from kakou.central.images import NodeTokens
from kakou.central.server import CentralConfig, CentralServer
from kakou.edge import image_upload
from kakou.edge.image_upload import ImageUploader
from kakou.edge.records import LaneRecords
from kakou.edge.store import EdgeStore
from kakou.edge.sync_runner import sample_pass
from kakou.netutil import free_port
from kakou.sim.render import encode_jpeg
from kakou.sync.messages import Envelope
from kakou.sync.mqtt import BrokerConfig
from kakou.waiting import eventually

NODE = "img-edge1"


def _frame(shade: int) -> bytes:
    return encode_jpeg(np.full((48, 64, 3), shade, np.uint8))


async def test_uploader_waits_for_central_then_sends_in_order_and_skips_what_it_cannot_send(tmp_path: Path) -> None:
    store = EdgeStore(tmp_path / "edge" / "edge.db")
    records = LaneRecords(store, tmp_path / "edge" / "images")
    at = datetime.now(UTC)
    envs, shas = [], []
    for n in range(1, 6):
        rec = sample_pass(NODE, n)
        sha = records.save_image(rec.pass_id, _frame(20 * n), at)
        rec = rec.model_copy(update={"images": [sha]})
        seq = store.record_pass(rec, {})
        envs.append(Envelope(node=NODE, seq=seq, kind="pass", sent_at=at, body=rec))
        shas.append(sha)
    records.image_path(shas[1]).unlink()  # type: ignore[union-attr]  # pruned before upload
    records.image_path(shas[2]).write_bytes(_frame(250))  # type: ignore[union-attr]  # damaged on disk
    store.mark_acked(4)  # pass 5 is not acknowledged yet: its frame must wait

    port = free_port()
    central_dir = tmp_path / "central"
    token = NodeTokens(central_dir / "keys" / "node-tokens.json").issue(NODE)
    (tmp_path / "edge" / image_upload.CONFIG_FILE).write_text(
        json.dumps({"url": f"http://127.0.0.1:{port}", "token": token})
    )
    uploader = ImageUploader(store, tmp_path / "edge", poll_s=0.05, min_backoff=0.05, max_backoff=0.2)
    task = asyncio.create_task(uploader.run())
    server: CentralServer | None = None
    central_task = None
    try:
        # Central is not up: nothing is settled, the first frame is retried, the others wait behind it.
        await eventually(lambda: uploader.retries >= 3, 10, what="retries while central is down")
        assert image_upload.counts(store) == {}
        server = CentralServer(
            CentralConfig(data_dir=central_dir, http_port=port, broker=BrokerConfig(port=free_port()))
        )
        ingest.ingest_passes(server.central, envs)
        central_task = asyncio.create_task(server.run())

        await eventually(
            lambda: image_upload.counts(store) == {"uploaded": 2, "missing": 1, "failed": 1},
            20,
            what="frames of acked passes settled",
        )
        rows = store.query("SELECT seq, status FROM image_uploads ORDER BY at")
        assert rows == [(1, "uploaded"), (2, "missing"), (3, "failed"), (4, "uploaded")]
        images = server.app.state.images
        assert images.find(shas[0]) and images.find(shas[3])
        assert images.find(shas[1]) is None and images.find(shas[2]) is None  # damaged bytes never stored
        assert images.find(shas[4]) is None  # its pass is not acknowledged

        store.mark_acked(5)
        uploader.wake()
        await eventually(lambda: images.find(shas[4]), 10, what="the frame of the pass acked later")
    finally:
        task.cancel()
        if central_task:
            central_task.cancel()
        await asyncio.gather(task, *([central_task] if central_task else []), return_exceptions=True)
        store.close()
