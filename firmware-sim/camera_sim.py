"""An IP camera that serves JPEG snapshots over HTTP, steerable by tests and scenarios.

Minimal HTTP/1.1 on asyncio streams: it is all a snapshot camera speaks, and it keeps the
simulator free of a web framework. Faults: no frame (HTTP 503), slow response, garbage body.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

log = logging.getLogger(__name__)


@dataclass
class CameraSim:
    host: str = "127.0.0.1"
    port: int = 0
    jpeg: bytes | None = None  # None: the camera has no frame to give
    delay: float = 0.0  # fault injection: slow response
    garbage: bool = False  # fault injection: body is not an image
    requests: int = 0
    _server: asyncio.base_events.Server | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}/snapshot.jpg"

    def show(self, jpeg: bytes | None) -> None:
        self.jpeg = jpeg

    async def start(self) -> None:
        self._server = await asyncio.start_server(self._serve, self.host, self.port)
        self.port = self._server.sockets[0].getsockname()[1]
        log.info("camera simulator on %s", self.url)

    async def stop(self) -> None:
        if self._server:
            self._server.close()
            await self._server.wait_closed()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await reader.readuntil(b"\r\n\r\n")
            self.requests += 1
            path = request.split(b" ", 2)[1] if request.count(b" ") >= 2 else b"/"
            if self.delay:
                await asyncio.sleep(self.delay)
            if path != b"/snapshot.jpg":
                status, body, ctype = b"404 Not Found", b"not found", b"text/plain"
            elif self.garbage:
                status, body, ctype = b"200 OK", b"\x00garbage" * 100, b"image/jpeg"
            elif self.jpeg is None:
                status, body, ctype = b"503 Service Unavailable", b"no frame", b"text/plain"
            else:
                status, body, ctype = b"200 OK", self.jpeg, b"image/jpeg"
            writer.write(b"HTTP/1.1 " + status + b"\r\nContent-Type: " + ctype
                         + b"\r\nContent-Length: " + str(len(body)).encode()
                         + b"\r\nConnection: close\r\n\r\n" + body)
            await writer.drain()
        except (asyncio.IncompleteReadError, asyncio.LimitOverrunError, ConnectionError):
            pass  # a client that hung up or sent junk; a camera just drops it
        finally:
            writer.close()
