"""LED lane display on a pty: decodes what the host sends, records what it shows, and ACKs."""

from __future__ import annotations

import asyncio
from pathlib import Path

from kakou.protocols.display import (
    ALL_LINES,
    CMD_ACK,
    CMD_CLEAR,
    CMD_NAK,
    CMD_SHOW_TEXT,
    NAK_BAD_ENCODING,
    NAK_BAD_PAYLOAD,
    DisplayText,
    decode_show_text,
)
from kakou.protocols.frames import Frame, FrameParser, encode_frame
from kakou.sim.pty_port import PtyPort


class DisplaySim:
    def __init__(self, *, addr: int = 1, name: str = "display0", link_dir: str | Path | None = None) -> None:
        self.addr = addr
        self.port = PtyPort(name, link_dir)
        self.port.on_receive = self._on_receive
        self.parser = FrameParser()
        self.lines: dict[int, DisplayText] = {}  # what the sign shows now, by line
        self.history: list[DisplayText] = []  # everything it was asked to show, in order
        self.mute = False  # fault: swallow commands without replying
        self.reply_delay_s = 0.0  # fault: slow controller
        self._changed = asyncio.Condition()
        self._tasks: set[asyncio.Task[None]] = set()

    @property
    def path(self) -> str:
        return self.port.path

    def text(self, line: int = 0) -> str | None:
        shown = self.lines.get(line)
        return shown.text if shown else None

    async def wait_shown(self, text: str, timeout: float = 5.0) -> DisplayText:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: any(m.text == text for m in self.history))
        return next(m for m in self.history if m.text == text)

    async def __aenter__(self) -> DisplaySim:
        self.port.open()
        return self

    async def __aexit__(self, *exc: object) -> None:
        for t in list(self._tasks):
            t.cancel()
        self.port.close()

    def disconnect(self) -> None:
        self.port.disconnect()

    def reconnect(self) -> None:
        self.port.open()

    def _on_receive(self, data: bytes) -> None:
        for frame in self.parser.feed(data):
            if frame.addr != self.addr:
                continue  # another display on the same RS-485 line
            task = asyncio.get_running_loop().create_task(self._handle(frame))
            self._tasks.add(task)
            task.add_done_callback(self._tasks.discard)

    async def _handle(self, frame: Frame) -> None:
        reply = self._apply(frame)
        if self.mute:
            return
        if self.reply_delay_s:
            await asyncio.sleep(self.reply_delay_s)
        self.port.write(reply)

    def _apply(self, frame: Frame) -> bytes:
        if frame.cmd == CMD_SHOW_TEXT:
            try:
                msg = decode_show_text(frame)
            except LookupError:
                return encode_frame(self.addr, CMD_NAK, bytes((frame.cmd, NAK_BAD_ENCODING)))
            except ValueError:  # includes UnicodeDecodeError
                return encode_frame(self.addr, CMD_NAK, bytes((frame.cmd, NAK_BAD_PAYLOAD)))
            self.lines[msg.line] = msg
            self.history.append(msg)
        elif frame.cmd == CMD_CLEAR and len(frame.data) == 1:
            if frame.data[0] == ALL_LINES:
                self.lines.clear()
            else:
                self.lines.pop(frame.data[0], None)
        else:
            return encode_frame(self.addr, CMD_NAK, bytes((frame.cmd, NAK_BAD_PAYLOAD)))
        asyncio.get_running_loop().create_task(self._notify())
        return encode_frame(self.addr, CMD_ACK, bytes((frame.cmd,)))

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()
