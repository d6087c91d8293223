"""What the lane's LED sign tells the driver: one instruction per lane state, in Chinese (GB2312),
with the plate once it is read, sent through the serial display protocol (protocols/display.py).

The sign is an aid, never a lane fault: a display that does not answer is logged and retried with
the next state; the lane's decisions and barrier never wait for it. Only the latest wanted message
is sent (a state that passed while the sign was busy is skipped, the sign ends on the newest).
"""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from kakou.protocols.display import Color, DisplayError

Lines = tuple[tuple[str, Color], ...]

# The two lines for each lane state (by LaneState value); "{plate}" is the plate once read.
MESSAGES: dict[str, Lines] = {
    "idle": (("海关卡口", "green"), ("请减速 依次驶入", "green")),  # approach
    "vehicle_present": (("车辆识别中", "yellow"), ("请停车 稍候", "yellow")),  # reading
    "collecting": (("车辆识别中", "yellow"), ("请停车 稍候", "yellow")),
    "deciding": (("{plate}", "yellow"), ("正在核验 请稍候", "yellow")),
    "released": (("{plate}", "green"), ("放行 请通行", "green")),  # go
    "clearing": (("{plate}", "green"), ("放行 请通行", "green")),
    "held_for_officer": (("{plate}", "red"), ("请停车 等候关员处理", "red")),  # stop: see the officer
    "to_inspection": (("{plate}", "yellow"), ("请驶往查验区", "yellow")),  # go to the inspection area
    "fault": (("通道故障", "red"), ("请停车 等候关员", "red")),
    "closed": (("本通道暂停使用", "red"), ("请走其他通道", "red")),  # the lane is offline
}
NO_PLATE = "车辆"  # when the plate was not read (or cannot be shown in GB2312)


def driver_message(state: str, plate: str | None) -> Lines:
    """The sign's lines for a lane state; unknown states show the stop message (never "go")."""
    lines = MESSAGES.get(state, MESSAGES["held_for_officer"])
    shown = plate if plate and _gb2312(plate) else NO_PLATE
    return tuple((text.replace("{plate}", shown), color) for text, color in lines)


def _gb2312(text: str) -> bool:
    try:
        text.encode("gb2312")
    except UnicodeEncodeError:
        return False
    return True


class DriverDisplay:
    """Keeps the sign on the newest wanted message; `run()` is the lane's sender task."""

    def __init__(self, driver: Any, log: logging.Logger | logging.LoggerAdapter) -> None:
        self.driver = driver  # kakou.protocols.display.DisplayDriver (or anything with show/clear)
        self.log = log
        self.wanted: Lines | None = None
        self.shown: Lines | None = None
        self._wake = asyncio.Event()
        self.sent = asyncio.Condition()  # notified after each message is on the sign (tests wait on it)

    def want(self, lines: Lines) -> None:
        self.wanted = lines
        self._wake.set()

    async def run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            await self.send_wanted()

    async def send_wanted(self) -> None:
        lines = self.wanted
        if lines is None or lines == self.shown:
            return
        try:
            for i, (text, color) in enumerate(lines):
                await self.driver.show(text, line=i, color=color)
        except (DisplayError, ValueError, OSError) as exc:
            self.shown = None  # unknown: send in full next time
            self.log.warning("LED display: %s", exc)
            return
        self.shown = lines
        async with self.sent:
            self.sent.notify_all()
