"""uvicorn embedded in our own asyncio loop, on a socket we bound ourselves; server-sent events."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from collections.abc import AsyncIterator, Callable, Generator

import uvicorn
from fastapi import FastAPI
from fastapi.responses import StreamingResponse


class EmbeddedServer(uvicorn.Server):
    # Several servers share one process; signals belong to the CLI, which cancels everything.
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def make_server(app: FastAPI) -> EmbeddedServer:
    return EmbeddedServer(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))


async def serve(server: EmbeddedServer, sock: socket.socket) -> None:
    await server.serve(sockets=[sock])


def sse(event: str, data: object) -> str:
    """One server-sent event with a compact JSON body (the lane screen, the field page)."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"), default=str)
    return f"event: {event}\ndata: {body}\n\n"


def event_stream(events: AsyncIterator[str]) -> StreamingResponse:
    # No caching, and no buffering by a reverse proxy (nginx honours X-Accel-Buffering): events must arrive live.
    return StreamingResponse(
        events, media_type="text/event-stream", headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}
    )


class Keepalive:
    """When an event stream owes its client a keepalive comment: after `every_s` with nothing sent
    (proxies drop idle connections)."""

    comment = ": keepalive\n\n"

    def __init__(self, every_s: float, clock: Callable[[], float] = time.monotonic) -> None:
        self.every_s = every_s
        self._clock = clock
        self.sent()

    def sent(self) -> None:
        """Something went out just now."""
        self._since = self._clock()

    def due(self) -> bool:
        """True once the stream has been quiet for `every_s` (the keepalive then counts as sent)."""
        if self._clock() - self._since <= self.every_s:
            return False
        self.sent()
        return True
