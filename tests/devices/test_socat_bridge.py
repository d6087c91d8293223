"""A third-party peer on the line: socat relays the simulator's serial line to a second pty.

If the simulator only worked with our own driver's quirks, a byte-for-byte relay through socat
(what a technician uses to tap or forward a serial port) would break it.
"""

from __future__ import annotations

import asyncio
import shutil
from pathlib import Path

import pytest

from kakou.protocols.cardreader import CardReaderConfig, CardReaderDriver
from kakou.protocols.serial_link import Backoff, SerialSettings
from kakou.protocols.weighbridge import WeighbridgeConfig, WeighbridgeDriver
from kakou.protocols.weighbridge_stability import StabilityParams
from kakou.sim.cardreader_sim import CardReaderSim
from kakou.sim.weighbridge_sim import WeighbridgeSim

pytestmark = pytest.mark.skipif(shutil.which("socat") is None, reason="socat not installed")


async def start_socat(device: str, link: Path) -> asyncio.subprocess.Process:
    proc = await asyncio.create_subprocess_exec(
        "socat", "-d", "-d",
        f"FILE:{device},raw,echo=0",
        f"PTY,raw,echo=0,link={link}",
        stderr=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert proc.stderr is not None
    async with asyncio.timeout(5):  # socat says so once both ends are open
        while b"starting data transfer loop" not in await proc.stderr.readline():
            pass
    return proc


async def stop(proc: asyncio.subprocess.Process) -> None:
    if proc.returncode is None:
        proc.terminate()
    await proc.wait()


async def test_weighbridge_through_socat(tmp_path: Path) -> None:
    async with WeighbridgeSim("toledo", rate_hz=50) as sim:
        socat = await start_socat(sim.path, tmp_path / "bridged")
        try:
            cfg = WeighbridgeConfig(
                serial=SerialSettings(port=str(tmp_path / "bridged")),
                protocol="toledo",
                stability=StabilityParams(min_readings=5, tolerance_kg=10, window_s=0.2),
                backoff=Backoff(initial_s=0.02),
            )
            async with WeighbridgeDriver(cfg) as scale:
                sim.vehicle_on(41260, settle_frames=10)
                s = await scale.wait_for(lambda s: s.stable and s.weight_kg == 41260, 5)
                assert s.flags == ["stable"] and scale.stats.framing_errors <= 1
        finally:
            await stop(socat)


async def test_rfid_through_socat(tmp_path: Path) -> None:
    async with CardReaderSim(heartbeat_s=0.1) as sim:
        socat = await start_socat(sim.path, tmp_path / "bridged")
        try:
            cfg = CardReaderConfig(
                serial=SerialSettings(port=str(tmp_path / "bridged")), backoff=Backoff(initial_s=0.02)
            )
            async with CardReaderDriver(cfg) as reader:
                await reader.status.wait_for("online", 3)
                sim.present_tag("E2801160600002054C2B1A3F", reads=3)
                read = await reader.next_read(5)
                assert read.id == "E2801160600002054C2B1A3F"
        finally:
            await stop(socat)
