"""Uploads the lane's frames to central, after their pass is acknowledged, in pass order.

Pass records go up the MQTT outbox and carry only the SHA-256 of each frame; the JPEGs follow
over HTTP (`PUT {central}/api/v1/images/{sha256}?pass_id=…`), so a slow upload never delays a pass
and never touches a lane: this is its own task, and every file and database access runs in a
thread. Only passes central has acknowledged are considered, so central already holds the pass that
lists the image and can check the link.

Outcomes: stored (201) or already there (200) → `uploaded`; the file was pruned by image retention
before it went up → `missing`; central refuses it for good (422 hash mismatch or not a JPEG, 409 the
pass does not list it, 413 too large) → `failed` with central's reason, and the queue moves on.
Anything else (network down, central down, 401 token not yet installed, 404 pass not yet at
central, 5xx) is retried with capped exponential back-off, keeping the order.

Configuration: `{data_dir}/image-upload.json` = `{"url": "https://central:8080", "token": "kn_…"}`
(the node's upload token, issued at central by `kakou.central.images.NodeTokens.issue`). Without
that file the uploader waits for it and uploads nothing; frames stay on the edge.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime
from pathlib import Path

import httpx
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kakou.edge.store import EdgeStore

log = logging.getLogger(__name__)

CONFIG_FILE = "image-upload.json"


PERMANENT = {409, 413, 415, 422}  # central will never accept this upload: record it and move on


class UploadConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(pattern=r"^https?://")
    token: str = Field(min_length=8)
    timeout_s: float = Field(30.0, gt=0)


class Job(BaseModel):
    seq: int
    pass_id: str
    sha256: str
    path: str


def _cursor(store: EdgeStore) -> int:
    rows = store.query("SELECT value FROM image_upload_state WHERE key = 'cursor'")
    return int(rows[0][0]) if rows else 0


def next_job(store: EdgeStore) -> Job | None:
    """The first frame not yet handled of the acknowledged passes, in seq order (then capture order)."""
    cursor, acked = _cursor(store), store.acked_seq
    rows = store.query(
        """SELECT o.seq, i.pass_id, i.sha256, i.path FROM outbox o
           JOIN images i ON i.pass_id = (CASE WHEN json_valid(o.body) THEN json_extract(o.body, '$.pass_id') END)
           LEFT JOIN image_uploads u ON u.sha256 = i.sha256
           WHERE o.seq > ? AND o.seq <= ? AND o.kind = 'pass' AND u.sha256 IS NULL
           ORDER BY o.seq, i.taken_at, i.sha256 LIMIT 1""",
        (cursor, acked),
    )
    # Everything before the first pending frame is done: move the cursor so later scans start there.
    done_to = rows[0][0] - 1 if rows else acked
    if done_to > cursor:
        with store.tx() as db:
            db.execute(
                "INSERT INTO image_upload_state(key, value) VALUES('cursor', ?) "
                "ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (done_to,),
            )
    return Job(seq=rows[0][0], pass_id=rows[0][1], sha256=rows[0][2], path=rows[0][3]) if rows else None


def record(store: EdgeStore, job: Job, status: str, detail: str = "") -> None:
    with store.tx() as db:
        db.execute(
            "INSERT OR REPLACE INTO image_uploads(sha256, pass_id, seq, status, at, detail) VALUES(?, ?, ?, ?, ?, ?)",
            (job.sha256, job.pass_id, job.seq, status, datetime.now(UTC).isoformat(), detail),
        )


def counts(store: EdgeStore) -> dict[str, int]:
    """Frames per upload status (`uploaded`, `missing`, `failed`); pending ones are not listed."""
    return {s: n for s, n in store.query("SELECT status, COUNT(*) FROM image_uploads GROUP BY status")}


def load_config(data_dir: Path) -> UploadConfig | None:
    path = data_dir / CONFIG_FILE
    try:
        return UploadConfig.model_validate_json(path.read_bytes())
    except FileNotFoundError:
        return None
    except (ValidationError, ValueError) as exc:
        log.error("%s is invalid, not uploading images: %s", path, str(exc).splitlines()[0])
        return None


class ImageUploader:
    def __init__(
        self, store: EdgeStore, data_dir: Path, poll_s: float = 1.0, min_backoff: float = 0.5, max_backoff: float = 60.0
    ) -> None:
        self.store = store
        self.data_dir = data_dir
        self.poll_s = poll_s  # how often an idle uploader looks for newly acknowledged passes
        self.min_backoff = min_backoff
        self.max_backoff = max_backoff
        self.uploaded = 0
        self.retries = 0  # attempts that will be repeated (central or network unavailable)
        self._wake = asyncio.Event()

    def wake(self) -> None:
        """Something may be ready (a new ack): look now instead of at the next poll."""
        self._wake.set()

    async def _idle(self, seconds: float) -> None:
        self._wake.clear()
        try:
            await asyncio.wait_for(self._wake.wait(), seconds)
        except TimeoutError:
            pass

    async def run(self) -> None:
        while True:
            try:
                cfg = await asyncio.to_thread(load_config, self.data_dir)
                if cfg is None:
                    await self._idle(30)
                    continue
                headers = {"Authorization": f"Bearer {cfg.token}", "Content-Type": "image/jpeg"}
                async with httpx.AsyncClient(
                    base_url=cfg.url.rstrip("/"), headers=headers, timeout=cfg.timeout_s
                ) as http:
                    await self._upload_all(http)
            except Exception:  # the node runs on without image uploads rather than stop its lanes
                log.exception("image uploader failed; restarting it in %.0fs", self.max_backoff)
                await asyncio.sleep(self.max_backoff)

    async def _upload_all(self, http: httpx.AsyncClient) -> None:
        backoff = self.min_backoff
        while True:
            job = await asyncio.to_thread(next_job, self.store)
            if job is None:
                await self._idle(self.poll_s)
                continue
            if await self._upload(http, job):
                backoff = self.min_backoff
            else:
                self.retries += 1
                await asyncio.sleep(backoff)  # back-off between retries of the same frame
                backoff = min(backoff * 2, self.max_backoff)

    async def _upload(self, http: httpx.AsyncClient, job: Job) -> bool:
        """True if the frame is settled (uploaded, missing or refused for good); False to retry it."""
        try:
            data = await asyncio.to_thread(Path(job.path).read_bytes)
        except FileNotFoundError:
            log.warning("frame %s of pass %s was pruned before it was uploaded", job.sha256, job.pass_id)
            await asyncio.to_thread(record, self.store, job, "missing", "file gone before upload")
            return True
        try:
            resp = await http.put(f"/api/v1/images/{job.sha256}", params={"pass_id": job.pass_id}, content=data)
        except httpx.HTTPError as exc:
            log.info("image upload to central failed (%s); will retry", exc)
            return False
        if resp.status_code in (200, 201):
            self.uploaded += 1
            await asyncio.to_thread(record, self.store, job, "uploaded")
            return True
        if resp.status_code in PERMANENT:
            detail = f"HTTP {resp.status_code}: {resp.text[:300]}"
            log.error("central refused frame %s of pass %s: %s", job.sha256, job.pass_id, detail)
            await asyncio.to_thread(record, self.store, job, "failed", detail)
            return True
        log.info("image upload got HTTP %s (%s); will retry", resp.status_code, resp.text[:200])
        return False
