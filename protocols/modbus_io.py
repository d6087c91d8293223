"""Lane I/O over Modbus TCP: barrier, loop detectors, traffic light.

The register map is per site (config), because every integrator wires the I/O module
differently. Safety lives here, in the driver, so no caller can get it wrong:
a close is refused while the loop under the barrier is occupied, and a command that gets no
position feedback in time marks the barrier faulted (the lane then goes to manual handling).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

from pydantic import BaseModel, ConfigDict, Field
from pymodbus.client import AsyncModbusTcpClient
from pymodbus.exceptions import ModbusException

log = logging.getLogger(__name__)


class IoMap(BaseModel):
    """Addresses of the lane's I/O points (coils = outputs, discrete inputs = sensors)."""

    model_config = ConfigDict(extra="forbid")

    device_id: int = Field(1, ge=0, le=247)
    coil_barrier_raise: int = Field(0, ge=0)  # held on = barrier up, off = barrier down
    coil_light_green: int = Field(1, ge=0)  # on = green, off = red
    di_loop_before: int = Field(0, ge=0)
    di_loop_under: int = Field(1, ge=0)
    di_loop_after: int = Field(2, ge=0)
    di_barrier_up: int = Field(3, ge=0)
    di_barrier_down: int = Field(4, ge=0)


@dataclass(frozen=True)
class IoInputs:
    loop_before: bool
    loop_under: bool
    loop_after: bool
    barrier_up: bool
    barrier_down: bool


class IoFault(Exception):
    """The I/O module did not answer or answered with an error."""


class BarrierRefused(Exception):
    """A barrier command that would be unsafe (closing on an occupied loop)."""


class BarrierFault(Exception):
    """The barrier did not reach the commanded position in time."""


class LaneIO:
    def __init__(self, host: str, port: int, io_map: IoMap, feedback_timeout: float = 3.0,
                 poll_interval: float = 0.05) -> None:
        self.map = io_map
        self.feedback_timeout = feedback_timeout
        self.poll_interval = poll_interval
        self.fault: str | None = None
        self._client = AsyncModbusTcpClient(host, port=port, timeout=1.0, retries=1, reconnect_delay=0.2,
                                            reconnect_delay_max=5.0)
        self._lock = asyncio.Lock()  # one transaction at a time on the shared connection

    async def connect(self) -> bool:
        return await self._client.connect()

    def close(self) -> None:
        self._client.close()

    async def read_inputs(self) -> IoInputs:
        m = self.map
        points = [m.di_loop_before, m.di_loop_under, m.di_loop_after, m.di_barrier_up, m.di_barrier_down]
        lo, hi = min(points), max(points)
        async with self._lock:
            try:
                if not self._client.connected:
                    await self._client.connect()
                rr = await self._client.read_discrete_inputs(lo, count=hi - lo + 1, device_id=m.device_id)
            except (TimeoutError, ModbusException, OSError) as exc:
                raise IoFault(f"I/O module read failed: {exc}") from exc
        if rr.isError():
            raise IoFault(f"I/O module answered {rr}")
        bits = rr.bits
        return IoInputs(*(bool(bits[p - lo]) for p in points))

    async def _write_coil(self, address: int, value: bool) -> None:
        async with self._lock:
            try:
                if not self._client.connected:
                    await self._client.connect()
                rr = await self._client.write_coil(address, value, device_id=self.map.device_id)
            except (TimeoutError, ModbusException, OSError) as exc:
                raise IoFault(f"I/O module write failed: {exc}") from exc
        if rr.isError():
            raise IoFault(f"I/O module refused write to coil {address}: {rr}")

    async def set_light(self, green: bool) -> None:
        await self._write_coil(self.map.coil_light_green, green)

    async def open_barrier(self) -> None:
        await self._write_coil(self.map.coil_barrier_raise, True)
        await self._await_position(up=True)

    async def close_barrier(self) -> None:
        inputs = await self.read_inputs()
        if inputs.loop_under:
            raise BarrierRefused("loop under the barrier is occupied")
        await self._write_coil(self.map.coil_barrier_raise, False)
        await self._await_position(up=False)

    async def _await_position(self, up: bool) -> None:
        # Position feedback is polled: that is how Modbus I/O modules are read on site.
        deadline = time.monotonic() + self.feedback_timeout
        while time.monotonic() < deadline:
            inputs = await self.read_inputs()
            if (inputs.barrier_up if up else inputs.barrier_down):
                self.fault = None
                return
            await asyncio.sleep(self.poll_interval)
        self.fault = f"barrier did not reach {'up' if up else 'down'} within {self.feedback_timeout:.1f}s"
        log.error(self.fault)
        raise BarrierFault(self.fault)
