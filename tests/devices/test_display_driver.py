"""LED display: driver against simulator over a real pty, Chinese text included."""

from __future__ import annotations

import pytest

from kakou.protocols.display import DisplayConfig, DisplayDriver, DisplayError
from kakou.protocols.serial_link import Backoff, SerialSettings
from kakou.sim.display_sim import DisplaySim


def config(sim: DisplaySim, **kw: object) -> DisplayConfig:
    return DisplayConfig(
        serial=SerialSettings(port=sim.path),
        backoff=Backoff(initial_s=0.02, max_s=0.2),
        ack_timeout_s=0.3,
        **kw,
    )


@pytest.mark.parametrize("encoding", ["gb2312", "utf-8"])
async def test_shows_chinese_text(encoding: str) -> None:
    async with DisplaySim() as sim, DisplayDriver(config(sim, encoding=encoding)) as display:
        await display.status.wait_for("online", 3)
        await display.show("粤B12345 请前行", color="green")
        await display.show("称重中，请停车", line=1, color="red")
        assert sim.text(0) == "粤B12345 请前行"
        assert sim.text(1) == "称重中，请停车"
        assert sim.lines[1].color == "red" and sim.lines[1].encoding == encoding
        await display.clear()
        assert sim.lines == {}


async def test_gb2312_refuses_unencodable_text() -> None:
    async with DisplaySim() as sim, DisplayDriver(config(sim)) as display:
        await display.status.wait_for("online", 3)
        with pytest.raises(ValueError):
            await display.show("🚚")
        assert sim.history == []


async def test_slow_display_within_timeout_and_mute_display_faulted() -> None:
    async with DisplaySim() as sim, DisplayDriver(config(sim, retries=1)) as display:
        await display.status.wait_for("online", 3)
        sim.reply_delay_s = 0.1
        await display.show("请稍候")
        sim.mute = True
        with pytest.raises(DisplayError, match="no ACK"):
            await display.show("无应答")
        assert display.status.status.state == "faulted"
        sim.mute = False
        await display.show("恢复")
        assert display.status.status.state == "online"


async def test_corrupted_command_is_retried() -> None:
    async with DisplaySim() as sim, DisplayDriver(config(sim, retries=2)) as display:
        await display.status.wait_for("online", 3)
        sim.port.faults.drop_next = 2  # the first ACK loses its head: the driver times out and resends
        await display.show("请出示证件")
        assert sim.history.count(sim.history[-1]) == 2


async def test_disconnected_display() -> None:
    async with DisplaySim() as sim, DisplayDriver(config(sim, retries=0)) as display:
        await display.status.wait_for("online", 3)
        sim.disconnect()
        await display.status.wait_for("faulted", 3)
        with pytest.raises(DisplayError):
            await display.show("断线")
        sim.reconnect()
        await display.status.wait_for("online", 3)
        await display.show("已恢复")
        assert sim.text() == "已恢复"
