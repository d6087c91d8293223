"""A camera that gives frames is not yet one that reads: a window fogged or dirty for most of a
camera's last passes, or a plate camera whose passes mostly read nothing, is a device fault with a
code and a detail the technician reads in Chinese; one bad pass says nothing, and a view that is
well again is a working camera again."""

import numpy as np
import pytest

from kakou.edge.camera_view import ViewWatch
from kakou.models.camera_variation import hazy
from kakou.sim.render import render_container_scene, render_plate_scene

CLEAR = render_plate_scene("粤B12345", "blue", seed=1)
FOGGY = hazy(CLEAR, 0.6)


def _watched(watch: ViewWatch, passes: list[tuple[np.ndarray, bool | None]]) -> list[str | None]:
    return [p.code if (p := watch.seen(frame, read)) is not None else None for frame, read in passes]


def test_a_fogged_window_is_reported_once_most_of_the_window_saw_it_and_cleared_when_cleaned() -> None:
    watch = ViewWatch(5)
    # Read every time (the reader lifts the veil), but the window needs cleaning.
    codes = _watched(watch, [(FOGGY, True)] * 5)
    assert codes == [None, None, None, None, "view_veiled"]
    problem = watch.seen(FOGGY, True)
    assert problem is not None and "最近5次过车中5次画面发白" in problem.detail and "清洁镜头" in problem.detail
    # Cleaned: once fewer than 60 % of the last passes were veiled, the camera works again.
    assert _watched(watch, [(CLEAR, True)] * 3) == ["view_veiled", "view_veiled", None]


def test_a_plate_camera_that_mostly_reads_nothing_is_reported_and_a_few_misses_are_not() -> None:
    watch = ViewWatch(10)
    # A truck without a plate now and then: no fault.
    assert set(_watched(watch, [(CLEAR, True), (CLEAR, False)] * 5)) == {None}
    # Out of focus or its lamp out: from the third pass that reads nothing, seven of the last ten.
    assert _watched(watch, [(CLEAR, False)] * 4) == [None, None, "view_unread", "view_unread"]
    problem = watch.seen(CLEAR, False)
    assert problem is not None and "未能识别车牌" in problem.detail


@pytest.mark.parametrize("frame", [render_container_scene("TGHU8832010", seed=31), FOGGY])
def test_a_container_camera_is_never_faulted_for_trucks_without_a_box(frame: np.ndarray) -> None:
    """Many trucks carry no container: a container camera is judged on its view alone."""
    watch = ViewWatch(3)
    codes = _watched(watch, [(frame, None)] * 4)
    assert codes == [None, None] + ([None, None] if frame is not FOGGY else ["view_veiled", "view_veiled"])
