"""A lane I/O module on Modbus TCP: barrier with travel time, loop detectors, traffic light.

Speaks real Modbus TCP through pymodbus's server, so the driver (and mbpoll) talk to it
exactly as to a site's I/O module. Tests and scenarios steer it through the methods below.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass, field

from pymodbus.datastore import ModbusDeviceContext, ModbusSequentialDataBlock, ModbusServerContext
from pymodbus.server import ModbusTcpServer

from kakou.protocols.modbus_io import IoMap

log = logging.getLogger(__name__)
SIZE = 64


class _Coils(ModbusSequentialDataBlock):
    """Coil block that tells the simulator when a client writes an output."""

    def __init__(self, on_write: callable) -> None:  # type: ignore[valid-type]
        super().__init__(0, [False] * SIZE)
        self._on_write = on_write

    def setValues(self, address: int, values: list[bool]) -> None:
        super().setValues(address, values)
        self._on_write()


@dataclass
class BarrierEvent:
    command: str  # "raise" or "lower"


@dataclass
class LaneIoSim:
    io_map: IoMap = field(default_factory=IoMap)
    host: str = "127.0.0.1"
    port: int = 0
    travel_time: float = 0.2
    stuck: bool = False  # fault injection: the barrier never reaches its position
    events: list[BarrierEvent] = field(default_factory=list)

    def __post_init__(self) -> None:
        self._di = ModbusSequentialDataBlock(0, [False] * SIZE)
        self._co = _Coils(self._coils_written)
        device = ModbusDeviceContext(di=self._di, co=self._co)
        self._context = ModbusServerContext(devices={self.io_map.device_id: device}, single=False)
        self._server: ModbusTcpServer | None = None
        self._raise = False
        self._motion: asyncio.Task | None = None
        self.barrier_changed = asyncio.Event()
        # pymodbus's data blocks are 1-based on the wire side of the device context
        self._set_di(self.io_map.di_barrier_down, True)

    # -- addressing: the device context maps wire address a to block index a+1 -----------
    def _set_di(self, addr: int, value: bool) -> None:
        self._di.setValues(addr + 1, [value])

    def _di_value(self, addr: int) -> bool:
        return bool(self._di.getValues(addr + 1, 1)[0])

    def coil(self, addr: int) -> bool:
        return bool(self._co.getValues(addr + 1, 1)[0])

    async def start(self) -> None:
        self._server = ModbusTcpServer(self._context, address=(self.host, self.port))
        await self._server.listen()
        transport = self._server.transport
        if self.port == 0 and transport is not None:
            self.port = transport.sockets[0].getsockname()[1]
        log.info("lane I/O simulator on modbus tcp://%s:%s", self.host, self.port)

    async def stop(self) -> None:
        if self._motion:
            self._motion.cancel()
        if self._server:
            await self._server.shutdown()

    # -- what the physical world does -------------------------------------------------------
    def set_loop(self, which: str, occupied: bool) -> None:
        addr = {"before": self.io_map.di_loop_before, "under": self.io_map.di_loop_under,
                "after": self.io_map.di_loop_after}[which]
        self._set_di(addr, occupied)

    @property
    def barrier_up(self) -> bool:
        return self._di_value(self.io_map.di_barrier_up)

    @property
    def barrier_down(self) -> bool:
        return self._di_value(self.io_map.di_barrier_down)

    async def wait_barrier(self, up: bool, timeout: float) -> bool:
        """Wait until the barrier is fully up (or down); False if it did not get there in time."""
        async def reached() -> None:
            while (self.barrier_up if up else self.barrier_down) is False:
                self.barrier_changed.clear()
                await self.barrier_changed.wait()

        try:
            await asyncio.wait_for(reached(), timeout)
            return True
        except TimeoutError:
            return False

    @property
    def light_green(self) -> bool:
        return self.coil(self.io_map.coil_light_green)

    def _coils_written(self) -> None:
        want = self.coil(self.io_map.coil_barrier_raise)
        if want == self._raise:
            return
        self._raise = want
        self.events.append(BarrierEvent("raise" if want else "lower"))
        if self._motion:
            self._motion.cancel()
        self._motion = asyncio.get_running_loop().create_task(self._move(want))

    async def _move(self, up: bool) -> None:
        self._set_di(self.io_map.di_barrier_up, False)
        self._set_di(self.io_map.di_barrier_down, False)
        await asyncio.sleep(self.travel_time)  # the boom's travel time
        if self.stuck:
            return
        self._set_di(self.io_map.di_barrier_up, up)
        self._set_di(self.io_map.di_barrier_down, not up)
        self.barrier_changed.set()
