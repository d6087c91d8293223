"""Weighbridge indicator output formats: one pure incremental parser and one encoder per format.

Parsers take bytes and return `WeightFrame`s; they hold at most one frame's worth of bytes, count
every rejected frame in `stats`, and never return a weight they did not read in full. Encoders are
what the simulator sends, so a round trip encode -> parse is the protocol's own test.
See docs/devices.md for the byte layouts and their sources.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from decimal import Decimal
from typing import Literal, Protocol

from kakou.protocols.frames import LineSplitter, ParseStats, align_to_stx

Unit = Literal["kg", "t"]
_KG_PER_UNIT: dict[str, int] = {"kg": 1, "t": 1000}

STX = 0x02
ETX = 0x03
CR = 0x0D


@dataclass(frozen=True)
class WeightFrame:
    """One indicator reading as it was on the wire.

    `counts` is the signed displayed number without its decimal point (None when the indicator
    reports overload, because then the digits are not a weight). `decimals` may be negative for
    Toledo's "dummy zero" modes. `motion` is None when the format carries no motion information.
    """

    counts: int | None
    decimals: int
    unit: Unit
    motion: bool | None = None
    overload: bool = False
    net: bool = False
    tare_counts: int | None = None

    @property
    def weight(self) -> Decimal | None:
        """The displayed weight in the indicator's unit."""
        return None if self.counts is None else Decimal(self.counts).scaleb(-self.decimals)

    @property
    def weight_kg(self) -> float | None:
        w = self.weight
        return None if w is None else float(w * _KG_PER_UNIT[self.unit])

    @property
    def tare_kg(self) -> float | None:
        if self.tare_counts is None:
            return None
        return float(Decimal(self.tare_counts).scaleb(-self.decimals) * _KG_PER_UNIT[self.unit])

    @property
    def flags(self) -> list[str]:
        out: list[str] = []
        if self.motion:
            out.append("motion")
        elif self.motion is False and not self.overload:
            out.append("stable")
        if self.counts == 0:
            out.append("zero")
        if self.overload:
            out.append("overload")
        if self.counts is not None and self.counts < 0:
            out.append("negative")
        if self.net:
            out.append("net")
        return out


class WeightParser(Protocol):
    stats: ParseStats

    def feed(self, data: bytes) -> list[WeightFrame]: ...


def _digits_ok(b: bytes | bytearray) -> bool:
    return all(0x30 <= c <= 0x39 for c in b)


# --- Yaohua XK3190 "=" reversed-digit continuous output -------------------------------------
# "=" then the 7-character display string written backwards (least significant first), no
# terminator, no checksum: 1234.5 kg with one decimal is sent as "=5.43210". The only framing is
# the next "=", so a frame is accepted only once the following "=" proves it was exactly 7 bytes
# long; a dropped or inserted byte changes the length and the frame is rejected.

XK3190_WIDTH = 7
_XK_RE = re.compile(r"(-?)(\d+)(?:\.(\d+))?")


def encode_xk3190(frame: WeightFrame) -> bytes:
    if frame.counts is None:
        raise ValueError("the '=' format cannot express overload")
    if not 0 <= frame.decimals <= 4:
        raise ValueError("decimals must be 0..4")
    sign = "-" if frame.counts < 0 else ""
    ndigits = XK3190_WIDTH - len(sign) - (1 if frame.decimals else 0)
    digits = str(abs(frame.counts)).rjust(ndigits, "0")
    if len(digits) > ndigits or frame.decimals >= ndigits:
        raise ValueError(f"{frame.counts} does not fit the 7-character display")
    text = sign + (
        digits[: ndigits - frame.decimals] + "." + digits[ndigits - frame.decimals :] if frame.decimals else digits
    )
    return b"=" + text[::-1].encode("ascii")


