"""Lane I/O driver against the Modbus simulator over real TCP sockets and a real RTU serial line,
plus mbpoll (a third-party Modbus master) to prove the simulator speaks standard Modbus."""

from __future__ import annotations

import asyncio
import gc
import re
import shutil
import time
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kakou.protocols.io_map import IoMapError, Light, load_io_map
from kakou.protocols.modbus_io import BarrierFault, BarrierRefused, IoFault, IoMap, LaneIO, parse_modbus_url
from kakou.protocols.serial_link import Backoff, SerialSettings
from kakou.sim.io_sim import LaneIoSim
from kakou.sim.null_modem import NullModem
from kakou.waiting import eventually

SITE_MAP = """
# Site B, lane 3: an 8-in/8-out module; loop relays on inputs 10-12, barrier limit switches 13/14
device_id = 3
coil_barrier_raise = 4
coil_light_red = 5
coil_light_yellow = 6
coil_light_green = 7
di_loop_before = 10
di_loop_under = 11
di_loop_after = 12
di_barrier_up = 13
di_barrier_down = 14
invert_inputs = ["loop_under"]   # normally-closed relay: open circuit reads as occupied
hr_display = 100
display_registers = 16
"""


@pytest.fixture
def site_map(tmp_path: Path) -> IoMap:
    p = tmp_path / "lane3.toml"
    p.write_text(SITE_MAP, encoding="utf-8")
    return load_io_map(p)


@pytest.fixture
async def tcp_lane(site_map: IoMap) -> AsyncIterator[tuple[LaneIoSim, LaneIO]]:
    sim = LaneIoSim(io_map=site_map, travel_time=0.05)
    await sim.start()
    io = LaneIO.from_url(
        sim.url,
        site_map,
        feedback_timeout=1.0,
        timeout=0.3,
        poll_interval=0.02,
        backoff=Backoff(initial_s=0.1, max_s=0.4),
    )
    assert await io.connect()
    yield sim, io
    io.close()
    await sim.stop()


def test_map_file_toml_and_yaml_agree(tmp_path: Path, site_map: IoMap) -> None:
    y = tmp_path / "lane3.yaml"
    y.write_text(
        "device_id: 3\ncoil_barrier_raise: 4\ncoil_light_red: 5\ncoil_light_yellow: 6\n"
        "coil_light_green: 7\ndi_loop_before: 10\ndi_loop_under: 11\ndi_loop_after: 12\n"
        "di_barrier_up: 13\ndi_barrier_down: 14\ninvert_inputs: [loop_under]\n"
        "hr_display: 100\ndisplay_registers: 16\n",
        encoding="utf-8",
    )
    assert load_io_map(y) == site_map
    assert site_map.coil_addresses() == {"barrier_raise": 4, "light_green": 7, "light_red": 5, "light_yellow": 6}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("coil_light_red = 0\n", "light_red and barrier_raise are both on coil 0"),
        ("di_loop_under = 4\n", "barrier_down and loop_under are both on discrete input 4"),
        ("coil_barrier_rise = 3\n", "coil_barrier_rise: unknown key"),
        ("device_id = 300\n", "device_id: Input should be less than or equal to 247"),
        ("invert_inputs = ['loop_middle']\n", "invert_inputs.0"),
        ("device_id = \n", "is not valid TOML"),
    ],
)
def test_bad_map_file_names_the_problem(tmp_path: Path, text: str, message: str) -> None:
    p = tmp_path / "bad.toml"
    p.write_text(text, encoding="utf-8")
    with pytest.raises(IoMapError, match=re.escape(message)):
        load_io_map(p)


def test_missing_map_file(tmp_path: Path) -> None:
    with pytest.raises(IoMapError, match="cannot read register map"):
        load_io_map(tmp_path / "nope.toml")


