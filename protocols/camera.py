"""Camera sources: HTTP JPEG snapshot (what most plate/container cameras offer).

A camera that returns nothing, garbage or a frame older than allowed raises CameraFault with
a reason the lane shows to the officer; the lane then reads by hand, never opens on its own.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

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


class HttpSnapshotCamera:
    def __init__(self, url: str, timeout: float = 2.0, max_bytes: int = 20_000_000) -> None:
        self.url = url
        self.timeout = timeout
        self.max_bytes = max_bytes
        self._http = httpx.AsyncClient(timeout=timeout)

    async def snapshot(self) -> Frame:
        try:
            resp = await self._http.get(self.url)
        except httpx.TimeoutException as exc:
            raise CameraFault(f"camera {self.url} timed out after {self.timeout}s") from exc
        except httpx.HTTPError as exc:
            raise CameraFault(f"camera {self.url} unreachable: {exc}") from exc
        if resp.status_code != 200:
            raise CameraFault(f"camera {self.url} answered HTTP {resp.status_code} (no frame)")
        data = resp.content
        if not data or len(data) > self.max_bytes:
            raise CameraFault(f"camera {self.url} returned {len(data)} bytes (no usable frame)")
        image = cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
        if image is None:
            raise CameraFault(f"camera {self.url} returned an undecodable image")
        return Frame(image=image, jpeg=data, taken_at=time.time())

    async def aclose(self) -> None:
        await self._http.aclose()
