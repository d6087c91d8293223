"""Common shell of the devices speaking the kakou serial frame (card/RFID readers, LED display).

It owns the serial link, the frame parser and the device status; subclasses only say what a
frame means. A partial frame left pending when the line goes quiet is abandoned after
`resync_after_s`, so one corrupted length byte cannot hold back the frames behind it.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable

from kakou.protocols.frames import MAX_LEN, Frame, FrameParser
from kakou.protocols.serial_link import Backoff, LinkDevice, SerialLink, SerialSettings, StatusTracker


class FramedSerialDevice(LinkDevice):
    def __init__(
        self,
        name: str,
        serial: SerialSettings,
        *,
        backoff: Backoff,
        silence_timeout_s: float | None,
        resync_after_s: float = 0.2,
        max_frame_len: int = MAX_LEN,
        clock: Callable[[], float],
    ) -> None:
        self.parser = FrameParser(max_frame_len)
        self.status = StatusTracker(name)
        self.link = SerialLink(serial, self._on_bytes, on_up=self._on_up, on_down=self._on_down, backoff=backoff)
        self._silence_timeout_s = silence_timeout_s
        self._resync_after_s = resync_after_s
        self._clock = clock
        self._silence_timer: asyncio.TimerHandle | None = None
        self._resync_timer: asyncio.TimerHandle | None = None

    def timers(self) -> tuple[asyncio.TimerHandle | None, ...]:
        return (self._silence_timer, self._resync_timer)

    # --- subclass hooks -----------------------------------------------------------------------

    def handle_frame(self, frame: Frame, t: float) -> None:
        raise NotImplementedError

    def port_opened(self) -> None:
        """The port is open; by default the device is online only once a valid frame arrives."""
        self.status.set("connecting", "port open, waiting for the device")

    # --- plumbing -----------------------------------------------------------------------------

    def _on_up(self) -> None:
        self.port_opened()
        self._arm_silence_timer()

    def _on_down(self, reason: str) -> None:
        for timer in (self._silence_timer, self._resync_timer):
            if timer:
                timer.cancel()
        self.status.set("faulted", reason, self.parser.stats.framing_errors)

    def _on_bytes(self, data: bytes) -> None:
        self._dispatch(self.parser.feed(data))
        self._arm_resync_timer()

    def _arm_resync_timer(self) -> None:
        # The deadline runs from when a partial frame starts waiting, not from the last byte:
        # otherwise a steady heartbeat would keep a bogus length pending forever.
        if not self.parser.pending:
            if self._resync_timer:
                self._resync_timer.cancel()
                self._resync_timer = None
            return
        if self._resync_timer is None:
            wire_s = self.parser.pending_frame_len * 10 / self.link.settings.baudrate  # 10 bits a byte
            self._resync_timer = asyncio.get_running_loop().call_later(self._resync_after_s + wire_s, self._resync)

    def _resync(self) -> None:
        self._resync_timer = None
        self._dispatch(self.parser.resync())
        self._arm_resync_timer()

    def _dispatch(self, frames: list[Frame]) -> None:
        for frame in frames:
            self.status.set("online", "valid frames")
            self._arm_silence_timer()
            self.handle_frame(frame, self._clock())

    def _arm_silence_timer(self) -> None:
        if self._silence_timeout_s is None:
            return
        if self._silence_timer:
            self._silence_timer.cancel()
        self._silence_timer = asyncio.get_running_loop().call_later(self._silence_timeout_s, self._silent)

    def _silent(self) -> None:
        if self.link.is_open:
            errors = self.parser.stats.framing_errors
            self.status.set(
                "faulted",
                f"no valid frame (not even a heartbeat) for {self._silence_timeout_s:g}s, {errors} framing errors",
                errors,
            )