class Xk3190Parser:
    def __init__(self, unit: Unit = "kg") -> None:
        self.unit: Unit = unit
        self.stats = ParseStats()
        self._cur: bytearray | None = None  # None while hunting for "="
        self._in_garbage = False

    def feed(self, data: bytes) -> list[WeightFrame]:
        out: list[WeightFrame] = []
        for c in data:
            if c == 0x3D:  # "="
                if self._cur is not None:
                    frame = self._finish(self._cur)
                    if frame is not None:
                        out.append(frame)
                self._cur = bytearray()
                self._in_garbage = False
            elif self._cur is not None:
                self._cur.append(c)
                if len(self._cur) > XK3190_WIDTH:
                    self.stats.error("overlong")
                    self.stats.discarded_bytes += len(self._cur)
                    self._cur = None
                    self._in_garbage = True
            else:
                self.stats.discarded_bytes += 1
                if not self._in_garbage:
                    self.stats.error("garbage")
                    self._in_garbage = True
        return out

    def _finish(self, raw: bytearray) -> WeightFrame | None:
        text = bytes(raw[::-1]).decode("latin-1")
        m = _XK_RE.fullmatch(text) if len(raw) == XK3190_WIDTH else None
        if m is None:
            self.stats.error("bad_frame")
            self.stats.discarded_bytes += len(raw) + 1
            return None
        sign, whole, frac = m.group(1), m.group(2), m.group(3) or ""
        counts = int(whole + frac) * (-1 if sign else 1)
        self.stats.frames += 1
        return WeightFrame(counts=counts, decimals=len(frac), unit=self.unit)


# --- Yaohua XK3190-A9 tF=0 continuous output (STX, sign, 6 digits, decimals, XOR, ETX) ------
# 12 bytes: 02 | "+"/"-" | 6 digits high->low | decimal places "0".."4" | XOR hi | XOR lo | 03.
# XOR is over bytes 2..9 and sent as two uppercase hex characters.

A9_LEN = 12


def _a9_xor(body: bytes | bytearray) -> bytes:
    x = 0
    for c in body:
        x ^= c
    return f"{x:02X}".encode("ascii")


def encode_xk3190_a9(frame: WeightFrame, *, corrupt_checksum: bool = False) -> bytes:
    if frame.counts is None or not 0 <= frame.decimals <= 4 or abs(frame.counts) > 999_999:
        raise ValueError("XK3190-A9 frames carry a 6-digit weight with 0..4 decimals")
    body = (b"-" if frame.counts < 0 else b"+") + f"{abs(frame.counts):06d}{frame.decimals}".encode()
    xor = _a9_xor(body)
    if corrupt_checksum:
        xor = _a9_xor(body + b"\x01")
    return bytes((STX,)) + body + xor + bytes((ETX,))


class _FixedFrameParser:
    """Hunts STX, waits for a fixed-length frame, validates it, and on failure drops only the STX."""

    length: int

    def __init__(self, unit: Unit = "kg") -> None:
        self.unit: Unit = unit
        self.stats = ParseStats()
        self._buf = bytearray()
        self._in_garbage = False

    def feed(self, data: bytes) -> list[WeightFrame]:
        self._buf += data
        buf = self._buf
        out: list[WeightFrame] = []
        while buf:
            aligned, self._in_garbage = align_to_stx(buf, self.stats, self._in_garbage)
            if not aligned:
                continue
            if len(buf) < self.length:
                break
            result = self._decode(bytes(buf[: self.length]))
            if isinstance(result, str):
                self.stats.error(result)
                self.stats.discarded_bytes += 1
                del buf[:1]
                continue
            out.append(result)
            self.stats.frames += 1
            del buf[: self.length]
        return out

    def _decode(self, raw: bytes) -> WeightFrame | str:
        raise NotImplementedError


class Xk3190A9Parser(_FixedFrameParser):
    length = A9_LEN

    def _decode(self, raw: bytes) -> WeightFrame | str:
        if raw[-1] != ETX:
            return "no_etx"
        sign, digits, dec = raw[1], raw[2:8], raw[8]
        if sign not in b"+-" or not _digits_ok(digits) or not 0x30 <= dec <= 0x34:
            return "bad_frame"
        if raw[9:11] != _a9_xor(raw[1:9]):
            return "bad_checksum"
        counts = int(digits) * (-1 if sign == 0x2D else 1)
        return WeightFrame(counts=counts, decimals=dec - 0x30, unit=self.unit)


