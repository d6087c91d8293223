"""`kakou probe io` run as a technician would: a subprocess talking Modbus to the simulated module."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path

import pytest
from device_helpers import kakou_probe

from kakou.protocols.io_map import IoMap, Light, load_io_map
from kakou.sim.io_sim import LaneIoSim
from kakou.waiting import eventually

MAP = """device_id = 2
coil_barrier_raise = 0
coil_light_green = 1
coil_light_red = 2
hr_display = 20
"""


@pytest.fixture
async def sim(tmp_path: Path) -> AsyncIterator[tuple[LaneIoSim, Path]]:
    path = tmp_path / "site.toml"
    path.write_text(MAP, encoding="utf-8")
    s = LaneIoSim(io_map=load_io_map(path), travel_time=0.05)
    await s.start()
    yield s, path
    await s.stop()


async def test_probe_prints_states_and_pulses_an_output(sim: tuple[LaneIoSim, Path]) -> None:
    s, path = sim
    s.set_loop("before", True)
    rc, lines, err = await kakou_probe(
        "io", "--modbus", s.url, "--map", str(path), "--pulse", "light_green", "--pulse-s", "0.2", "--text", "请停车"
    )
    assert rc == 0, err
    first, after = lines
    assert first["inputs"] == {
        "loop_before": True,
        "loop_under": False,
        "loop_after": False,
        "barrier_up": False,
        "barrier_down": True,
    }
    assert first["outputs"] == {"barrier_raise": False, "light_green": False, "light_red": False}
    assert after["pulsed"] == "light_green" and after["outputs"]["light_green"] is False
    assert s.display_text == "请停车"
    assert s.requests >= 4  # it really went over the wire: reads, pulse on, pulse off, reads


async def test_probe_barrier_pulse_refuses_to_lower_on_an_occupied_loop(sim: tuple[LaneIoSim, Path]) -> None:
    s, path = sim
    s.set_loop("under", True)
    rc, lines, err = await kakou_probe(
        "io", "--modbus", s.url, "--map", str(path), "--pulse", "barrier_raise", "--pulse-s", "0.2", "--light", "red"
    )
    assert rc == 1 and "loop under the barrier is occupied" in err
    assert lines[0]["inputs"]["loop_under"] is True and lines[0]["outputs"]["light_red"] is True
    assert s.barrier_up and s.light is Light.RED  # left up, as the safety rule says


async def test_probe_watch_prints_changes(sim: tuple[LaneIoSim, Path]) -> None:
    s, path = sim
    task = asyncio.create_task(
        kakou_probe(
            "io",
            "--modbus",
            s.url,
            "--map",
            str(path),
            "--watch",
            "--interval",
            "0.05",
            "--count",
            "2",
            "--timeout",
            "20",
        )
    )
    # the probe has printed its first line once it has read the module; then a truck arrives
    await eventually(lambda: s.requests >= 2, timeout=15, what="probe to read the module")
    s.set_loop("after", True)
    rc, lines, err = await task
    assert rc == 0, err
    assert [ln["inputs"]["loop_after"] for ln in lines] == [False, True]


async def test_probe_bad_map_and_dead_module(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text("coil_barrier_raise = 1\n", encoding="utf-8")  # clashes with the green light's coil 1
    rc, lines, err = await kakou_probe("io", "--modbus", "tcp://127.0.0.1:9", "--map", str(bad))
    assert rc == 2 and "both on coil 1" in err and lines == []
    rc, lines, err = await kakou_probe("io", "--modbus", "tcp://127.0.0.1:9", "--io-timeout", "0.3")
    assert rc == 1 and "cannot connect" in err and lines == []
    rc, _, err = await kakou_probe("io", "--modbus", "serial:/dev/ttyUSB0")
    assert rc == 2 and "scheme must be tcp:// or rtu://" in err
    assert IoMap().coil_addresses()  # the built-in map the probe falls back to is valid
