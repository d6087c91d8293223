"""LED lane display on a serial line (kakou serial frame): shows the driver's instruction.

Host -> display:
    0x30 SHOW_TEXT  LINE(1) COLOR(1) ENCODING(1) TEXT(n)   encoding 0 = GB2312, 1 = UTF-8
    0x31 CLEAR      LINE(1)                                0xFF clears every line
Display -> host:
    0x06 ACK        CMD(1)
    0x15 NAK        CMD(1) REASON(1)                       1 = bad payload, 2 = unsupported encoding

Most lane LED controllers only render GB2312, so that is the default; text that GB2312 cannot
encode is refused here rather than shown as garbage on the sign.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from kakou.protocols.frames import Frame, encode_frame
from kakou.protocols.serial_framed import FramedSerialDevice
from kakou.protocols.serial_link import Backoff, SerialSettings

CMD_SHOW_TEXT = 0x30
CMD_CLEAR = 0x31
CMD_ACK = 0x06
CMD_NAK = 0x15
ALL_LINES = 0xFF

Encoding = Literal["gb2312", "utf-8"]
Color = Literal["red", "green", "yellow"]
ENCODINGS: dict[Encoding, int] = {"gb2312": 0, "utf-8": 1}
COLORS: dict[Color, int] = {"red": 1, "green": 2, "yellow": 3}
_ENCODING_NAMES = {v: k for k, v in ENCODINGS.items()}
_COLOR_NAMES = {v: k for k, v in COLORS.items()}
NAK_BAD_PAYLOAD = 1
NAK_BAD_ENCODING = 2


@dataclass(frozen=True)
class DisplayText:
    text: str
    line: int = 0
    color: Color = "green"
    encoding: Encoding = "gb2312"


def encode_show_text(msg: DisplayText, *, addr: int = 1, corrupt_crc: bool = False) -> bytes:
    try:
        body = msg.text.encode(msg.encoding)
    except UnicodeEncodeError as e:
        raise ValueError(f"{msg.text!r} cannot be shown in {msg.encoding}: {e.reason}") from None
    head = bytes((msg.line, COLORS[msg.color], ENCODINGS[msg.encoding]))
    return encode_frame(addr, CMD_SHOW_TEXT, head + body, corrupt_crc=corrupt_crc)


def decode_show_text(frame: Frame) -> DisplayText:
    d = frame.data
    if frame.cmd != CMD_SHOW_TEXT or len(d) < 3 or d[1] not in _COLOR_NAMES:
        raise ValueError("not a valid SHOW_TEXT frame")
    if d[2] not in _ENCODING_NAMES:
        raise LookupError(f"unsupported encoding code {d[2]}")
    encoding = _ENCODING_NAMES[d[2]]
    return DisplayText(d[3:].decode(encoding), d[0], _COLOR_NAMES[d[1]], encoding)


class DisplayConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    serial: SerialSettings
    addr: int = Field(1, ge=0, le=255)
    encoding: Encoding = "gb2312"
    ack_timeout_s: float = Field(0.5, gt=0)
    retries: int = Field(2, ge=0)
    backoff: Backoff = Backoff()


class DisplayError(RuntimeError):
    pass


class DisplayDriver(FramedSerialDevice):
    """Sends one command at a time and waits for its ACK; no ACK after the retries -> faulted."""

    def __init__(self, config: DisplayConfig, *, clock: Callable[[], float] = time.monotonic) -> None:
        super().__init__(
            f"display {config.serial.port}",
            config.serial,
            backoff=config.backoff,
            silence_timeout_s=None,
            clock=clock,
        )
        self.config = config
        self._lock = asyncio.Lock()
        self._reply: asyncio.Future[Frame] | None = None

    def port_opened(self) -> None:
        # A display only speaks when spoken to, so an open port is all we can know until a command.
        self.status.set("online", "port open")

    def handle_frame(self, frame: Frame, t: float) -> None:
        if frame.addr != self.config.addr or frame.cmd not in (CMD_ACK, CMD_NAK):
            self.parser.stats.error("unexpected_frame")
            return
        if self._reply is not None and not self._reply.done():
            self._reply.set_result(frame)

    async def show(self, text: str, *, line: int = 0, color: Color = "green") -> None:
        msg = DisplayText(text, line, color, self.config.encoding)
        await self._command(CMD_SHOW_TEXT, encode_show_text(msg, addr=self.config.addr))

    async def clear(self, line: int = ALL_LINES) -> None:
        await self._command(CMD_CLEAR, encode_frame(self.config.addr, CMD_CLEAR, bytes((line,))))

    async def _command(self, cmd: int, frame: bytes) -> None:
        async with self._lock:
            last = "no reply"
            for _attempt in range(self.config.retries + 1):
                self._reply = asyncio.get_running_loop().create_future()
                try:
                    await self.link.write(frame)
                    async with asyncio.timeout(self.config.ack_timeout_s):
                        reply = await self._reply
                except TimeoutError:  # before OSError, of which it is a subclass
                    last = f"no ACK within {self.config.ack_timeout_s:g}s"
                    continue
                except (ConnectionError, OSError) as e:
                    last = f"write failed: {e}"
                    continue
                if reply.cmd == CMD_ACK and reply.data[:1] == bytes((cmd,)):
                    self.status.set("online", "acknowledged")
                    return
                if reply.cmd == CMD_NAK:
                    # A NAK is an answer: retrying the same bytes would be refused again.
                    reason = reply.data[1] if len(reply.data) > 1 else 0
                    raise DisplayError(f"display refused command 0x{cmd:02X} (reason {reason})")
                last = "ACK for another command"
            self.status.set("faulted", last)
            raise DisplayError(last)
