"""What the serial readers that push their reads share (card/RFID readers, the e-seal reader): a
pty, a queue of reads sent one by one, a heartbeat, and a lifecycle as an async context manager."""

from __future__ import annotations

import asyncio
import contextlib
from pathlib import Path
from typing import Self

from kakou.sim.pty_port import PtyPort


class PushingReaderSim:
    def __init__(self, name: str, link_dir: str | Path | None, heartbeat_s: float, read_interval_s: float) -> None:
        self.heartbeat_s = heartbeat_s
        self.read_interval_s = read_interval_s  # gap between repeated reports of what is in range
        self.port = PtyPort(name, link_dir)
        self.reader_status = 0  # heartbeat status; nonzero is a reader fault
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def path(self) -> str:
        return self.port.path

    def disconnect(self) -> None:
        self.port.disconnect()

    def reconnect(self) -> None:
        self.port.open()

    async def __aenter__(self) -> Self:
        self.port.open()
        self._tasks = [asyncio.create_task(self._reads()), asyncio.create_task(self._heartbeats())]
        return self

    async def __aexit__(self, *exc: object) -> None:
        for t in self._tasks:
            t.cancel()
        for t in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await t
        self.port.close()

    async def _send(self, data: bytes) -> None:
        """Write one read or heartbeat, with whatever fault the reader is told to show."""
        raise NotImplementedError

    def _heartbeat(self) -> bytes:
        raise NotImplementedError

    async def _reads(self) -> None:
        while True:
            await self._send(await self._queue.get())
            await asyncio.sleep(self.read_interval_s)

    async def _heartbeats(self) -> None:
        while True:
            await self._send(self._heartbeat())
            await asyncio.sleep(self.heartbeat_s)
