"""Camera sources: HTTP JPEG snapshot (what most plate/container cameras offer), and `open_camera`
which picks the source for a URL (RTSP, MJPEG streams and video files are in `camera_video`).

A camera that returns nothing, garbage or a frame older than allowed raises CameraFault with
a reason the lane shows to the officer; the lane then reads by hand, never opens on its own.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Protocol

import cv2
import httpx
import numpy as np


class CameraFault(Exception):
    pass


@dataclass(frozen=True)
class Frame:
    image: np.ndarray  # BGR
    jpeg: bytes
    taken_at: float  # time.time()


class Camera(Protocol):
    """What the lane needs from any camera source."""

    async def snapshot(self) -> Frame: ...

    async def aclose(self) -> None: ...


def decode_snapshot(data: bytes, source: str, max_bytes: int = 20_000_000) -> np.ndarray:
    """Decode a camera's image bytes (BGR); CameraFault for anything that is not a whole image."""
    if not data or len(data) > max_bytes:
        raise CameraFault(f"camera {source} returned {len(data)} bytes (no usable frame)")
    # A JPEG cut short still decodes (libjpeg fills the rest with grey), so check its markers:
    # half a plate must never reach the recogniser as if it were the whole image.
    if data[:2] == b"\xff\xd8" and not data.rstrip(b"\0\r\n").endswith(b"\xff\xd9"):
        raise CameraFault(f"camera {source} returned a truncated JPEG ({len(data)} bytes, no end marker)")
    image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    if image is None or image.size == 0:
        raise CameraFault(f"camera {source} returned an undecodable image")
    return image


class HttpSnapshotCamera:
    def __init__(
        self, url: str, timeout: float = 2.0, max_bytes: int = 20_000_000, frozen_after_s: float | None = None
    ) -> None:
        """`frozen_after_s`: fault when the camera serves byte-identical JPEGs for this long.

        A live sensor never produces the same JPEG twice (noise); an identical one means a hung
        encoder serving its last buffer — a stale frame that would otherwise look perfectly fine.
        Off by default because a snapshot-only camera in a still scene *can* repeat when its
        firmware caches snapshots.
        """
        self.url = url
        self.timeout = timeout
        self.max_bytes = max_bytes
        self.frozen_after_s = frozen_after_s
        self._http = httpx.AsyncClient(timeout=timeout)
        self._last_digest: bytes | None = None
        self._same_since = 0.0

    async def snapshot(self) -> Frame:
        try:
            resp = await self._http.get(self.url)
        except httpx.TimeoutException as exc:
            raise CameraFault(f"camera {self.url} timed out after {self.timeout}s") from exc
        except httpx.HTTPError as exc:
            raise CameraFault(f"camera {self.url} unreachable: {exc or type(exc).__name__}") from exc
        if resp.status_code != 200:
            raise CameraFault(f"camera {self.url} answered HTTP {resp.status_code} (no frame)")
        data = resp.content
        image = decode_snapshot(data, self.url, self.max_bytes)
        now = time.time()
        self._check_frozen(data, now)
        return Frame(image=image, jpeg=data, taken_at=now)

    def _check_frozen(self, data: bytes, now: float) -> None:
        if self.frozen_after_s is None:
            return
        digest = hashlib.blake2b(data, digest_size=16).digest()
        if digest != self._last_digest:
            self._last_digest, self._same_since = digest, now
        elif now - self._same_since > self.frozen_after_s:
            raise CameraFault(
                f"stale frame from {self.url}: the same image for {now - self._same_since:.1f}s (camera frozen?)"
            )

    async def aclose(self) -> None:
        await self._http.aclose()


def doubled_rows(image: np.ndarray) -> np.ndarray:
    """One field of a picture (half its rows) back at the picture's height (linear)."""
    h, w = image.shape[:2]
    return np.asarray(cv2.resize(image, (w, 2 * h), interpolation=cv2.INTER_LINEAR))


class OneFieldCamera:
    """A camera (an analogue one through a DVR or encoder set to 2CIF, 704 x 288) whose every
    frame is one field: half the rows of the picture, everything squashed to half its height.
    Each frame's rows are doubled (linear) so plates and codes are read at their own shape (field
    dev plates squashed so: 70 of 87 read, doubled again 84). The JPEG kept for the record is the
    camera's own. Not guessed from the frame's shape: a 21:9 camera's frames are as wide."""

    def __init__(self, camera: Camera) -> None:
        self.camera = camera

    async def snapshot(self) -> Frame:
        frame = await self.camera.snapshot()
        return Frame(image=doubled_rows(frame.image), jpeg=frame.jpeg, taken_at=frame.taken_at)

    async def aclose(self) -> None:
        await self.camera.aclose()


TURNS = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}


class TurnedCamera:
    """A camera mounted on its side (to see a container's full height from beside the lane) or
    upside down (a roof camera on a gantry): each frame turned `turn` degrees clockwise so that
    its text stands upright, as the readers read it. The readers can find that out themselves
    (models/orientation.py), but only after a frame has read nothing, at the cost of a failed
    reading on every truck: a camera's mounting is known, so it is a setting. The JPEG kept for
    the record is the camera's own."""

    def __init__(self, camera: Camera, turn: int) -> None:
        if turn not in TURNS:
            raise ValueError(f"a camera turns by 90, 180 or 270 degrees, not {turn}")
        self.camera = camera
        self.turn = turn

    async def snapshot(self) -> Frame:
        frame = await self.camera.snapshot()
        return Frame(image=cv2.rotate(frame.image, TURNS[self.turn]), jpeg=frame.jpeg, taken_at=frame.taken_at)

    async def aclose(self) -> None:
        await self.camera.aclose()


def open_camera(
    url: str,
    *,
    kind: str | None = None,
    timeout: float = 2.0,
    max_age_s: float = 1.0,
    one_field: bool = False,
    turn: int = 0,
) -> Camera:
    """A camera for `url`: `snapshot` (HTTP JPEG), or `video` (rtsp://, an MJPEG stream, a file);
    `one_field`: its frames are one field each (OneFieldCamera); `turn`: they are turned that
    many degrees clockwise to stand upright (TurnedCamera).

    Without `kind`, rtsp(s):// and paths are video; http(s):// is a snapshot unless it ends in
    .mjpg/.mjpeg (a stream).
    """
    if turn:
        return TurnedCamera(
            open_camera(url, kind=kind, timeout=timeout, max_age_s=max_age_s, one_field=one_field), turn
        )
    if one_field:
        return OneFieldCamera(open_camera(url, kind=kind, timeout=timeout, max_age_s=max_age_s))
    if kind is None:
        low = url.lower().split("?", 1)[0]
        is_http = low.startswith(("http://", "https://"))
        kind = "snapshot" if is_http and not low.endswith((".mjpg", ".mjpeg")) else "video"
    if kind == "snapshot":
        return HttpSnapshotCamera(url, timeout=timeout)
    if kind == "video":
        from kakou.protocols.camera_video import VideoCamera  # OpenCV's video I/O only when used

        return VideoCamera(url, read_timeout=timeout, max_age_s=max_age_s)
    raise ValueError(f"unknown camera kind {kind!r} (snapshot or video)")
