"""A lane I/O module on Modbus TCP or RTU: barrier with travel time, loop detectors, traffic light, LED text.

Speaks real Modbus through pymodbus's server, so the driver (and mbpoll) talk to it exactly as to
a site's I/O module. Tests and scenarios steer it through the methods below. Faults: a stuck
barrier, slow responses, a flapping loop detector, and a module that drops off the network (or
serial line) and comes back.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from pymodbus import FramerType
from pymodbus.datastore import ModbusDeviceContext, ModbusSequentialDataBlock, ModbusServerContext
from pymodbus.server import ModbusSerialServer, ModbusTcpServer

from kakou.protocols.io_map import IoMap, Light
from kakou.protocols.serial_link import SerialSettings
from kakou.tasks import StartStop

log = logging.getLogger(__name__)
SIZE = 64


def _size(*addresses: int | None) -> int:
    # Block index a+1 holds wire address a (see _set_di), so a block of n covers addresses 0..n-2.
    return max([SIZE, *(a + 2 for a in addresses if a is not None)])


def _values(block: ModbusSequentialDataBlock, address: int, count: int) -> list[int] | list[bool]:
    """A block's values; pymodbus answers an exception code for addresses outside the block."""
    values = block.getValues(address, count)
    if not isinstance(values, list):
        raise IndexError(f"no {count} value(s) at block index {address}: {values!r}")
    return values


class _Coils(ModbusSequentialDataBlock):
    """Coil (or register) block that tells the simulator when a client writes it."""

    def __init__(self, size: int, initial: bool | int, on_write: Callable[[], None]) -> None:
        super().__init__(0, [initial] * size)
        self._on_write = on_write

    def setValues(self, address: int, values: list[bool] | list[int]) -> None:
        super().setValues(address, values)
        self._on_write()


class _SlowDevice(ModbusDeviceContext):
    """Device context whose answers can be delayed (a busy or overloaded I/O module)."""

    def __init__(self, sim: LaneIoSim, **blocks: ModbusSequentialDataBlock) -> None:
        super().__init__(**blocks)
        self._sim = sim

    async def async_getValues(self, func_code: int, address: int, count: int = 1):
        self._sim.requests += 1
        if self._sim.response_delay_s:
            await asyncio.sleep(self._sim.response_delay_s)
        return self.getValues(func_code, address, count)

    async def async_setValues(self, func_code: int, address: int, values):
        self._sim.requests += 1
        if self._sim.response_delay_s:
            await asyncio.sleep(self._sim.response_delay_s)
        return self.setValues(func_code, address, values)


@dataclass
class BarrierEvent:
    command: str  # "raise" or "lower"


