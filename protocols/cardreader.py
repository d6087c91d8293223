"""RFID e-plate reader and IC card reader on a serial line (kakou serial frame, see frames.py).

Both readers push reads unsolicited and a heartbeat every second. A tag parked in the RFID field
is read many times a second, so reads of the same id within `dedup_window_s` of its previous read
are suppressed: a lane sees one event per presence, and a new one once the tag has been away.

Payloads (after ADDR and CMD):
    0x01 HEARTBEAT  STATUS(1)                           0 = ok, else a reader error code
    0x10 TAG_READ   ANTENNA(1) RSSI(1, int8 dBm) ID(4..32)   e-plate TID/EPC
    0x20 CARD_READ  CARD_TYPE(1) UID(4..10)              1 = ISO14443A, 2 = ISO14443B, 3 = CPU card
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kakou.protocols.frames import Frame, encode_frame
from kakou.protocols.serial_fanout import Fanout
from kakou.protocols.serial_framed import FramedSerialDevice
from kakou.protocols.serial_link import Backoff, SerialSettings

CMD_HEARTBEAT = 0x01
CMD_TAG_READ = 0x10
CMD_CARD_READ = 0x20
CARD_TYPES = {1: "iso14443a", 2: "iso14443b", 3: "cpu"}
_CARD_TYPE_CODES = {v: k for k, v in CARD_TYPES.items()}

Kind = Literal["rfid", "card"]


@dataclass(frozen=True)
class IdRead:
    kind: Kind
    id: str  # uppercase hex of the tag/card id bytes
    addr: int
    t: float  # monotonic receive time
    antenna: int | None = None
    rssi_dbm: int | None = None
    card_type: str | None = None

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind, "id": self.id, "addr": self.addr}
        if self.kind == "rfid":
            out |= {"antenna": self.antenna, "rssi_dbm": self.rssi_dbm}
        else:
            out["card_type"] = self.card_type
        return out


def encode_heartbeat(addr: int = 1, status: int = 0, *, corrupt_crc: bool = False) -> bytes:
    return encode_frame(addr, CMD_HEARTBEAT, bytes((status,)), corrupt_crc=corrupt_crc)


def encode_tag_read(
    tag_id: bytes, *, addr: int = 1, antenna: int = 1, rssi_dbm: int = -50, corrupt_crc: bool = False
) -> bytes:
    if not 4 <= len(tag_id) <= 32:
        raise ValueError("tag id must be 4..32 bytes")
    data = bytes((antenna,)) + rssi_dbm.to_bytes(1, "big", signed=True) + tag_id
    return encode_frame(addr, CMD_TAG_READ, data, corrupt_crc=corrupt_crc)


def encode_card_read(uid: bytes, *, addr: int = 1, card_type: str = "iso14443a", corrupt_crc: bool = False) -> bytes:
    if not 4 <= len(uid) <= 10:
        raise ValueError("card uid must be 4..10 bytes")
    return encode_frame(addr, CMD_CARD_READ, bytes((_CARD_TYPE_CODES[card_type],)) + uid, corrupt_crc=corrupt_crc)


def decode_read(frame: Frame, t: float) -> IdRead | None:
    """The read a frame carries; None for a heartbeat; ValueError for a malformed payload."""
    d = frame.data
    if frame.cmd == CMD_HEARTBEAT:
        if len(d) != 1:
            raise ValueError("heartbeat carries one status byte")
        return None
    if frame.cmd == CMD_TAG_READ:
        if not 4 <= len(d) - 2 <= 32:
            raise ValueError("tag id must be 4..32 bytes")
        return IdRead(
            "rfid",
            d[2:].hex().upper(),
            frame.addr,
            t,
            antenna=d[0],
            rssi_dbm=int.from_bytes(d[1:2], "big", signed=True),
        )
    if frame.cmd == CMD_CARD_READ:
        if not 4 <= len(d) - 1 <= 10 or d[0] not in CARD_TYPES:
            raise ValueError("bad card read payload")
        return IdRead("card", d[1:].hex().upper(), frame.addr, t, card_type=CARD_TYPES[d[0]])
    raise ValueError(f"unknown command 0x{frame.cmd:02X}")


class DuplicateFilter:
    """Suppresses an id seen again within `window_s` of its previous sighting.

    The window slides with every sighting, so a tag left in the field stays one event. Entries
    older than the window are pruned, which bounds memory to the ids of the last `window_s`.
    """

    def __init__(self, window_s: float) -> None:
        self.window_s = window_s
        self._last: dict[str, float] = {}
        self.suppressed = 0

    def accept(self, key: str, now: float) -> bool:
        last = self._last.get(key)
        self._last[key] = now
        if len(self._last) > 64:
            self._last = {k: v for k, v in self._last.items() if now - v <= self.window_s}
        if last is not None and now - last <= self.window_s:
            self.suppressed += 1
            return False
        return True


class CardReaderConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    serial: SerialSettings
    kind: Kind | None = Field(None, description="accept only this kind of read; None accepts both")
    dedup_window_s: float = Field(3.0, ge=0)
    heartbeat_timeout_s: float = Field(3.0, gt=0, description="no frame this long -> faulted")
    backoff: Backoff = Backoff()


class CardReaderDriver(FramedSerialDevice):
    def __init__(self, config: CardReaderConfig, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(
            f"{config.kind or 'id'} reader {config.serial.port}",
            config.serial,
            backoff=config.backoff,
            silence_timeout_s=config.heartbeat_timeout_s,
            max_frame_len=2 + 2 + 32,  # ADDR, CMD, antenna, RSSI and the longest tag id
            clock=clock,
        )
        self.config = config
        self.dedup = DuplicateFilter(config.dedup_window_s)
        self.reader_status: int | None = None  # last heartbeat status byte
        self._fanout: Fanout[IdRead] = Fanout()

    def handle_frame(self, frame: Frame, t: float) -> None:
        try:
            read = decode_read(frame, t)
        except ValueError:
            self.parser.stats.error("bad_payload")
            return
        if read is None:
            self.reader_status = frame.data[0]
            if frame.data[0]:
                self.status.set("faulted", f"reader reports error 0x{frame.data[0]:02X}")
            return
        if self.config.kind and read.kind != self.config.kind:
            self.parser.stats.error("unexpected_kind")
            return
        if self.dedup.accept(f"{read.kind}:{read.id}", t):
            self._fanout.publish(read)

    async def reads(self, maxsize: int = 256) -> AsyncGenerator[IdRead, None]:
        async for r in self._fanout.items(maxsize):
            yield r

    async def next_read(self, timeout: float) -> IdRead:
        return await self._fanout.first(timeout)
