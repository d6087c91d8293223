"""uvicorn embedded in our own asyncio loop, on a socket we bound ourselves."""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Generator

import uvicorn
from fastapi import FastAPI


class EmbeddedServer(uvicorn.Server):
    # Several servers share one process; signals belong to the CLI, which cancels everything.
    @contextlib.contextmanager
    def capture_signals(self) -> Generator[None, None, None]:
        yield


def make_server(app: FastAPI) -> EmbeddedServer:
    return EmbeddedServer(uvicorn.Config(app, log_level="warning", lifespan="off", access_log=False))


async def serve(server: EmbeddedServer, sock: socket.socket) -> None:
    await server.serve(sockets=[sock])
