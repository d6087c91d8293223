"""Whether a lane camera still sees well enough to read: the technician's early warning.

A camera that gives frames is not yet a camera that works. Its window fogs, gathers dust and
salt, a spider spins across it, it is knocked out of focus or a lamp fails: the readers still
try (a veiled frame is read once more stretched back, imageio.unveiled), but fewer trucks read
and the officers key plate after plate at 3 a.m. while the device screen says 正常. So each
camera's last `passes` passes are watched, and the camera is reported as a device fault (which
central's device health shows, and alerts on when it lasts) with a code and a Chinese detail:

* `view_veiled` — most passes' frames are veiled (imageio.veil: nothing dark left in the frame,
  the lightness squeezed into a narrow span): fog, a dirty window, or glare flooding the lens;
* `view_unread` — most passes read no plate, whatever the cause: out of focus, the lamp out,
  the camera turned away (not asked of a container camera: many trucks carry no container).

One bad pass says nothing (a truck without a plate, a burst of glare): only a share of a full
window counts, and a window that is well again reports the camera as working. Dev frames: none
is veiled as it is (their darkest 1 %: 64 grey levels at most); the reads of a working camera
fail in a few passes of a hundred (field dev set: 1 of 87 plates, 0 of 37 codes).
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass

import numpy as np

from kakou.models.imageio import veil

VEILED_SHARE = 0.6  # of the window's passes whose first frame is veiled
UNREAD_SHARE = 0.7  # of the window's passes that read nothing


@dataclass(frozen=True)
class ViewProblem:
    code: str  # view_veiled / view_unread (a DeviceState code)
    detail: str  # for the technician, in Chinese (central keeps it with the state)


class ViewWatch:
    """One per lane camera that reads (plate, container): its last `passes` passes."""

    def __init__(self, passes: int) -> None:
        self._window: deque[tuple[bool, bool | None]] = deque(maxlen=passes)

    def seen(self, frame: np.ndarray, read: bool | None) -> ViewProblem | None:
        """Record a pass (its first frame, whether the pass read anything: None where a read is
        not expected of every truck, as of a container camera — a tractor without a box) and
        say what is wrong with the camera's view over its last passes, if anything is."""
        self._window.append((veil(frame) is not None, read))
        n = len(self._window)
        if n < (self._window.maxlen or 0):
            return None
        veiled = sum(v for v, _ in self._window)
        unread = sum(r is False for _, r in self._window)
        if veiled >= VEILED_SHARE * n:
            return ViewProblem(
                "view_veiled", f"最近{n}次过车中{veiled}次画面发白（镜头起雾、脏污或强光眩光），请清洁镜头或调整曝光"
            )
        if unread >= UNREAD_SHARE * n:
            return ViewProblem(
                "view_unread",
                f"最近{n}次过车中{unread}次未能识别车牌，请检查镜头对焦、补光灯与安装角度",
            )
        return None
