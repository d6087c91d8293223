"""E-seal (电子关锁) reader on a pty: reports the seals in range and a heartbeat, as the real one does.

Faults to inject: `garbage()` (noise on the line), `tampered` seals (`present_seal(status=...)`),
`corrupt_next` (sentences with a wrong checksum), `silent` (the reader hangs: nothing at all) and
`reader_status` (the reader reports an error in its heartbeat); line faults via `port.faults`.
"""

from __future__ import annotations

import os
from pathlib import Path

from kakou.protocols.eseal import SealStatus, encode_heartbeat, encode_read
from kakou.sim.pushing_sim import PushingReaderSim


class EsealReaderSim(PushingReaderSim):
    def __init__(
        self,
        *,
        heartbeat_s: float = 1.0,
        read_interval_s: float = 0.05,
        name: str = "eseal0",
        link_dir: str | Path | None = None,
    ) -> None:
        super().__init__(name, link_dir, heartbeat_s, read_interval_s)
        self.corrupt_next = 0  # sentences to send with a wrong checksum
        self.silent = False  # the reader hangs: no reads, no heartbeat
        self.sentences_sent = 0

    # --- control ------------------------------------------------------------------------------

    def present_seal(self, seal: str, *, status: SealStatus = "intact", battery_pct: int = 87, reads: int = 3) -> None:
        """A truck whose container carries `seal` comes into range and is heard `reads` times."""
        for _ in range(reads):
            self._queue.put_nowait(encode_read(seal, status, battery_pct))

    def garbage(self, n: int = 64) -> None:
        """A burst of noise on the line (interference, a wrong baud rate on the way)."""
        self._queue.put_nowait(os.urandom(n))

    async def _send(self, data: bytes) -> None:
        if self.silent:
            return
        if self.corrupt_next and data.startswith(b"$"):
            self.corrupt_next -= 1
            star = data.index(b"*")
            data = data[: star + 1] + (b"00" if data[star + 1 : star + 3] != b"00" else b"FF") + data[star + 3 :]
        self.port.write(data)
        self.sentences_sent += 1

    def _heartbeat(self) -> bytes:
        return encode_heartbeat(self.reader_status)
