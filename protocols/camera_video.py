"""Video camera sources through OpenCV: RTSP, HTTP MJPEG streams and video files.

A stream must be read continuously: decoders buffer, and a frame grabbed "on demand" from an RTSP
session that nobody drained is seconds old. So one reader thread per camera (cv2 blocks) reads
every frame and keeps the latest; `snapshot()` hands out that latest frame only if it is fresh.
Faults the lane sees as CameraFault: "no frame" (never got one: cannot open, wrong URL, dead
camera) and "stale frame" (frames stopped: stream stalled, file ended, camera hung). A lost stream
is reopened with exponential back-off until it is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from kakou.protocols.camera import CameraFault, Frame
from kakou.protocols.serial_link import Backoff, State, StatusTracker

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Latest:
    image: np.ndarray
    taken_at: float  # time.time()
    mono: float  # time.monotonic(), for ages that survive clock steps
    seq: int


class VideoCamera:
    def __init__(
        self,
        source: str | Path,
        *,
        open_timeout: float = 5.0,
        read_timeout: float = 2.0,
        max_age_s: float = 1.0,
        loop: bool = False,
        realtime: bool | None = None,
        backoff: Backoff | None = None,
    ) -> None:
        """`source`: rtsp://…, http://…/video.mjpg, or a video file path.

        `max_age_s`: a frame older than this is stale. `loop`: replay a file forever (a test
        rig standing in for a live camera). `realtime`: pace a file at its own frame rate (default
        for files; a stream is paced by the camera).
        """
        self.source = str(source)
        self.is_file = "://" not in self.source or self.source.startswith("file://")
        self.open_timeout = open_timeout
        self.read_timeout = read_timeout
        self.max_age_s = max_age_s
        self.loop = loop
        self.realtime = self.is_file if realtime is None else realtime
        self.backoff = backoff or Backoff(initial_s=0.5, max_s=10.0)
        self.status = StatusTracker(f"camera {self.source}")
        self.frames_read = 0
        self.opens = 0
        self._latest: _Latest | None = None
        self._returned_seq = 0
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._aloop: asyncio.AbstractEventLoop | None = None
        self._new_frame: asyncio.Event | None = None

    # -- lifecycle -------------------------------------------------------------------------------
    async def start(self) -> None:
        if self._thread is not None:
            return
        self._aloop = asyncio.get_running_loop()
        self._new_frame = asyncio.Event()
        self._thread = threading.Thread(target=self._run, name=f"camera {self.source}", daemon=True)
        self._thread.start()

    async def aclose(self) -> None:
        self._stop.set()
        if self._thread is not None:
            # The thread notices within one read timeout; don't block the loop meanwhile.
            await asyncio.to_thread(self._thread.join, self.open_timeout + self.read_timeout + 1)
            self._thread = None

    async def __aenter__(self) -> VideoCamera:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    # -- what the lane calls ---------------------------------------------------------------------
    async def snapshot(self) -> Frame:
        """The newest frame, waiting briefly for one not handed out before; CameraFault if none is fresh."""
        await self.start()
        assert self._new_frame is not None
        latest = self._latest
        # First call: the stream may still be opening. Later: a live source delivers a new frame
        # within a frame period, so waiting up to max_age costs nothing when the camera is healthy.
        wait = self.open_timeout + self.read_timeout if latest is None else self.max_age_s
        deadline = time.monotonic() + wait
        while (latest is None or latest.seq <= self._returned_seq) and time.monotonic() < deadline:
            self._new_frame.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._new_frame.wait(), max(deadline - time.monotonic(), 0))
            latest = self._latest
        reason = self.status.status.reason
        if latest is None:
            raise CameraFault(f"camera {self.source}: no frame within {wait:.1f}s ({reason})")
        age = time.monotonic() - latest.mono
        if age > self.max_age_s:
            raise CameraFault(f"camera {self.source}: stale frame, last one {age:.1f}s old ({reason})")
        self._returned_seq = latest.seq
        ok, buf = await asyncio.to_thread(cv2.imencode, ".jpg", latest.image)
        if not ok:
            raise CameraFault(f"camera {self.source}: frame could not be encoded")
        return Frame(image=latest.image, jpeg=buf.tobytes(), taken_at=latest.taken_at)

    # -- reader thread ---------------------------------------------------------------------------
    def _report(self, state: State, reason: str) -> None:
        if self._aloop is not None and not self._aloop.is_closed():
            with contextlib.suppress(RuntimeError):  # loop shutting down
                self._aloop.call_soon_threadsafe(self.status.set, state, reason)

    def _publish(self, image: np.ndarray) -> None:
        with self._lock:
            seq = self._latest.seq + 1 if self._latest else 1
            self._latest = _Latest(image, time.time(), time.monotonic(), seq)
        self.frames_read += 1
        if self._aloop is not None and self._new_frame is not None and not self._aloop.is_closed():
            with contextlib.suppress(RuntimeError):
                self._aloop.call_soon_threadsafe(self._new_frame.set)

    def _open(self) -> cv2.VideoCapture:
        src = self.source.removeprefix("file://")
        params = [
            cv2.CAP_PROP_OPEN_TIMEOUT_MSEC,
            int(self.open_timeout * 1000),
            cv2.CAP_PROP_READ_TIMEOUT_MSEC,
            int(self.read_timeout * 1000),
        ]
        return cv2.VideoCapture(src, cv2.CAP_FFMPEG, params)

    def _run(self) -> None:
        delays = self.backoff.delays()
        while not self._stop.is_set():
            if self.is_file and not Path(self.source.removeprefix("file://")).is_file():
                self._report("faulted", "no such video file")
                self._stop.wait(next(delays))
                continue
            cap = self._open()
            if not cap.isOpened():
                cap.release()
                self._report("faulted", "cannot open the source (unreachable, wrong URL or not a video)")
                self._stop.wait(next(delays))
                continue
            self.opens += 1
            ended = self._read_all(cap)
            cap.release()
            if ended:  # a file that played to its end: nothing more will come
                self._report("faulted", "end of video file")
                self._stop.wait()
                return
            if self.frames_read:
                delays = self.backoff.delays()  # it worked for a while: retry soon
            self._stop.wait(next(delays))

    def _read_all(self, cap: cv2.VideoCapture) -> bool:
        """Read until the source fails (False) or a file ends without `loop` (True)."""
        fps = cap.get(cv2.CAP_PROP_FPS) if self.realtime else 0.0
        period = 1.0 / fps if fps and fps > 0 else 0.0
        next_at = time.monotonic()
        got_any = rewound = False
        while not self._stop.is_set():
            ok, image = cap.read()
            if not ok or image is None:
                if self.is_file and got_any and not rewound:
                    if not self.loop:
                        return True
                    rewound = cap.set(cv2.CAP_PROP_POS_FRAMES, 0)  # a file that cannot seek gets reopened
                    continue
                self._report(
                    "faulted",
                    "no frame within the read timeout (stream lost or stalled)"
                    if got_any
                    else "opened but no frame decoded",
                )
                return False
            if not got_any:
                self._report("online", "frames arriving")
                got_any = True
            rewound = False
            self._publish(image)
            if period:
                next_at += period
                self._stop.wait(max(next_at - time.monotonic(), 0))
        return False
