"""One Modbus connection (TCP or RTU) with our own reconnect policy.

pymodbus can reconnect in the background by itself, but then a lane cannot tell "the I/O module is
gone" from "slow": we turn that off and decide here. Any transport error closes the connection,
marks the link faulted and schedules the next attempt with exponential back-off; until then every
request fails fast with IoFault (the lane shows the fault and goes manual instead of hanging).
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar
from urllib.parse import parse_qs, urlparse

from pydantic import BaseModel, ConfigDict
from pymodbus import FramerType
from pymodbus.client import AsyncModbusSerialClient, AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

from kakou.protocols.serial_link import Backoff, SerialSettings, StatusTracker

log = logging.getLogger(__name__)
T = TypeVar("T")


class IoFault(Exception):
    """The I/O module did not answer or answered with an error."""


class ModbusTarget(BaseModel):
    """Where the I/O module is: `tcp://HOST:PORT` or `rtu:///dev/ttyUSB0?baud=9600&parity=E`."""

    model_config = ConfigDict(extra="forbid")

    kind: Literal["tcp", "rtu"]
    host: str = ""
    port: int = 502
    serial: SerialSettings | None = None

    def __str__(self) -> str:
        if self.kind == "tcp":
            return f"tcp://{self.host}:{self.port}"
        s = self.serial
        assert s is not None
        return f"rtu://{s.port}?baud={s.baudrate}&parity={s.parity}&bytesize={s.bytesize}&stopbits={s.stopbits:g}"


_RTU_KEYS = {
    "baud": "baudrate",
    "baudrate": "baudrate",
    "parity": "parity",
    "bytesize": "bytesize",
    "stopbits": "stopbits",
}


def parse_modbus_url(url: str) -> ModbusTarget:
    """Parse a Modbus endpoint URL; ValueError says what is wrong with it."""
    u = urlparse(url)
    if u.scheme == "tcp":
        try:
            port = u.port
        except ValueError as exc:
            raise ValueError(f"{url!r}: bad port") from exc
        if not u.hostname:
            raise ValueError(f"{url!r} must look like tcp://HOST:PORT")
        return ModbusTarget(kind="tcp", host=u.hostname, port=port or 502)
    if u.scheme == "rtu":
        # rtu:///dev/ttyUSB0 (empty authority) — the path is the serial device.
        if not u.path or u.netloc:
            raise ValueError(f"{url!r} must look like rtu:///dev/ttyUSB0?baud=9600&parity=N")
        settings: dict[str, Any] = {"port": u.path}
        for key, values in parse_qs(u.query, keep_blank_values=True).items():
            if key not in _RTU_KEYS:
                raise ValueError(f"{url!r}: unknown option {key!r} (known: baud, parity, bytesize, stopbits)")
            v = values[-1]
            field = _RTU_KEYS[key]
            if field == "parity":
                settings[field] = v.upper()[:1]
            else:
                try:
                    num = float(v)
                except ValueError as exc:
                    raise ValueError(f"{url!r}: {key} must be a number") from exc
                settings[field] = int(num) if num.is_integer() else num
        try:
            return ModbusTarget(kind="rtu", serial=SerialSettings(**settings))
        except ValueError as exc:
            raise ValueError(f"{url!r}: {exc}") from exc
    raise ValueError(f"{url!r}: scheme must be tcp:// or rtu://")


class ModbusLink:
    """A pymodbus client plus status, serialised requests and back-off reconnects."""

    def __init__(
        self, target: ModbusTarget, *, timeout: float = 1.0, backoff: Backoff | None = None, name: str = "lane I/O"
    ) -> None:
        self.target = target
        self.timeout = timeout
        self.backoff = backoff or Backoff(initial_s=0.5, max_s=10.0)
        self.status = StatusTracker(f"{name} {target}")
        self.connects = 0  # successful connects, for tests and diagnostics
        self._delays = self.backoff.delays()
        self._retry_at = 0.0
        self._client = self._make_client()
        self._lock = asyncio.Lock()  # one transaction at a time on the shared line

    def _make_client(self) -> AsyncModbusTcpClient | AsyncModbusSerialClient:
        t = self.target
        # reconnect_delay=0: pymodbus must not reconnect behind our back (see module docstring);
        # retries=0: one timeout is a fault here, the caller's poll loop is the retry.
        if t.kind == "tcp":
            return AsyncModbusTcpClient(t.host, port=t.port, timeout=self.timeout, retries=0, reconnect_delay=0)
        s = t.serial
        assert s is not None
        return AsyncModbusSerialClient(
            s.port,
            framer=FramerType.RTU,
            baudrate=s.baudrate,
            bytesize=s.bytesize,
            parity=s.parity,
            stopbits=int(s.stopbits),
            timeout=self.timeout,
            retries=0,
            reconnect_delay=0,
        )

    @property
    def connected(self) -> bool:
        return self._client.connected

    async def connect(self) -> bool:
        """Try once now (ignoring back-off); True if connected."""
        async with self._lock:
            self._retry_at = 0.0
            try:
                await self._ensure_connected()
            except IoFault:
                return False
            return True

    def close(self) -> None:
        self._client.close()

    def _down(self, reason: str) -> IoFault:
        self._client.close()
        delay = next(self._delays)
        self._retry_at = time.monotonic() + delay
        self.status.set("faulted", f"{reason}; retrying in {delay:g}s")
        return IoFault(f"I/O module {self.target}: {reason}")

    async def _ensure_connected(self) -> None:
        if self._client.connected:
            return
        wait = self._retry_at - time.monotonic()
        if wait > 0:
            reason = self.status.status.reason
            raise IoFault(f"I/O module {self.target} offline ({reason}); next attempt in {wait:.1f}s")
        try:
            ok = await _bounded(self._client.connect(), self.timeout + 1.0)
        except (TimeoutError, OSError, ModbusException) as exc:
            ok, why = False, str(exc) or type(exc).__name__
        else:
            why = "connection refused or port unavailable"
        if not ok:
            raise self._down(f"cannot connect: {why}")
        self.connects += 1
        self._delays = self.backoff.delays()

    async def call(self, what: str, request: Callable[[Any], Awaitable[T]]) -> T:
        """Run `request(client)` as one transaction; IoFault on any transport or protocol error."""
        async with self._lock:
            await self._ensure_connected()
            try:
                # The outer timeout guards against a pymodbus path that never times out on its own.
                rr = await _bounded(request(self._client), self.timeout * 2 + 1.0)
            except (TimeoutError, ModbusException, OSError) as exc:
                raise self._down(f"{what} failed: {exc or type(exc).__name__}") from exc
            if rr.isError():  # type: ignore[attr-defined]
                # The module answered with an exception code: the link is fine, the request is not.
                self.status.set("online", "answering")
                raise IoFault(f"I/O module {self.target} refused {what}: {rr}")
            self.status.set("online", "answering")
            return rr


async def _bounded(request: Awaitable[T], timeout: float) -> T:
    """`request` with a timeout. pymodbus ends a request cancelled from outside (the lane's loop
    poll losing a race to an officer's command, kakou.tasks.first_of) with its own error rather
    than CancelledError; wait_for would leave that error unretrieved, and asyncio log it."""
    pending = asyncio.ensure_future(request)
    pending.add_done_callback(lambda t: t.cancelled() or t.exception())
    return await asyncio.wait_for(pending, timeout)