# --- Mettler Toledo continuous output ---------------------------------------------------------
# 18 bytes: STX | SWA | SWB | SWC | 6 weight digits | 6 tare digits | CR | CKS.
# CKS is the 2's complement of the low 7 bits of the sum of STX..CR. Status words (bit 5 always 1):
#   SWA bits 0-2: decimal point code (see _TOLEDO_DECIMALS), bits 3-4: increment (01 = x1)
#   SWB bit0 net, bit1 negative, bit2 out of range, bit3 motion, bit4 kg (0 = lb)
#   SWC bits 0-2 unit: 000 = lb/kg per SWB, 010 = metric tons

TOLEDO_LEN = 18
_TOLEDO_DECIMALS = {0: -2, 1: -1, 2: 0, 3: 1, 4: 2, 5: 3, 6: 4, 7: 5}
_TOLEDO_CODES = {v: k for k, v in _TOLEDO_DECIMALS.items()}


def toledo_checksum(data: bytes) -> int:
    return (-sum(data)) & 0x7F


def encode_toledo(frame: WeightFrame, *, corrupt_checksum: bool = False) -> bytes:
    if frame.decimals not in _TOLEDO_CODES:
        raise ValueError("Toledo decimals must be -2..5")
    counts = 999_999 if frame.counts is None else frame.counts
    tare = frame.tare_counts or 0
    if abs(counts) > 999_999 or not 0 <= tare <= 999_999:
        raise ValueError("Toledo weight and tare are 6 digits")
    swa = 0x20 | (0b01 << 3) | _TOLEDO_CODES[frame.decimals]
    swb = 0x20 | (frame.net << 0) | ((counts < 0) << 1) | (frame.overload << 2) | (bool(frame.motion) << 3)
    swb |= 1 << 4  # kg (tons are flagged in SWC)
    swc = 0x20 | (0b010 if frame.unit == "t" else 0)
    body = bytes((STX, swa, swb, swc)) + f"{abs(counts):06d}{tare:06d}".encode() + bytes((CR,))
    cks = toledo_checksum(body)
    if corrupt_checksum:
        cks ^= 0x01
    return body + bytes((cks,))


class ToledoParser(_FixedFrameParser):
    length = TOLEDO_LEN

    def _decode(self, raw: bytes) -> WeightFrame | str:
        swa, swb, swc = raw[1], raw[2], raw[3]
        if raw[16] != CR:
            return "no_cr"
        # bit 5 is always set and bit 7 always clear (it is the parity bit on a 7E1 line)
        if any(w & 0xA0 != 0x20 for w in (swa, swb, swc)):
            return "bad_status"
        if not _digits_ok(raw[4:16]):
            return "bad_frame"
        if toledo_checksum(raw[:17]) != raw[17]:
            return "bad_checksum"
        unit_code = swc & 0x07
        unit: Unit
        if unit_code == 0b010:
            unit = "t"
        elif unit_code == 0 and swb & 0x10:
            unit = "kg"
        else:
            return "unsupported_unit"  # pounds, ounces...: refuse rather than mislabel
        overload = bool(swb & 0x04)
        counts = None if overload else int(raw[4:10]) * (-1 if swb & 0x02 else 1)
        return WeightFrame(
            counts=counts,
            decimals=_TOLEDO_DECIMALS[swa & 0x07],
            unit=unit,
            motion=bool(swb & 0x08),
            overload=overload,
            net=bool(swb & 0x01),
            tare_counts=int(raw[10:16]),
        )


# --- Plain ASCII line: "ST,GS,+012340kg\r\n" ------------------------------------------------
# header ST (stable) / US (unstable) / OL (overload), GS (gross) / NT (net), sign, 6 digits with at
# most one decimal point inside, unit kg or t, CRLF. The fixed digit count is the only check a
# checksum-less line offers against dropped or doubled digits.

ASCII_MAX_LINE = 64
_ASCII_RE = re.compile(rb"(ST|US|OL),(GS|NT),([+-])(\d+)(?:\.(\d+))?(kg|t)\r")


