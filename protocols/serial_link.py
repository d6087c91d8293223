"""One serial port owned by one driver: open, read into a callback, reopen with back-off.

The port is opened with pyserial (which knows baud/parity/stop bits and the termios details) and
then read through the asyncio loop's `add_reader` on its non-blocking fd, so no thread is needed.
Losing the port (USB unplugged, pty closed) is reported as a status change and retried with
exponential back-off until the port is back.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal, Self

import serial
from pydantic import BaseModel, ConfigDict, Field

log = logging.getLogger(__name__)

State = Literal["connecting", "online", "faulted"]

if TYPE_CHECKING:  # a Literal type cannot hold 1.5; pydantic still checks the three values below
    StopBits = float
else:
    StopBits = Literal[1, 1.5, 2]


class SerialSettings(BaseModel):
    model_config = ConfigDict(extra="forbid")

    port: str
    baudrate: int = Field(9600, gt=0)
    bytesize: Literal[5, 6, 7, 8] = 8
    parity: Literal["N", "E", "O", "M", "S"] = "N"
    stopbits: StopBits = 1


class Backoff(BaseModel):
    model_config = ConfigDict(extra="forbid")

    initial_s: float = Field(0.5, gt=0)
    max_s: float = Field(30.0, gt=0)
    factor: float = Field(2.0, ge=1)

    def delays(self) -> Iterator[float]:
        d = self.initial_s
        while True:
            yield d
            d = min(d * self.factor, self.max_s)


@dataclass(frozen=True)
class DeviceStatus:
    state: State
    reason: str
    since: float  # time.time() of the change, for "faulted since ..." on the lane screen
    framing_errors: int = 0


class StatusTracker:
    """Holds a device's current status and lets callers await a state without polling."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.status = DeviceStatus("connecting", "starting", time.time())
        self._changed = asyncio.Condition()
        self._listeners: list[Callable[[DeviceStatus], None]] = []

    def on_change(self, fn: Callable[[DeviceStatus], None]) -> None:
        self._listeners.append(fn)

    def set(self, state: State, reason: str, framing_errors: int = 0) -> None:
        if state == self.status.state and reason == self.status.reason:
            return
        self.status = DeviceStatus(state, reason, time.time(), framing_errors)
        level = logging.WARNING if state == "faulted" else logging.INFO
        log.log(level, "%s %s: %s", self.name, state, reason)
        for fn in self._listeners:
            fn(self.status)
        asyncio.get_running_loop().create_task(self._notify())

    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def wait_for(self, state: State, timeout: float) -> DeviceStatus:
        async with asyncio.timeout(timeout), self._changed:
            await self._changed.wait_for(lambda: self.status.state == state)
            return self.status


class SerialLink:
    """Keeps one serial port open for as long as `run()` runs.

    `on_bytes` receives every chunk read; `on_up` / `on_down(reason)` report the port itself.
    Whether the *device* is healthy (valid frames arriving) is the driver's judgement.
    """

    def __init__(
        self,
        settings: SerialSettings,
        on_bytes: Callable[[bytes], None],
        *,
        on_up: Callable[[], None] = lambda: None,
        on_down: Callable[[str], None] = lambda reason: None,
        backoff: Backoff | None = None,
    ) -> None:
        self.settings = settings
        self._on_bytes = on_bytes
        self._on_up = on_up
        self._on_down = on_down
        self.backoff = backoff or Backoff()
        self._ser: serial.Serial | None = None
        self.opens = 0  # successful opens, for tests and diagnostics

    @property
    def is_open(self) -> bool:
        return self._ser is not None

    def _open(self) -> serial.Serial:
        s = self.settings
        ser = serial.Serial(
            port=s.port,
            baudrate=s.baudrate,
            bytesize=s.bytesize,
            parity=s.parity,
            stopbits=s.stopbits,
            timeout=0,
            write_timeout=1.0,
        )
        ser.reset_input_buffer()  # whatever queued up while nobody listened is stale
        return ser

    async def run(self) -> None:
        loop = asyncio.get_running_loop()
        delays = self.backoff.delays()
        while True:
            try:
                ser = self._open()
            except (serial.SerialException, OSError, ValueError) as e:
                self._on_down(f"cannot open {self.settings.port}: {e}")
                await asyncio.sleep(next(delays))
                continue
            delays = self.backoff.delays()
            lost: asyncio.Future[str] = loop.create_future()
            fd = ser.fileno()

            def readable(fd: int = fd, lost: asyncio.Future[str] = lost) -> None:
                try:
                    data = os.read(fd, 4096)
                except BlockingIOError:
                    return
                except OSError as e:
                    data, reason = b"", f"read failed: {e}"
                else:
                    reason = "port closed (EOF)"
                if not data:
                    loop.remove_reader(fd)
                    if not lost.done():
                        lost.set_result(reason)
                    return
                self._on_bytes(data)

            loop.add_reader(fd, readable)
            self._ser = ser
            self.opens += 1
            self._on_up()
            try:
                reason = await lost
            finally:
                loop.remove_reader(fd)
                self._ser = None
                with contextlib.suppress(OSError, serial.SerialException):
                    ser.close()
            self._on_down(f"disconnected: {reason}")
            await asyncio.sleep(next(delays))

    async def write(self, data: bytes) -> None:
        ser = self._ser
        if ser is None:
            raise ConnectionError(f"{self.settings.port} is not open")
        # Frames are small; pyserial's write on the non-blocking fd returns once the kernel has them.
        await asyncio.to_thread(ser.write, data)


class LinkDevice:
    """A device driven over a SerialLink: `async with device:` runs the link in a task named for the
    device; on the way out the device's timers (`timers()`) are cancelled and the task is awaited."""

    link: SerialLink
    status: StatusTracker
    _task: asyncio.Task[None] | None = None

    def timers(self) -> tuple[asyncio.TimerHandle | None, ...]:
        return ()

    async def __aenter__(self) -> Self:
        self._task = asyncio.create_task(self.link.run(), name=self.status.name)
        return self

    async def __aexit__(self, *exc: object) -> None:
        for timer in self.timers():
            if timer:
                timer.cancel()
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
