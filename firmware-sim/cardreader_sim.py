"""RFID e-plate reader / IC card reader on a pty, pushing reads and heartbeats as the real ones do."""

from __future__ import annotations

import asyncio
from pathlib import Path

from kakou.protocols.cardreader import encode_card_read, encode_heartbeat, encode_tag_read
from kakou.sim.pushing_sim import PushingReaderSim


class CardReaderSim(PushingReaderSim):
    def __init__(
        self,
        *,
        addr: int = 1,
        heartbeat_s: float = 1.0,
        read_interval_s: float = 0.02,
        name: str = "idreader0",
        link_dir: str | Path | None = None,
    ) -> None:
        super().__init__(name, link_dir, heartbeat_s, read_interval_s)
        self.addr = addr
        self.corrupt_next = 0  # frames to send with a wrong CRC
        self.response_delay_s = 0.0  # slow reader: pause before each frame
        self.frames_sent = 0

    # --- control ------------------------------------------------------------------------------

    def present_tag(self, tag_id: bytes | str, *, reads: int = 3, antenna: int = 1, rssi_dbm: int = -52) -> None:
        """A truck's e-plate enters the field and is read `reads` times."""
        tid = bytes.fromhex(tag_id) if isinstance(tag_id, str) else tag_id
        for _ in range(reads):
            self._queue.put_nowait(encode_tag_read(tid, addr=self.addr, antenna=antenna, rssi_dbm=rssi_dbm))

    def present_card(self, uid: bytes | str, *, card_type: str = "iso14443a", reads: int = 1) -> None:
        """The driver swipes an IC card."""
        u = bytes.fromhex(uid) if isinstance(uid, str) else uid
        for _ in range(reads):
            self._queue.put_nowait(encode_card_read(u, addr=self.addr, card_type=card_type))

    async def _send(self, frame: bytes) -> None:
        if self.response_delay_s:
            await asyncio.sleep(self.response_delay_s)
        if self.corrupt_next:
            self.corrupt_next -= 1
            frame = frame[:-3] + bytes((frame[-3] ^ 0xFF,)) + frame[-2:]  # flip the CRC's high byte
        self.port.write(frame)
        self.frames_sent += 1

    def _heartbeat(self) -> bytes:
        return encode_heartbeat(self.addr, self.reader_status)
