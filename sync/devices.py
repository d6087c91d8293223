"""Device states a lane reports (edge → central on `up/{node}/devices`), and their labels.

A lane sends a `DeviceState` when one of its devices changes state (and every state again after
it reconnects, so central's view heals after a lost message). Central keeps them as events and
derives the health per device kind, lane and site (kakou.central.device_health).
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from kakou.sync import limits
from kakou.sync.messages import PROTOCOL_VERSION, LaneId, NodeId, Strict

# The kinds a lane has (the same names as central's device registrations, kakou.central.registry).
DeviceKind = Literal[
    "plate_camera",
    "container_camera",
    "face_camera",
    "weighbridge",
    "rfid",
    "ic_card",
    "barrier",
    "io_module",
    "display",
    "loop",
    "light",
    "e_seal",
]
DeviceCondition = Literal["ok", "fault", "offline"]
DOWN: frozenset[str] = frozenset({"fault", "offline"})  # a device in either state is not working

DeviceId = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.:/-]+$")]
MAX_STATES = 64  # one report: every device of a node's lanes, with room


class DeviceState(Strict):
    """One device's state from `at` on."""

    lane: LaneId
    device: DeviceId  # the lane's own name for it, e.g. "plate_camera" or "weighbridge-1"
    kind: DeviceKind
    state: DeviceCondition
    at: datetime
    code: str = Field("", max_length=64, pattern=r"^[a-z0-9_]*$")  # the fault, as a code (e.g. "no_frame")
    detail: str = Field("", max_length=limits.REASON)  # what the driver said, for the technician


class DeviceReport(Strict):
    v: Literal[1] = PROTOCOL_VERSION
    node: NodeId
    states: list[DeviceState] = Field(min_length=1, max_length=MAX_STATES)


# 中文 first: the console shows these.
KIND_LABELS: dict[str, tuple[str, str]] = {
    "plate_camera": ("车牌相机", "Plate camera"),
    "container_camera": ("箱号相机", "Container camera"),
    "face_camera": ("人脸相机", "Face camera"),
    "weighbridge": ("地磅", "Weighbridge"),
    "rfid": ("电子车牌读写器", "RFID reader"),
    "ic_card": ("IC卡读卡器", "Card reader"),
    "barrier": ("道闸", "Barrier"),
    "io_module": ("I/O控制器", "I/O module"),
    "display": ("LED显示屏", "Display"),
    "loop": ("地感线圈", "Loop detector"),
    "light": ("信号灯", "Traffic light"),
    "e_seal": ("电子关锁读写器", "E-seal reader"),
}
STATE_LABELS: dict[str, tuple[str, str]] = {
    "ok": ("正常", "OK"),
    "fault": ("故障", "Fault"),
    "offline": ("离线", "Offline"),
    "unknown": ("未知", "Unknown"),
}
