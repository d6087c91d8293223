"""uvicorn embedded in our own asyncio loop, on a socket we bound ourselves; server-sent events."""

from __future__ import annotations

import contextlib
import json
import socket
from collections.abc import AsyncIterator, Generator

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