def test_modbus_urls() -> None:
    assert parse_modbus_url("tcp://10.0.3.7:502").host == "10.0.3.7"
    rtu = parse_modbus_url("rtu:///dev/ttyUSB0?baud=19200&parity=e&stopbits=1")
    assert rtu.serial == SerialSettings(port="/dev/ttyUSB0", baudrate=19200, parity="E", stopbits=1)
    for bad in (
        "tcp://:502",
        "udp://host:502",
        "rtu://dev/ttyUSB0",
        "rtu:///dev/x?speed=9600",
        "rtu:///dev/x?baud=fast",
        "rtu:///dev/x?parity=Q",
        "tcp://h:99999",
    ):
        with pytest.raises(ValueError, match=re.escape(repr(bad))):
            parse_modbus_url(bad)


@given(st.text(max_size=80))
def test_url_parser_never_crashes(url: str) -> None:
    try:
        parse_modbus_url(url)
    except ValueError:
        pass


async def test_site_map_inputs_lights_and_display(tcp_lane: tuple[LaneIoSim, LaneIO]) -> None:
    sim, io = tcp_lane
    sim.set_loop("before", True)
    i = await io.read_inputs()
    # loop_under is wired normally-closed on this site: the driver must not read it as occupied
    assert (i.loop_before, i.loop_under, i.loop_after, i.barrier_down) == (True, False, False, True)
    sim.set_loop("under", True)
    assert (await io.read_inputs()).loop_under
    for light in (Light.YELLOW, Light.GREEN, Light.RED, Light.OFF):
        await io.set_signal(light)
        assert sim.light is light  # the sim asserts no two lamps are ever lit together
    await io.set_light(True)
    assert sim.light is Light.GREEN and (await io.read_outputs())["light_green"]
    await io.show_text("请停车等候 粤B12345")
    assert sim.display_text == "请停车等候 粤B12345"
    with pytest.raises(ValueError, match="needs 34 bytes; the display holds 32"):
        await io.show_text("请" * 17)
    assert sim.display_history == ["请停车等候 粤B12345"]  # the too-long text wrote nothing


async def test_barrier_safety(tcp_lane: tuple[LaneIoSim, LaneIO]) -> None:
    sim, io = tcp_lane
    await io.open_barrier()
    assert sim.barrier_up
    sim.set_loop("under", True)
    with pytest.raises(BarrierRefused, match="occupied"):
        await io.close_barrier()
    assert sim.barrier_up and [e.command for e in sim.events] == ["raise"]
    sim.set_loop("under", False)
    sim.stuck = True
    with pytest.raises(BarrierFault, match=r"did not reach down within 1\.0s"):
        await io.close_barrier()
    assert io.fault is not None


async def test_flapping_loop_is_reported_and_blocks_close(tcp_lane: tuple[LaneIoSim, LaneIO]) -> None:
    sim, io = tcp_lane
    await io.open_barrier()
    sim.flap_loop("under", period_s=0.03)

    async def flapping() -> bool:
        await io.read_inputs()
        return "loop_under" in io.input_faults

    await eventually(flapping, timeout=5, interval=0.01, what="flapping under-loop to be flagged")
    sim.stop_flapping()
    sim.set_loop("under", False)
    with pytest.raises(BarrierRefused, match="flapping"):
        await io.close_barrier()
    assert sim.barrier_up


async def test_slow_module_is_a_fault_then_recovers(tcp_lane: tuple[LaneIoSim, LaneIO]) -> None:
    sim, io = tcp_lane
    sim.response_delay_s = 1.0
    t0 = time.monotonic()
    with pytest.raises(IoFault, match="read of discrete inputs failed"):
        await io.read_inputs()
    assert time.monotonic() - t0 < 0.9  # the driver's own 0.3 s timeout, not the module's pace
    assert io.status.status.state == "faulted"
    sim.response_delay_s = 0.0
    await eventually(lambda: _reads_ok(io), timeout=5, what="reads to work again")
    assert io.status.status.state == "online"


async def _reads_ok(io: LaneIO) -> bool:
    try:
        await io.read_inputs()
        return True
    except IoFault:
        return False


