"""Common shell of the devices whose parser turns a serial line's bytes into items (e-seal reads,
weight samples): each item goes to every subscriber (`items`, `first`) and is kept as `latest`, and
a watchdog faults the device when nothing valid arrives for `silence_s` while the port is open.
Subclasses say what the bytes mean (`_on_bytes`) and what silence means (`went_silent`)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator, Callable
from typing import Generic, Protocol, TypeVar

from kakou.protocols.frames import ParseStats
from kakou.protocols.serial_fanout import Fanout
from kakou.protocols.serial_link import Backoff, LinkDevice, SerialLink, SerialSettings, StatusTracker

T = TypeVar("T")


class _Counted(Protocol):
    @property
    def stats(self) -> ParseStats: ...


class StreamDevice(LinkDevice, Generic[T]):
    waiting = "port open, waiting for the device"  # the status reason from the port opening to the first item

    def __init__(
        self,
        name: str,
        serial: SerialSettings,
        backoff: Backoff,
        silence_s: float,
        clock: Callable[[], float],
    ) -> None:
        self._clock = clock
        self._silence_s = silence_s
        self.status = StatusTracker(name)
        self.link = SerialLink(serial, self._on_bytes, on_up=self._on_up, on_down=self._on_down, backoff=backoff)
        self.latest: T | None = None
        self._fanout: Fanout[T] = Fanout()
        self._silence: asyncio.TimerHandle | None = None

    parser: _Counted

    @property
    def stats(self) -> ParseStats:
        return self.parser.stats

    def timers(self) -> tuple[asyncio.TimerHandle | None, ...]:
        return (self._silence,)

    async def items(self, maxsize: int = 256) -> AsyncGenerator[T, None]:
        async for item in self._fanout.items(maxsize):
            yield item

    async def first(self, timeout: float, predicate: Callable[[T], bool] = lambda _: True) -> T:
        """The first item from now on that satisfies `predicate`; TimeoutError after `timeout`."""
        return await self._fanout.first(timeout, predicate)

    # --- subclass hooks -----------------------------------------------------------------------

    def _on_bytes(self, data: bytes) -> None:
        raise NotImplementedError

    def went_silent(self) -> None:
        """Nothing valid for `silence_s` with the port open: say so in the status."""
        raise NotImplementedError

    def port_closed(self) -> None:
        """The port is gone (before the status says so); nothing by default."""

    # --- plumbing -----------------------------------------------------------------------------

    def _on_up(self) -> None:
        self.status.set("connecting", self.waiting, self.stats.framing_errors)
        self._arm()

    def _on_down(self, reason: str) -> None:
        if self._silence:
            self._silence.cancel()
        self.port_closed()
        self.status.set("faulted", reason, self.stats.framing_errors)

    def _arm(self) -> None:
        """(Re)start the watchdog: called on every valid item."""
        if self._silence:
            self._silence.cancel()
        self._silence = asyncio.get_running_loop().call_later(self._silence_s, self._silent)

    def _silent(self) -> None:
        if self.link.is_open:
            self.went_silent()