def encode_ascii(frame: WeightFrame) -> bytes:
    if not 0 <= frame.decimals <= 5:
        raise ValueError("decimals must be 0..5")
    head = "OL" if frame.overload else ("US" if frame.motion else "ST")
    counts = 999_999 if frame.counts is None else frame.counts
    digits = f"{abs(counts):06d}"
    if len(digits) > 6:
        raise ValueError("ASCII weight is 6 digits")
    if frame.decimals:
        digits = digits[: 6 - frame.decimals] + "." + digits[6 - frame.decimals :]
    sign = "-" if counts < 0 else "+"
    return f"{head},{'NT' if frame.net else 'GS'},{sign}{digits}{frame.unit}\r\n".encode("ascii")


def _ascii_frame(
    head: bytes, kind: bytes, sign: bytes, whole: bytes, frac: bytes | None, unit: Unit, overload: bool
) -> WeightFrame:
    """An ASCII line's frame from its fields: header US = in motion, NT = net; on overload the
    digits are not a weight, nor is where a point falls in them (a stray "." on the line must not
    make a frame that was not sent)."""
    frac = frac or b""
    return WeightFrame(
        counts=None if overload else int(whole + frac) * (-1 if sign == b"-" else 1),
        decimals=0 if overload else len(frac),
        unit=unit,
        motion=None if overload else head == b"US",
        overload=overload,
        net=kind == b"NT",
    )


class AsciiLineParser:
    terminator = b"\n"  # what ends a line; the bytes before it are judged by `_decode`

    def __init__(self, unit: Unit = "kg") -> None:
        self.unit: Unit = unit  # unused: the line names its unit
        self.stats = ParseStats()
        self.lines = LineSplitter(self.stats, ASCII_MAX_LINE, self.terminator)

    def feed(self, data: bytes) -> list[WeightFrame]:
        return [frame for line in self.lines.feed(data) if (frame := self._decode(line)) is not None]

    def _decode(self, line: bytes) -> WeightFrame | None:
        m = _ASCII_RE.fullmatch(line)
        if m is None or len(m.group(4)) + len(m.group(5) or b"") != 6:
            self.stats.error("bad_line")
            self.stats.discarded_bytes += len(line) + 1
            return None
        head, kind, sign, whole, frac, unit = m.groups()
        self.stats.frames += 1
        return _ascii_frame(head, kind, sign, whole, frac, "t" if unit == b"t" else "kg", head == b"OL")


# --- A&D standard format line: "ST,GS,+0032540kg\r\n" -----------------------------------------
# header 1 ST (stable) / US (unstable) / OL or LO (out of range), header 2 GS (gross) / NT (net) /
# TR (tare), then an 8-character data field: the sign and 7 characters, digits with at most one
# decimal point ("+0032540", "+0012.34"; out of range: the numerals are spaces), the unit in two
# characters ("kg", " t" or "t "), and CR or CR LF. As many indicators (A&D AD-4325/AD-4404 and
# the many that copy them) send it. The fixed 8-character width is the check against a lost or
# doubled digit. A tare line (TR) is not the weight on the bridge: it is skipped.

AD_DATA_WIDTH = 8
_AD_RE = re.compile(rb"(ST|US|OL|LO),(GS|NT|TR),([+-])( *)(\d*)(?:\.(\d+))?(kg| t|t )")
_AD_OUT_OF_RANGE = re.compile(rb"(OL|LO),(GS|NT|TR),([+-]?)[ 0-9.]*(kg| t|t )")


def encode_ascii_ad(frame: WeightFrame) -> bytes:
    """One A&D standard-format line; out of range is sent with blank numerals, as the indicators do."""
    unit = "kg" if frame.unit == "kg" else " t"
    kind = "NT" if frame.net else "GS"
    if frame.overload or frame.counts is None:
        return f"OL,{kind},+{' ' * (AD_DATA_WIDTH - 1)}{unit}\r\n".encode("ascii")
    width = AD_DATA_WIDTH - 1 - (1 if frame.decimals else 0)  # digits beside the sign and the point
    if not 0 <= frame.decimals < width:
        raise ValueError(f"decimals must be 0..{width - 1}")
    digits = f"{abs(frame.counts):0{width}d}"
    if len(digits) > width:
        raise ValueError(f"{frame.counts} does not fit the {AD_DATA_WIDTH}-character data field")
    if frame.decimals:
        digits = digits[: width - frame.decimals] + "." + digits[width - frame.decimals :]
    head = "US" if frame.motion else "ST"
    return f"{head},{kind},{'-' if frame.counts < 0 else '+'}{digits}{unit}\r\n".encode("ascii")