async def test_disconnect_faults_then_reconnects_with_backoff(tcp_lane: tuple[LaneIoSim, LaneIO]) -> None:
    sim, io = tcp_lane
    await io.read_inputs()
    await sim.disconnect()
    with pytest.raises(IoFault):
        await io.read_inputs()
    assert io.status.status.state == "faulted"
    # during back-off the driver fails fast instead of hanging the lane on a dead socket
    t0 = time.monotonic()
    with pytest.raises(IoFault, match="offline"):
        await io.read_inputs()
    assert time.monotonic() - t0 < 0.05
    await sim.reconnect()
    sim.set_loop("after", True)
    await eventually(lambda: _reads_ok(io), timeout=5, what="reconnect")
    assert (await io.read_inputs()).loop_after
    assert io.status.status.state == "online" and io.link.connects == 2


@pytest.fixture
async def rtu_line(tmp_path: Path) -> AsyncIterator[NullModem]:
    if shutil.which("socat") is None:
        pytest.fail("socat is not installed (the project's setup installs it)")
    async with NullModem(tmp_path) as line:
        yield line


# 8N2 (no parity needs two stop bits in the Modbus spec): Linux ptys here refuse even parity (EINVAL)
async def test_rtu_over_a_serial_line(rtu_line: NullModem, site_map: IoMap) -> None:
    sim = LaneIoSim(
        io_map=site_map, travel_time=0.05, serial=SerialSettings(port=rtu_line.device_path, baudrate=19200, stopbits=2)
    )
    await sim.start()
    io = LaneIO.from_url(
        f"rtu://{rtu_line.host_path}?baud=19200&parity=N&stopbits=2",
        site_map,
        feedback_timeout=1.0,
        timeout=0.5,
        poll_interval=0.02,
    )
    try:
        assert await io.connect()
        sim.set_loop("before", True)
        assert (await io.read_inputs()).loop_before
        await io.open_barrier()
        await io.set_signal(Light.GREEN)
        await io.show_text("请通行")
        assert sim.barrier_up and sim.light is Light.GREEN and sim.display_text == "请通行"
        sim.set_loop("before", False)
        await io.close_barrier()
        assert sim.barrier_down
    finally:
        io.close()
        await sim.stop()


async def test_wrong_unit_id_on_rtu_is_a_fault(rtu_line: NullModem, site_map: IoMap) -> None:
    sim = LaneIoSim(io_map=site_map, serial=SerialSettings(port=rtu_line.device_path, baudrate=9600))
    await sim.start()
    io = LaneIO.from_url(
        f"rtu://{rtu_line.host_path}?baud=9600", site_map.model_copy(update={"device_id": 9}), timeout=0.3
    )
    try:
        with pytest.raises(IoFault):
            await io.read_inputs()
        assert io.status.status.state == "faulted"
    finally:
        io.close()
        await sim.stop()


# -- a third-party master ------------------------------------------------------------------
async def mbpoll(*args: str) -> str:
    if shutil.which("mbpoll") is None:
        pytest.fail("mbpoll is not installed: apt-get install mbpoll (deploy/setup-system.sh lists it)")
    proc = await asyncio.create_subprocess_exec(
        "mbpoll", "-0", "-1", *args, stdout=asyncio.subprocess.PIPE, stderr=asyncio.subprocess.STDOUT
    )
    out, _ = await asyncio.wait_for(proc.communicate(), 10)
    assert proc.returncode == 0, out.decode()
    return out.decode()


def _values(out: str) -> dict[int, int]:
    return {int(a): int(v) for a, v in re.findall(r"^\[(\d+)\]:\s+(-?\d+)", out, re.M)}


async def test_mbpoll_reads_inputs_and_drives_coils_over_tcp(tcp_lane: tuple[LaneIoSim, LaneIO]) -> None:
    sim, io = tcp_lane
    sim.set_loop("before", True)
    tcp = ["-m", "tcp", "-a", "3", "-p", str(sim.port), "127.0.0.1"]
    # discrete inputs 10..14: before, under (NC wiring: 1 = clear), after, up, down
    assert _values(await mbpoll("-t", "1", "-r", "10", "-c", "5", *tcp)) == {10: 1, 11: 1, 12: 0, 13: 0, 14: 1}
    await io.set_signal(Light.YELLOW)
    assert _values(await mbpoll("-t", "0", "-r", "4", "-c", "4", *tcp)) == {4: 0, 5: 0, 6: 1, 7: 0}
    await mbpoll("-t", "0", "-r", "4", *tcp, "1")  # a technician raises the barrier by hand
    assert await sim.wait_barrier(up=True, timeout=2)
    await io.show_text("AB")
    assert _values(await mbpoll("-t", "4", "-r", "100", "-c", "2", *tcp)) == {100: 0x4142, 101: 0}


