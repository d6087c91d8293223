"""E-seal (电子关锁) reader on a pty: reports the seals in range and a heartbeat, as the real one does.

Faults to inject: `garbage()` (noise on the line), `tampered` seals (`present_seal(status=...)`),
`corrupt_next` (sentences with a wrong checksum), `silent` (the reader hangs: nothing at all) and
`reader_status` (the reader reports an error in its heartbeat); line faults via `port.faults`.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from pathlib import Path

from kakou.protocols.eseal import SealStatus, encode_heartbeat, encode_read
from kakou.sim.pty_port import PtyPort


class EsealReaderSim:
    def __init__(self, *, heartbeat_s: float = 1.0, read_interval_s: float = 0.05, name: str = "eseal0",
                 link_dir: str | Path | None = None) -> None:
        self.heartbeat_s = heartbeat_s
        self.read_interval_s = read_interval_s  # gap between repeated reports of a seal in range
        self.port = PtyPort(name, link_dir)
        self.corrupt_next = 0  # sentences to send with a wrong checksum
        self.silent = False  # the reader hangs: no reads, no heartbeat
        self.reader_status = 0  # heartbeat status; nonzero is a reader error
        self.sentences_sent = 0
        self._queue: asyncio.Queue[bytes] = asyncio.Queue()
        self._tasks: list[asyncio.Task[None]] = []

    @property
    def path(self) -> str:
        return self.port.path

    # --- control ------------------------------------------------------------------------------

    def present_seal(self, seal: str, *, status: SealStatus = "intact", battery_pct: int = 87,
                     reads: int = 3) -> None:
        """A truck whose container carries `seal` comes into range and is heard `reads` times."""
        for _ in range(reads):
            self._queue.put_nowait(encode_read(seal, status, battery_pct))

    def garbage(self, n: int = 64) -> None:
        """A burst of noise on the line (interference, a wrong baud rate on the way)."""
        self._queue.put_nowait(os.urandom(n))

    def disconnect(self) -> None:
        self.port.disconnect()

    def reconnect(self) -> None:
        self.port.open()

    # --- lifecycle ----------------------------------------------------------------------------

    async def __aenter__(self) -> EsealReaderSim:
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

    def _send(self, data: bytes) -> None:
        if self.silent:
            return
        if self.corrupt_next and data.startswith(b"$"):
            self.corrupt_next -= 1
            star = data.index(b"*")
            data = data[: star + 1] + (b"00" if data[star + 1: star + 3] != b"00" else b"FF") + data[star + 3:]
        self.port.write(data)
        self.sentences_sent += 1

    async def _reads(self) -> None:
        while True:
            self._send(await self._queue.get())
            await asyncio.sleep(self.read_interval_s)

    async def _heartbeats(self) -> None:
        while True:
            self._send(encode_heartbeat(self.reader_status))
            await asyncio.sleep(self.heartbeat_s)
