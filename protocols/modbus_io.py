"""Lane I/O over Modbus TCP or RTU: barrier, loop detectors, traffic light, optional LED text.

The register map is per site (`IoMap`, loaded from a file by `load_io_map`), because every
integrator wires the I/O module differently. Safety lives here, in the driver, so no caller can get
it wrong: a close is refused while the loop under the barrier is occupied (or flapping, since then
nobody knows), and a command that gets no position feedback in time marks the barrier faulted (the
lane then goes to manual handling). Connection handling and back-off are in `io_link`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections import deque
from dataclasses import dataclass

from kakou.protocols.io_link import IoFault, ModbusLink, ModbusTarget, parse_modbus_url
from kakou.protocols.io_map import INPUT_NAMES, IoMap, Light, OutputName, load_io_map
from kakou.protocols.serial_link import Backoff, SerialSettings, StatusTracker

__all__ = [
    "BarrierFault",
    "BarrierRefused",
    "FlapGuard",
    "IoFault",
    "IoInputs",
    "IoMap",
    "LaneIO",
    "Light",
    "load_io_map",
    "parse_modbus_url",
]

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class IoInputs:
    loop_before: bool
    loop_under: bool
    loop_after: bool
    barrier_up: bool
    barrier_down: bool

    def as_dict(self) -> dict[str, bool]:
        return {name: getattr(self, name) for name in INPUT_NAMES}


class BarrierRefused(Exception):
    """A barrier command that would be unsafe (closing on an occupied loop)."""


class BarrierFault(Exception):
    """The barrier did not reach the commanded position in time."""


class FlapGuard:
    """Flags an input that changes more than `max_changes` times within `window_s`.

    A truck changes each loop twice per pass; a detector with a broken loop wire or bad tuning
    chatters many times a second, and then the input tells nothing about the vehicle.
    """

    def __init__(self, max_changes: int = 6, window_s: float = 2.0) -> None:
        self.max_changes = max_changes
        self.window_s = window_s
        self._last: dict[str, bool] = {}
        self._changes: dict[str, deque[float]] = {}

    def update(self, values: dict[str, bool], now: float) -> dict[str, str]:
        """Feed one reading; returns {input: reason} for the inputs now flapping."""
        faults: dict[str, str] = {}
        for name, value in values.items():
            changes = self._changes.setdefault(name, deque())
            if name in self._last and self._last[name] != value:
                changes.append(now)
            self._last[name] = value
            while changes and now - changes[0] > self.window_s:
                changes.popleft()
            if len(changes) > self.max_changes:
                faults[name] = f"flapping: {len(changes)} changes in {self.window_s:g}s"
        return faults


class LaneIO:
    def __init__(
        self,
        host: str | None,
        port: int | None,
        io_map: IoMap,
        feedback_timeout: float = 3.0,
        poll_interval: float = 0.05,
        *,
        serial: SerialSettings | None = None,
        timeout: float = 1.0,
        backoff: Backoff | None = None,
        flap_guard: FlapGuard | None = None,
    ) -> None:
        """TCP with `host`/`port`, or RTU with `serial` (then host/port are None). See `from_url`."""
        self.map = io_map
        self.feedback_timeout = feedback_timeout
        self.poll_interval = poll_interval
        self.fault: str | None = None  # barrier fault, cleared by the next position reached
        self.input_faults: dict[str, str] = {}  # e.g. {"loop_under": "flapping: 9 changes in 2s"}
        self.flap_guard = flap_guard or FlapGuard()
        if serial is not None:
            target = ModbusTarget(kind="rtu", serial=serial)
        elif host:
            target = ModbusTarget(kind="tcp", host=host, port=port or 502)
        else:
            raise ValueError("LaneIO needs host/port (Modbus TCP) or serial settings (Modbus RTU)")
        self.link = ModbusLink(target, timeout=timeout, backoff=backoff)

    @classmethod
    def from_url(cls, url: str, io_map: IoMap, **kwargs: object) -> LaneIO:
        """`tcp://HOST:PORT` or `rtu:///dev/ttyUSB0?baud=9600&parity=E&stopbits=1`."""
        t = parse_modbus_url(url)
        if t.kind == "rtu":
            return cls(None, None, io_map, serial=t.serial, **kwargs)  # type: ignore[arg-type]
        return cls(t.host, t.port, io_map, **kwargs)  # type: ignore[arg-type]

    @property
    def status(self) -> StatusTracker:
        """connecting / online / faulted (with the reason) of the Modbus link."""
        return self.link.status

    async def connect(self) -> bool:
        return await self.link.connect()

    def close(self) -> None:
        self.link.close()

    # -- inputs --------------------------------------------------------------------------------
    async def read_inputs(self) -> IoInputs:
        m = self.map
        points = m.input_addresses()
        lo, hi = min(points.values()), max(points.values())
        rr = await self.link.call(
            "read of discrete inputs", lambda c: c.read_discrete_inputs(lo, count=hi - lo + 1, device_id=m.device_id)
        )
        bits = rr.bits
        if len(bits) < hi - lo + 1:
            raise IoFault(f"I/O module returned {len(bits)} inputs, asked for {hi - lo + 1}")
        values: dict[str, bool] = {
            name: bool(bits[addr - lo]) != (name in m.invert_inputs) for name, addr in points.items()
        }
        self.input_faults = self.flap_guard.update(values, time.monotonic())
        return IoInputs(**values)

    async def read_outputs(self) -> dict[str, bool]:
        """Current coil states by name (what the module is driving now)."""
        coils = self.map.coil_addresses()
        lo, hi = min(coils.values()), max(coils.values())
        rr = await self.link.call(
            "read of coils", lambda c: c.read_coils(lo, count=hi - lo + 1, device_id=self.map.device_id)
        )
        return {name: bool(rr.bits[addr - lo]) for name, addr in coils.items()}

    # -- outputs -------------------------------------------------------------------------------
    async def _write_coil(self, address: int, value: bool) -> None:
        await self.link.call(
            f"write to coil {address}", lambda c: c.write_coil(address, value, device_id=self.map.device_id)
        )

    async def set_light(self, green: bool) -> None:
        await self.set_signal(Light.GREEN if green else Light.RED)

    async def set_signal(self, light: Light | str) -> None:
        """Show red, yellow, green or nothing on the lane's traffic light."""
        for address, value in self.map.light_coils(Light(light)).items():
            await self._write_coil(address, value)

    async def show_text(self, text: str) -> None:
        """Write the driver's instruction to the LED display on holding registers (ValueError if it won't fit)."""
        m = self.map
        values = m.encode_display(text)
        assert m.hr_display is not None
        await self.link.call(
            "write of display text", lambda c: c.write_registers(m.hr_display, values, device_id=m.device_id)
        )

    async def pulse(self, name: OutputName, seconds: float = 0.5) -> None:
        """Commissioning: switch one output on for `seconds`, then off.

        The barrier is not lowered onto an occupied (or flapping) loop: then it stays up and
        BarrierRefused is raised.
        """
        coils = self.map.coil_addresses()
        if name not in coils:
            raise ValueError(f"no coil {name!r} in this map (has: {', '.join(coils)})")
        if name == "barrier_lower":  # a pulse-driven boom starts down at the pulse's start
            await self._check_clear_under()
        await self._write_coil(coils[name], True)
        await asyncio.sleep(seconds)
        if name == "barrier_raise" and self.map.barrier_drive == "hold":  # a held boom drops at the end
            await self._check_clear_under()
        await self._write_coil(coils[name], False)

    async def open_barrier(self) -> None:
        if self.map.barrier_drive == "pulse":
            await self._pulse_coil(self.map.coil_barrier_raise)
        else:
            await self._write_coil(self.map.coil_barrier_raise, True)
        await self._await_position(up=True)

    async def close_barrier(self) -> None:
        await self._check_clear_under()
        if self.map.barrier_drive == "pulse":
            assert self.map.coil_barrier_lower is not None  # the map's validator demands it
            await self._pulse_coil(self.map.coil_barrier_lower)
        else:
            await self._write_coil(self.map.coil_barrier_raise, False)
        await self._await_position(up=False)

    async def _pulse_coil(self, address: int) -> None:
        await self._write_coil(address, True)
        try:
            await asyncio.sleep(self.map.barrier_pulse_s)
        finally:
            # Never leave a push-button input held (a held "open" blocks the controller's close).
            await asyncio.shield(self._write_coil(address, False))

    async def _check_clear_under(self) -> None:
        inputs = await self.read_inputs()
        if inputs.loop_under:
            raise BarrierRefused("loop under the barrier is occupied")
        if "loop_under" in self.input_faults:
            raise BarrierRefused(f"loop under the barrier is {self.input_faults['loop_under']}")

    async def _await_position(self, up: bool) -> None:
        # Position feedback is polled: that is how Modbus I/O modules are read on site.
        deadline = time.monotonic() + self.feedback_timeout
        while time.monotonic() < deadline:
            inputs = await self.read_inputs()
            if inputs.barrier_up if up else inputs.barrier_down:
                self.fault = None
                return
            await asyncio.sleep(self.poll_interval)
        self.fault = f"barrier did not reach {'up' if up else 'down'} within {self.feedback_timeout:.1f}s"
        log.error(self.fault)
        raise BarrierFault(self.fault)
