"""The kakou serial frame (KSF) shared by the RFID e-plate reader, IC card reader and LED display.

Wire layout (documented in docs/devices.md)::

    STX 0x02 | LEN (2, big-endian) | ADDR (1) | CMD (1) | DATA (LEN-2) | CRC16 (2, big-endian) | ETX 0x03

LEN counts ADDR + CMD + DATA. CRC is CRC-16/CCITT-FALSE (poly 0x1021, init 0xFFFF) over LEN..DATA.
The length field, not a byte-stuffing scheme, finds the end of a frame, so DATA may contain STX/ETX;
the trailing ETX plus the CRC is what lets the parser reject a frame whose LEN was corrupted.

Also shared: `ParseStats`, what any stream parser saw, and `LineSplitter`, which cuts the line
protocols (e-seal reader, ASCII weighbridge indicators) into bounded lines.
"""

from __future__ import annotations

import binascii
from collections import Counter
from dataclasses import dataclass, field

STX = 0x02
ETX = 0x03
MAX_LEN = 1024  # ADDR + CMD + DATA; bounds the parser's buffer
_OVERHEAD = 1 + 2 + 2 + 1  # STX, LEN, CRC, ETX


def crc16_ccitt(data: bytes) -> int:
    """CRC-16/CCITT-FALSE; binascii.crc_hqx is that CRC when seeded with 0xFFFF."""
    return binascii.crc_hqx(data, 0xFFFF)


@dataclass
class ParseStats:
    """What a stream parser saw: good frames and framing errors by reason.

    Drivers report these counters as device health; a rising error count with no good frames
    usually means the wrong baud rate or protocol.
    """

    frames: int = 0
    errors: Counter[str] = field(default_factory=Counter)
    discarded_bytes: int = 0

    @property
    def framing_errors(self) -> int:
        return sum(self.errors.values())

    def error(self, reason: str) -> None:
        self.errors[reason] += 1


class LineSplitter:
    """Cuts a byte stream, however it is chunked, into the lines ending in `terminator` (without
    it); bounded and never raises. A line that grows past `max_line` is an `overlong` error in
    `stats`: its bytes are discarded up to the next terminator, so the buffer stays bounded."""

    def __init__(self, stats: ParseStats, max_line: int, terminator: bytes = b"\n") -> None:
        self.stats = stats
        self.max_line = max_line
        self.terminator = terminator
        self._line = bytearray()
        self._overlong = False

    @property
    def buffered(self) -> int:
        """Bytes of an unfinished line held for the next feed (at most `max_line`)."""
        return len(self._line)

    def feed(self, data: bytes) -> list[bytes]:
        lines: list[bytes] = []
        start = 0
        while True:
            end = data.find(self.terminator, start)
            chunk = data[start:] if end < 0 else data[start:end]
            if not self._overlong:
                self._line += chunk
                if len(self._line) > self.max_line:
                    self.stats.error("overlong")
                    self.stats.discarded_bytes += len(self._line)
                    self._line.clear()
                    self._overlong = True  # drop the rest of this line: the buffer stays bounded
            else:
                self.stats.discarded_bytes += len(chunk)
            if end < 0:
                return lines
            if not self._overlong:
                lines.append(bytes(self._line))
            self._line.clear()
            self._overlong = False
            start = end + 1


def align_to_stx(buf: bytearray, stats: ParseStats, in_garbage: bool) -> tuple[bool, bool]:
    """Drop what precedes the next STX in `buf`; return (buf starts with STX, inside a run of garbage).

    One "garbage" error is counted per run of garbage, however the stream is chunked.
    """
    start = buf.find(STX)
    if start == 0:
        return True, False
    if not in_garbage:
        stats.error("garbage")
    dropped = len(buf) if start < 0 else start
    stats.discarded_bytes += dropped
    del buf[:dropped]
    return False, start < 0


@dataclass(frozen=True)
class Frame:
    addr: int
    cmd: int
    data: bytes


def encode_frame(addr: int, cmd: int, data: bytes = b"", *, corrupt_crc: bool = False) -> bytes:
    """Build one frame; `corrupt_crc` exists so simulators can inject a wrong checksum."""
    if not (0 <= addr <= 0xFF and 0 <= cmd <= 0xFF):
        raise ValueError("addr and cmd must be single bytes")
    length = 2 + len(data)
    if length > MAX_LEN:
        raise ValueError(f"frame data too long: {len(data)} bytes (max {MAX_LEN - 2})")
    body = length.to_bytes(2, "big") + bytes((addr, cmd)) + data
    crc = crc16_ccitt(body)
    if corrupt_crc:
        crc ^= 0x5A5A
    return bytes((STX,)) + body + crc.to_bytes(2, "big") + bytes((ETX,))


class FrameParser:
    """Incremental KSF parser: feed bytes, get complete frames whose CRC checked out.

    On any inconsistency only the leading STX is dropped and the search resumes at the next
    byte, so a good frame hidden behind garbage or a truncated frame is still found.
    """

    def __init__(self, max_len: int = MAX_LEN) -> None:
        # A device whose frames are known to be short passes a small max_len, so a corrupted
        # length byte is rejected at once instead of making the parser wait for a kilobyte.
        self.max_len = min(max_len, MAX_LEN)
        self._buf = bytearray()
        self.stats = ParseStats()
        self._in_garbage = False

    @property
    def pending(self) -> int:
        return len(self._buf)

    @property
    def pending_frame_len(self) -> int:
        """Total length of the partial frame being waited for (0 if not known yet)."""
        if len(self._buf) < 3:
            return 0
        return int.from_bytes(self._buf[1:3], "big") + _OVERHEAD

    def feed(self, data: bytes) -> list[Frame]:
        self._buf += data
        out: list[Frame] = []
        buf = self._buf
        while buf:
            aligned, self._in_garbage = align_to_stx(buf, self.stats, self._in_garbage)
            if not aligned:
                continue
            if len(buf) < 3:
                break
            length = int.from_bytes(buf[1:3], "big")
            if length < 2 or length > self.max_len:
                self._skip("bad_length")
                continue
            total = length + _OVERHEAD
            if len(buf) < total:
                break
            if buf[total - 1] != ETX:
                self._skip("no_etx")
                continue
            body = bytes(buf[1 : 3 + length])
            if crc16_ccitt(body) != int.from_bytes(buf[3 + length : 5 + length], "big"):
                self._skip("bad_crc")
                continue
            out.append(Frame(addr=body[2], cmd=body[3], data=body[4:]))
            self.stats.frames += 1
            del buf[:total]
        return out

    def resync(self) -> list[Frame]:
        """Give up on a pending partial frame (the line went quiet) and rescan what is left.

        Without this a corrupted LEN of, say, 1000 would hold back the following good frames
        until a thousand more bytes had arrived.
        """
        if not self._buf:
            return []
        self._skip("timeout")
        return self.feed(b"")

    def _skip(self, reason: str) -> None:
        self.stats.error(reason)
        self.stats.discarded_bytes += 1
        del self._buf[:1]
