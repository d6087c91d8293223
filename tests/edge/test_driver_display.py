"""The driver's LED sign: the lane's states as Chinese instructions over the real serial display
protocol (GB2312), a sign that stops answering never holds up the lane, and a closed lane says so."""

from __future__ import annotations

import asyncio
import logging
from pathlib import Path

from kakou.edge.driver_display import MESSAGES, NO_PLATE, DriverDisplay, driver_message
from kakou.protocols.display import DisplayConfig, DisplayDriver
from kakou.protocols.serial_link import Backoff, SerialSettings
from kakou.sim.display_sim import DisplaySim

LOG = logging.getLogger("test")


def test_every_state_has_a_gb2312_message_and_only_release_says_go() -> None:
    for state in MESSAGES:
        lines = driver_message(state, "粤B12345")
        assert len(lines) == 2
        for text, _color in lines:
            text.encode("gb2312")  # what lane LED controllers render
        go = any("通行" in text and "放行" in text for text, _ in lines)
        assert go == (state in ("released", "clearing")), state
    assert driver_message("released", "粤B12345")[0] == ("粤B12345", "green")
    assert driver_message("held_for_officer", None)[0][0] == NO_PLATE
    assert driver_message("held_for_officer", "ABC😀1")[0][0] == NO_PLATE  # not in GB2312: never garbage
    assert driver_message("some_new_state", "粤B12345") == driver_message("held_for_officer", "粤B12345")


async def test_the_sign_ends_on_the_newest_state_and_a_mute_sign_is_only_logged(tmp_path: Path) -> None:
    async with DisplaySim(link_dir=tmp_path) as sim:
        cfg = DisplayConfig(
            serial=SerialSettings(port=sim.path),
            ack_timeout_s=0.2,
            retries=0,
            backoff=Backoff(initial_s=0.02, max_s=0.1),
        )
        async with DisplayDriver(cfg) as driver:
            sign = DriverDisplay(driver, LOG)
            task = asyncio.create_task(sign.run())
            try:
                for state in ("vehicle_present", "deciding", "to_inspection"):
                    sign.want(driver_message(state, "苏E88888"))  # faster than the sign: only the last counts
                await sim.wait_shown("请驶往查验区")
                assert (sim.text(0), sim.text(1)) == ("苏E88888", "请驶往查验区")
                assert all(m.encoding == "gb2312" for m in sim.history)

                sim.mute = True  # the sign stops answering: the lane goes on, the sign catches up later
                sign.want(driver_message("released", "苏E88888"))
                await asyncio.wait_for(sign.send_wanted(), 2)
                assert sign.shown is None
                sim.mute = False
                sign.want(driver_message("closed", None))
                await sim.wait_shown("请走其他通道")
                assert sim.text(0) == "本通道暂停使用"
            finally:
                task.cancel()
                await asyncio.gather(task, return_exceptions=True)
