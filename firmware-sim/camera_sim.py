"""An IP camera over HTTP: JPEG snapshots and an MJPEG stream, steerable by tests and scenarios.

Minimal HTTP/1.1 on asyncio streams: it is all such a camera speaks, and it keeps the simulator
free of a web framework. `/snapshot.jpg` is what plate cameras offer to a lane controller;
`/video.mjpg` (multipart/x-mixed-replace, as Axis/Hikvision/Dahua-style cameras serve it) is read by
OpenCV like an RTSP stream, so the video driver is tested against a live network source.

Faults: no frame (HTTP 503), slow response, garbage body, truncated JPEG, hang up without an
answer, and a stalled stream (connection open, no more frames).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from dataclasses import dataclass, field

from kakou.tasks import StartStop

log = logging.getLogger(__name__)
BOUNDARY = b"kakouframe"


@dataclass
class CameraSim(StartStop):
    host: str = "127.0.0.1"
    port: int = 0
    jpeg: bytes | None = None  # None: the camera has no frame to give
    delay: float = 0.0  # fault injection: slow response
    garbage: bool = False  # fault injection: body is not an image
    truncated: bool = False  # fault injection: the JPEG is cut off half way (a lost TCP tail, a crashed encoder)
    hang_up: bool = False  # fault injection: close the connection without answering
    stalled: bool = False  # fault injection: the MJPEG stream stops sending frames, connection stays open
    stream_fps: float = 10.0
    requests: int = 0
    frames_streamed: int = 0
    shown: list[bytes | None] = field(default_factory=list)  # every image shown, in order (scenario log)
    _server: asyncio.base_events.Server | None = field(default=None, repr=False)
    _streams: set[asyncio.Task] = field(default_factory=set, repr=False)
    _stopping: bool = field(default=False, repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/snapshot.jpg"

    @property
    def stream_url(self) -> str:
        return f"http://{self.host}:{self.port}/video.mjpg"

    def show(self, jpeg: bytes | None) -> None:
        self.jpeg = jpeg
        self.shown.append(jpeg)

    async def start(self) -> None:
        self._stopping = False
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("camera simulator on %s", self.url)

    async def stop(self) -> None:
        if self._server:
            self._server.close()
            # Streams end on their own (a cancelled connection handler is logged as an error by asyncio).
            self._stopping = True
            if self._streams:
                await asyncio.wait(self._streams, timeout=5)
            await self._server.wait_closed()
            self._server = None

    def _body(self) -> tuple[bytes, bytes, bytes]:
        if self.garbage:
            return b"200 OK", b"\x00garbage" * 100, b"image/jpeg"
        if self.jpeg is None:
            return b"503 Service Unavailable", b"no frame", b"text/plain"
        if self.truncated:
            return b"200 OK", self.jpeg[: len(self.jpeg) // 2], b"image/jpeg"
        return b"200 OK", self.jpeg, b"image/jpeg"

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await reader.readuntil(b"\r\n\r\n")
            self.requests += 1
            path = request.split(b" ", 2)[1] if request.count(b" ") >= 2 else b"/"
            if self.delay:
                await asyncio.sleep(self.delay)
            if self.hang_up:
                return
            if path == b"/video.mjpg":
                task = asyncio.current_task()
                assert task is not None
                self._streams.add(task)
                try:
                    await self._stream(writer)
                finally:
                    self._streams.discard(task)
                return
            if path != b"/snapshot.jpg":
                status, body, ctype = b"404 Not Found", b"not found", b"text/plain"
            else:
                status, body, ctype = self._body()
            writer.write(
                b"HTTP/1.1 "
                + status
                + b"\r\nContent-Type: "
                + ctype
                + b"\r\nContent-Length: "
                + str(len(body)).encode()
                + b"\r\nConnection: close\r\n\r\n"
                + body
            )
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass  # a client that hung up or sent junk; a camera just drops it
        finally:
            writer.close()

    async def _stream(self, writer: asyncio.StreamWriter) -> None:
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: multipart/x-mixed-replace; boundary="
            + BOUNDARY
            + b"\r\nCache-Control: no-cache\r\nConnection: close\r\n\r\n"
        )
        while not self._stopping:
            if not self.stalled and self.jpeg is not None:
                status, body, _ = self._body()
                if status.startswith(b"200"):
                    writer.write(
                        b"--"
                        + BOUNDARY
                        + b"\r\nContent-Type: image/jpeg\r\nContent-Length: "
                        + str(len(body)).encode()
                        + b"\r\n\r\n"
                        + body
                        + b"\r\n"
                    )
                    self.frames_streamed += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(writer.drain(), 5.0)
            if writer.is_closing():
                return
            await asyncio.sleep(1.0 / self.stream_fps)
