"""Electronic seal (电子关锁) reader on a serial line: ASCII sentences with a CRC-16 check.

The reader at the lane wakes the seals in range (433 MHz active seals on transit containers) and
reports each seal it hears, unsolicited, several times while the truck is in range, and a
heartbeat every second so a dead reader is noticed. The format (docs/devices.md, "E-seal reader")
is NMEA-style, which many readers of this class speak:

    $ESL,<seal id>,<status>,<battery %>*<CS>\\r\\n     a seal read
    $ESH,<reader status>*<CS>\\r\\n                   heartbeat; status 00 = ok, else an error code

seal id: 4..20 characters A-Z 0-9 and '-'; status: S sealed (intact), T tampered (the shackle was
opened or cut since it was sealed), B low battery (intact, the seal reports a weak cell); battery:
0..100. CS: CRC-16/CCITT (poly 0x1021, init 0xFFFF) of every byte between '$' and '*', four
uppercase hex digits. Not NMEA's XOR byte: two equal bytes inserted or lost in a seal id leave an
XOR unchanged, so a damaged "$ESL,CNSZ-ES0012345…" could read as another seal (property-tested in
tests/devices/test_eseal_driver.py). A line longer than `MAX_LINE` or failing any of these is
counted as a framing error and never becomes a read.
"""

from __future__ import annotations

import binascii
import re
import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kakou.protocols.cardreader import DuplicateFilter
from kakou.protocols.frames import LineSplitter, ParseStats
from kakou.protocols.serial_link import Backoff, SerialSettings
from kakou.protocols.serial_stream import StreamDevice

MAX_LINE = 48  # the longest valid sentence is 36 bytes with CR LF
SealStatus = Literal["intact", "tampered", "low_battery"]
STATUS_CODES: dict[str, SealStatus] = {"S": "intact", "T": "tampered", "B": "low_battery"}
_STATUS_LETTERS = {v: k for k, v in STATUS_CODES.items()}
_READ_RE = re.compile(rb"\$(ESL,([A-Z0-9-]{4,20}),([STB]),(\d{1,3}))\*([0-9A-F]{4})\r?")
_HEARTBEAT_RE = re.compile(rb"\$(ESH,([0-9A-F]{2}))\*([0-9A-F]{4})\r?")


@dataclass(frozen=True)
class SealRead:
    seal: str
    status: SealStatus
    battery_pct: int
    t: float  # monotonic receive time

    def as_json(self) -> dict[str, Any]:
        return {"seal": self.seal, "status": self.status, "battery_pct": self.battery_pct}


@dataclass(frozen=True)
class Heartbeat:
    reader_status: int


def checksum(body: bytes) -> str:
    return f"{binascii.crc_hqx(body, 0xFFFF):04X}"


def encode_read(
    seal: str, status: SealStatus = "intact", battery_pct: int = 90, *, corrupt_checksum: bool = False
) -> bytes:
    if not re.fullmatch(r"[A-Z0-9-]{4,20}", seal):
        raise ValueError("seal id: 4..20 characters A-Z, 0-9, '-'")
    if not 0 <= battery_pct <= 100:
        raise ValueError("battery must be 0..100 %")
    body = f"ESL,{seal},{_STATUS_LETTERS[status]},{battery_pct:03d}".encode("ascii")
    cs = checksum(body)
    if corrupt_checksum:
        cs = f"{int(cs, 16) ^ 0x5A5A:04X}"
    return b"$" + body + b"*" + cs.encode() + b"\r\n"


def encode_heartbeat(reader_status: int = 0) -> bytes:
    body = f"ESH,{reader_status:02X}".encode("ascii")
    return b"$" + body + b"*" + checksum(body).encode() + b"\r\n"


class SealLineParser:
    """Bytes in, reads and heartbeats out; bounded (a line never grows past MAX_LINE), never raises."""

    def __init__(self) -> None:
        self.stats = ParseStats()
        self.lines = LineSplitter(self.stats, MAX_LINE)

    def feed(self, data: bytes) -> list[SealRead | Heartbeat]:
        return [item for line in self.lines.feed(data) if (item := self._decode(line)) is not None]

    def _decode(self, line: bytes) -> SealRead | Heartbeat | None:
        # A sentence starts at its '$': noise before it on the same line (a wake-up burst) is dropped.
        dollar = line.rfind(b"$")
        if dollar > 0:
            self.stats.error("garbage")
            self.stats.discarded_bytes += dollar
            line = line[dollar:]
        if m := _READ_RE.fullmatch(line):
            body, seal, status, battery, cs = m.groups()
            if checksum(body) != cs.decode():
                self._bad("bad_checksum", line)
                return None
            if int(battery) > 100:
                self._bad("bad_field", line)
                return None
            self.stats.frames += 1
            return SealRead(seal.decode(), STATUS_CODES[status.decode()], int(battery), 0.0)
        if m := _HEARTBEAT_RE.fullmatch(line):
            body, status, cs = m.groups()
            if checksum(body) != cs.decode():
                self._bad("bad_checksum", line)
                return None
            self.stats.frames += 1
            return Heartbeat(int(status, 16))
        if line.strip():
            self._bad("bad_line", line)
            return None
        return None  # an empty line (a lone CR LF) is no error

    def _bad(self, reason: str, line: bytes) -> None:
        self.stats.error(reason)
        self.stats.discarded_bytes += len(line) + 1


class EsealReaderConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    serial: SerialSettings
    dedup_window_s: float = Field(3.0, ge=0, description="repeats of one seal within this are one read")
    heartbeat_timeout_s: float = Field(3.0, gt=0, description="no valid sentence this long -> faulted")
    backoff: Backoff = Backoff()


class EsealReaderDriver(StreamDevice[SealRead]):
    """Online while valid sentences arrive; faulted when the port is gone, the line is silent or
    carries only garbage, or the reader reports an error. It never invents a read."""

    waiting = "port open, waiting for the reader"
    parser: SealLineParser

    def __init__(self, config: EsealReaderConfig, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.parser = SealLineParser()
        super().__init__(
            f"e-seal reader {config.serial.port}", config.serial, config.backoff, config.heartbeat_timeout_s, clock
        )
        self.dedup = DuplicateFilter(config.dedup_window_s)
        self.reader_status: int | None = None

    def reads(self, maxsize: int = 256) -> AsyncGenerator[SealRead, None]:
        return self.items(maxsize)

    async def next_read(self, timeout: float) -> SealRead:
        return await self.first(timeout)

    def _on_bytes(self, data: bytes) -> None:
        for item in self.parser.feed(data):
            t = self._clock()
            self._arm()
            if isinstance(item, Heartbeat):
                self.reader_status = item.reader_status
                if item.reader_status:
                    self.status.set(
                        "faulted", f"reader reports error 0x{item.reader_status:02X}", self.stats.framing_errors
                    )
                    continue
                self.status.set("online", "valid sentences", self.stats.framing_errors)
                continue
            self.status.set("online", "valid sentences", self.stats.framing_errors)
            read = SealRead(item.seal, item.status, item.battery_pct, t)
            # A changed status (tampered while in range) is news, not a repeat.
            if self.dedup.accept(f"{read.seal}:{read.status}", t):
                self.latest = read
                self._fanout.publish(read)

    def went_silent(self) -> None:
        self.status.set(
            "faulted",
            f"no valid sentence (not even a heartbeat) for "
            f"{self.config.heartbeat_timeout_s:g}s, {self.stats.framing_errors} "
            f"framing errors",
            self.stats.framing_errors,
        )
