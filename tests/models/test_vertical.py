"""The lean of a vertical code's column (vertical.column_tilt) and turning it upright."""

import cv2
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from kakou.models.vertical import MAX_TILT, column_tilt, upright


def _box(cx: float, cy: float, w: float, h: float, tilt: float) -> np.ndarray:
    """A detector box w x h around (cx, cy), its top leaning `tilt` degrees to the left."""
    return cv2.boxPoints(((cx, cy), (w, h), -tilt)).astype(np.float32)


@given(st.floats(-MAX_TILT + 0.5, MAX_TILT - 0.5), st.floats(20, 60), st.floats(4, 12))
def test_the_lean_of_a_column_is_measured_and_turned_away(tilt: float, width: float, rows: float) -> None:
    frame = np.zeros((720, 1280, 3), np.uint8)
    box = _box(640, 360, width, width * rows, tilt)
    assert column_tilt([box]) == pytest.approx(tilt, abs=0.05)
    _, (turned,) = upright(frame, [box], column_tilt([box]))
    assert column_tilt([turned]) == pytest.approx(0.0, abs=0.05)


def test_lines_and_diagonals_are_not_columns() -> None:
    line = _box(640, 360, 400, 40, 0.0)  # a horizontal line of text
    diagonal = _box(640, 360, 30, 300, 35.0)  # a stripe, a strap
    assert column_tilt([line, diagonal]) == 0.0
    column = _box(300, 360, 30, 300, 5.0)
    assert column_tilt([line, diagonal, column]) == pytest.approx(5.0, abs=0.05)