async def test_mbpoll_reads_the_rtu_simulator(rtu_line: NullModem, site_map: IoMap) -> None:
    sim = LaneIoSim(io_map=site_map, serial=SerialSettings(port=rtu_line.device_path, baudrate=9600, stopbits=2))
    await sim.start()
    try:
        sim.set_loop("after", True)
        out = await mbpoll(
            "-m",
            "rtu",
            "-b",
            "9600",
            "-P",
            "none",
            "-s",
            "2",
            "-a",
            "3",
            "-t",
            "1",
            "-r",
            "10",
            "-c",
            "5",
            rtu_line.host_path,
        )
        assert _values(out) == {10: 0, 11: 1, 12: 1, 13: 0, 14: 1}
    finally:
        await sim.stop()


async def test_built_in_map_without_display() -> None:
    async with LaneIoSim(travel_time=0.02) as sim:
        io = LaneIO("127.0.0.1", sim.port, IoMap(), feedback_timeout=1.0, poll_interval=0.02)
        try:
            await io.set_light(False)
            assert sim.light is Light.RED  # one green coil: off means red
            with pytest.raises(ValueError, match="no yellow light coil"):
                await io.set_signal(Light.YELLOW)
            with pytest.raises(ValueError, match="no display registers"):
                await io.show_text("请停车")
            await io.open_barrier()
            assert sim.barrier_up and sim.display_text is None
        finally:
            io.close()


async def test_pulse_driven_barrier_controller() -> None:
    m = IoMap(
        barrier_drive="pulse", coil_barrier_raise=0, coil_barrier_lower=2, coil_light_green=1, barrier_pulse_s=0.05
    )
    async with LaneIoSim(io_map=m, travel_time=0.05) as sim:
        io = LaneIO("127.0.0.1", sim.port, m, feedback_timeout=1.0, poll_interval=0.02)
        try:
            await io.open_barrier()
            assert sim.barrier_up and not sim.coil(0)  # the open input was pulsed, not held
            sim.set_loop("under", True)
            with pytest.raises(BarrierRefused):
                await io.close_barrier()
            with pytest.raises(BarrierRefused):
                await io.pulse("barrier_lower", 0.05)
            assert not sim.coil(2) and sim.barrier_up
            sim.set_loop("under", False)
            await io.close_barrier()
            assert sim.barrier_down and not sim.coil(2)
            assert [e.command for e in sim.events] == ["raise", "lower"]
        finally:
            io.close()


def test_pulse_drive_needs_a_close_coil() -> None:
    with pytest.raises(ValueError, match="needs coil_barrier_lower"):
        IoMap(barrier_drive="pulse")


async def test_a_read_cancelled_in_flight_leaves_no_unretrieved_error(tcp_lane: tuple[LaneIoSim, LaneIO]) -> None:
    # The lane cancels a loop poll when an officer's command arrives first (kakou.tasks.first_of);
    # pymodbus answers a cancelled request with its own error, which nobody would then retrieve
    # ("Task exception was never retrieved" in the lane's log).
    sim, io = tcp_lane
    unhandled: list[dict[str, object]] = []
    loop = asyncio.get_running_loop()
    loop.set_exception_handler(lambda _loop, context: unhandled.append(context))
    gc.freeze()  # the collection below then looks at this test's objects only (seconds in a full run)
    try:
        sim.response_delay_s = 0.2
        before = sim.requests
        poll = asyncio.create_task(io.read_inputs())
        await eventually(lambda: sim.requests > before, timeout=5, what="the request at the module")
        poll.cancel()
        with pytest.raises(asyncio.CancelledError):
            await poll
        sim.response_delay_s = 0.0
        await eventually(lambda: _reads_ok(io), timeout=5, what="reads to work again")
        gc.collect()  # a task's unretrieved error is reported when the task is collected
    finally:
        gc.unfreeze()
    assert unhandled == []