@dataclass
class LaneIoSim(StartStop):
    io_map: IoMap = field(default_factory=IoMap)
    host: str = "127.0.0.1"
    port: int = 0
    travel_time: float = 0.2
    stuck: bool = False  # fault injection: the barrier never reaches its position
    serial: SerialSettings | None = None  # set: Modbus RTU on this serial port instead of TCP
    response_delay_s: float = 0.0  # fault injection: slow answers
    events: list[BarrierEvent] = field(default_factory=list)
    requests: int = 0  # requests served (reads and writes), for tests

    def __post_init__(self) -> None:
        m = self.io_map
        self._di = ModbusSequentialDataBlock(0, [False] * _size(*m.input_addresses().values()))
        self._co = _Coils(_size(*m.coil_addresses().values()), False, self._coils_written)
        hr_end = None if m.hr_display is None else m.hr_display + m.display_registers
        self._hr = _Coils(_size(hr_end), 0, self._registers_written)
        device = _SlowDevice(self, di=self._di, co=self._co, hr=self._hr)
        self._context = ModbusServerContext(devices={m.device_id: device}, single=False)
        self._server: ModbusTcpServer | ModbusSerialServer | None = None
        self._raise = self._lower = False
        self._motion: asyncio.Task | None = None
        self._flapper: asyncio.Task | None = None
        self.barrier_changed = asyncio.Event()
        self.display_history: list[str] = []  # every text a client wrote, in order
        for name in m.input_addresses():  # the wire level of a clear lane (NC inputs read 1)
            self._set_input(name, name == "barrier_down")

    # -- addressing: the device context maps wire address a to block index a+1 -----------
    def _set_di(self, addr: int, value: bool) -> None:
        self._di.setValues(addr + 1, [value])

    def _di_value(self, addr: int) -> bool:
        return bool(_values(self._di, addr + 1, 1)[0])

    def _set_input(self, name: str, value: bool) -> None:
        # The wire carries the inverted level for inputs the site wired normally-closed.
        m = self.io_map
        self._set_di(m.input_addresses()[name], value != (name in m.invert_inputs))  # type: ignore[index]

    def _input(self, name: str) -> bool:
        m = self.io_map
        return self._di_value(m.input_addresses()[name]) != (name in m.invert_inputs)  # type: ignore[index]

    def coil(self, addr: int) -> bool:
        return bool(_values(self._co, addr + 1, 1)[0])

    @property
    def running(self) -> bool:
        return self._server is not None

    @property
    def url(self) -> str:
        if self.serial is not None:
            return f"rtu://{self.serial.port}?baud={self.serial.baudrate}&parity={self.serial.parity}"
        return f"tcp://{self.host}:{self.port}"

    # -- lifecycle --------------------------------------------------------------------------
    async def start(self) -> None:
        if self.serial is not None:
            s = self.serial
            # ignore_missing_devices: on an RTU bus a module stays silent for other unit ids
            self._server = ModbusSerialServer(
                self._context,
                framer=FramerType.RTU,
                port=s.port,
                baudrate=s.baudrate,
                bytesize=s.bytesize,
                parity=s.parity,
                stopbits=int(s.stopbits),
                reconnect_delay=0.2,
                ignore_missing_devices=True,
            )
            if not await self._server.listen():
                raise OSError(f"cannot open {s.port} for the Modbus RTU simulator")
        else:
            self._server = ModbusTcpServer(self._context, address=(self.host, self.port))
            if not await self._server.listen():
                raise OSError(f"cannot listen on {self.host}:{self.port}")
            transport = self._server.transport
            if self.port == 0 and isinstance(transport, asyncio.Server):  # what listen() made for TCP
                self.port = transport.sockets[0].getsockname()[1]
        log.info("lane I/O simulator on modbus %s", self.url)

    async def stop(self) -> None:
        for task in (self._motion, self._flapper):
            if task:
                task.cancel()
        await self.disconnect()

    async def disconnect(self) -> None:
        """Fault: the module drops off the network (TCP: port closed, clients cut) or the line."""
        if self._server:
            await self._server.shutdown()
            self._server = None

    async def reconnect(self) -> None:
        """The module is back, on the same port."""
        if self._server is None:
            await self.start()

    # -- what the physical world does -------------------------------------------------------
    def set_loop(self, which: str, occupied: bool) -> None:
        self._set_input(f"loop_{which}", occupied)

    def loop(self, which: str) -> bool:
        return self._input(f"loop_{which}")

    def flap_loop(self, which: str, period_s: float = 0.1) -> None:
        """Fault: the loop detector chatters, toggling every `period_s` until `stop_flapping()`."""
        self.stop_flapping()

        async def flap() -> None:
            while True:
                self.set_loop(which, not self.loop(which))
                await asyncio.sleep(period_s)

        self._flapper = asyncio.get_running_loop().create_task(flap())

    def stop_flapping(self) -> None:
        if self._flapper:
            self._flapper.cancel()
            self._flapper = None

    @property
    def barrier_up(self) -> bool:
        return self._input("barrier_up")

    @property
    def barrier_down(self) -> bool:
        return self._input("barrier_down")

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

    @property
    def light(self) -> Light:
        """What the traffic light shows (with only a green coil, off means red)."""
        m = self.io_map
        lit = [Light.GREEN] if self.coil(m.coil_light_green) else []
        if m.coil_light_yellow is not None and self.coil(m.coil_light_yellow):
            lit.append(Light.YELLOW)
        if m.coil_light_red is None:
            return lit[0] if lit else Light.RED
        if self.coil(m.coil_light_red):
            lit.append(Light.RED)
        if len(lit) > 1:
            raise AssertionError(f"two lamps lit at once: {lit}")
        return lit[0] if lit else Light.OFF

    @property
    def display_text(self) -> str | None:
        m = self.io_map
        if m.hr_display is None:
            return None
        return m.decode_display(list(_values(self._hr, m.hr_display + 1, m.display_registers)))

    def _registers_written(self) -> None:
        text = self.display_text
        if text is not None and (not self.display_history or self.display_history[-1] != text):
            self.display_history.append(text)

    def _coils_written(self) -> None:
        m = self.io_map
        raise_on = self.coil(m.coil_barrier_raise)
        if m.barrier_drive == "hold":
            if raise_on != self._raise:
                self._command(raise_on)
            self._raise = raise_on
            return
        # Pulse-driven controller: it acts on the rising edge of its open / close inputs.
        lower_on = m.coil_barrier_lower is not None and self.coil(m.coil_barrier_lower)
        if raise_on and not self._raise:
            self._command(True)
        if lower_on and not self._lower:
            self._command(False)
        self._raise, self._lower = raise_on, lower_on

    def _command(self, up: bool) -> None:
        self.events.append(BarrierEvent("raise" if up else "lower"))
        if self._motion:
            self._motion.cancel()
        self._motion = asyncio.get_running_loop().create_task(self._move(up))

    async def _move(self, up: bool) -> None:
        self._set_input("barrier_up", False)
        self._set_input("barrier_down", False)
        await asyncio.sleep(self.travel_time)  # the boom's travel time
        if self.stuck:
            return
        self._set_input("barrier_up", up)
        self._set_input("barrier_down", not up)
        self.barrier_changed.set()