class AsciiAdParser(AsciiLineParser):
    terminator = b"\r"  # CR or CR LF: the LF of CR LF starts the next line and is dropped there

    def _decode(self, line: bytes) -> WeightFrame | None:
        if line.startswith(b"\n"):
            line = line[1:]
        if not line:
            return None  # a bare LF (CR LF split over two lines, or an idle terminator)
        m = _AD_RE.fullmatch(line)
        if m is not None and len(line) - 6 - 2 == AD_DATA_WIDTH and m.group(5):
            head, kind, sign, _, whole, frac, unit = m.groups()
            if kind == b"TR":
                return None  # the stored tare, not the load on the bridge: not an error either
            self.stats.frames += 1
            overload = head in (b"OL", b"LO")
            return _ascii_frame(head, kind, sign, whole, frac, "kg" if unit == b"kg" else "t", overload)
        blank = _AD_OUT_OF_RANGE.fullmatch(line)
        if blank is not None and len(line) - 6 - 2 == AD_DATA_WIDTH and blank.group(2) != b"TR":
            self.stats.frames += 1
            return WeightFrame(
                counts=None,
                decimals=0,
                unit="kg" if blank.group(4) == b"kg" else "t",
                overload=True,
                net=blank.group(2) == b"NT",
            )
        self.stats.error("bad_line")
        self.stats.discarded_bytes += len(line) + 1
        return None


# --- registry -----------------------------------------------------------------------------------

ProtocolName = Literal["xk3190", "xk3190-a9", "toledo", "ascii", "ascii-ad"]

PARSERS: dict[str, type[Xk3190Parser] | type[Xk3190A9Parser] | type[ToledoParser] | type[AsciiLineParser]] = {
    "xk3190": Xk3190Parser,
    "xk3190-a9": Xk3190A9Parser,
    "toledo": ToledoParser,
    "ascii": AsciiLineParser,
    "ascii-ad": AsciiAdParser,
}


class _FixedDecimals:
    """Rejects frames whose decimal point is not where this indicator always puts it.

    In the checksum-less formats a stray "." is the one corruption the frame shape cannot catch
    ("+012340kg" -> "+0123.40kg"); an installation knows its indicator's resolution, so it can.
    """

    def __init__(self, inner: WeightParser, decimals: int) -> None:
        self.inner = inner
        self.decimals = decimals
        self.stats = inner.stats

    def feed(self, data: bytes) -> list[WeightFrame]:
        out = []
        for f in self.inner.feed(data):
            if f.decimals == self.decimals or f.counts is None:  # an out-of-range frame carries no weight
                out.append(f)
            else:
                self.stats.frames -= 1
                self.stats.error("unexpected_decimals")
        return out


def make_parser(protocol: str, unit: Unit = "kg", decimals: int | None = None) -> WeightParser:
    try:
        parser: WeightParser = PARSERS[protocol](unit)
    except KeyError:
        raise ValueError(f"unknown weighbridge protocol {protocol!r}; known: {sorted(PARSERS)}") from None
    return parser if decimals is None else _FixedDecimals(parser, decimals)


def encode(protocol: str, frame: WeightFrame, *, corrupt_checksum: bool = False) -> bytes:
    """Encode one frame in the named format; formats without a checksum ignore `corrupt_checksum`."""
    if protocol == "xk3190":
        return encode_xk3190(frame)
    if protocol == "xk3190-a9":
        return encode_xk3190_a9(frame, corrupt_checksum=corrupt_checksum)
    if protocol == "toledo":
        return encode_toledo(frame, corrupt_checksum=corrupt_checksum)
    if protocol == "ascii":
        return encode_ascii(frame)
    if protocol == "ascii-ad":
        return encode_ascii_ad(frame)
    raise ValueError(f"unknown weighbridge protocol {protocol!r}")
