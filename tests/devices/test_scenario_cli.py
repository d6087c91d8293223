"""`kakou sim lane` (kakou.sim.lane_cli) as a process: it prints where each simulated device is, and a
driver that only knows those printed addresses runs a truck through it."""

from __future__ import annotations

import asyncio
import re
import socket
import sys
from pathlib import Path

from kakou.protocols.cardreader import CardReaderConfig, CardReaderDriver
from kakou.protocols.modbus_io import IoFault, IoInputs, IoMap, LaneIO
from kakou.protocols.serial_link import SerialSettings
from kakou.protocols.weighbridge import WeighbridgeConfig, WeighbridgeDriver
from kakou.protocols.weighbridge_stability import StabilityParams
from kakou.waiting import eventually


async def _inputs(io: LaneIO) -> IoInputs | None:
    # A read that times out on a loaded machine is a fault the driver reports; the poll tries again.
    try:
        return await io.read_inputs()
    except IoFault:
        return None


async def _arrived(io: LaneIO) -> bool:
    i = await _inputs(io)
    return bool(i and i.loop_before)


async def _clear(io: LaneIO) -> bool:
    i = await _inputs(io)
    return bool(i and not (i.loop_before or i.loop_under or i.loop_after))


async def test_sim_lane_process_runs_a_truck(tmp_path: Path) -> None:
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kakou.sim.lane_cli",
        "--modbus-port",
        "0",
        "--camera-port",
        "0",
        "--weighbridge",
        "ascii",
        "--rfid",
        "--pty-dir",
        str(tmp_path),
        "--trucks",
        "1",
        "--interval",
        "0",
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdout is not None
    try:
        lines: list[str] = []
        async with asyncio.timeout(20):
            while len(lines) < 4:
                lines.append((await proc.stdout.readline()).decode().strip())
        text = "\n".join(lines)
        url = re.search(r"modbus (tcp://\S+)", text)
        scale_path = re.search(r"weighbridge \(ascii\): serial (\S+)", text)
        rfid_path = re.search(r"RFID e-plate reader: serial (\S+)", text)
        assert url and scale_path and rfid_path, text
        io = LaneIO.from_url(url.group(1), IoMap(), poll_interval=0.02)
        cfg = WeighbridgeConfig(
            serial=SerialSettings(port=scale_path.group(1)),
            protocol="ascii",
            stability=StabilityParams(min_readings=5, tolerance_kg=10, window_s=0.3),
        )
        async with (
            WeighbridgeDriver(cfg) as scale,
            CardReaderDriver(CardReaderConfig(serial=SerialSettings(port=rfid_path.group(1)), kind="rfid")) as rfid,
        ):
            tag = asyncio.create_task(rfid.next_read(20))
            await eventually(lambda: _arrived(io), timeout=20, what="the simulated truck")
            w = await scale.wait_for(lambda s: s.stable and (s.weight_kg or 0) > 10_000, timeout=10)
            assert (await tag).id.startswith("E2801160")
            await io.open_barrier()
            await eventually(lambda: _clear(io), timeout=10, what="the truck to leave")
            await io.close_barrier()
        io.close()
        async with asyncio.timeout(15):
            done = (await proc.stdout.readline()).decode()
        assert re.match(rf"truck 1 \S+ {w.weight_kg:g} kg: passed", done), done
    finally:
        proc.terminate()
        await proc.wait()


async def test_sim_lane_port_in_use() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "kakou.sim.lane_cli",
            "--modbus-port",
            str(port),
            "--camera-port",
            "0",
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
        )
        _, err = await asyncio.wait_for(proc.communicate(), 20)
    assert proc.returncode == 2 and f"lane I/O simulator: cannot listen on 127.0.0.1:{port}" in err.decode()
