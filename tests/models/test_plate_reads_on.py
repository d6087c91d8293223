"""A valid 7-character plate whose line reads on past its end when grown: a new-energy plate
(8 characters) whose last character the detector's box left out is not reported valid."""

import cv2
import numpy as np
import pytest

from kakou.models.ocr import TextLine
from kakou.models.plate import PlateRead, PlateReader
from kakou.sim.render_plates import plate_crop


def _scene(plate: np.ndarray, boxed: float) -> tuple[np.ndarray, TextLine]:
    """The plate on a grey ground and a line box over the first `boxed` of its width."""
    frame = np.full((200, 420, 3), 110, np.uint8)
    frame[60:130, 90:330] = plate
    x1 = 90 + 240 * boxed
    return frame, TextLine(((96.0, 68.0), (x1, 68.0), (x1, 122.0), (96.0, 122.0)), "", 0.9)


def _valid(text: str) -> PlateRead:
    return PlateRead(text=text, confidence=0.95, valid=True, raw=text, kind="standard")


@pytest.fixture(scope="module")
def reader() -> PlateReader:
    return PlateReader()


def test_a_green_plate_read_one_character_short_reads_on(reader: PlateReader) -> None:
    frame, line = _scene(plate_crop("粤BD01366", "green", (240, 70)), 0.87)
    assert reader._reads_on(frame, line, _valid("粤BD0136"))


@pytest.mark.parametrize("kind", ["blue", "yellow"])
def test_a_plate_painted_blue_or_yellow_is_seven_characters_as_read(reader: PlateReader, kind: str) -> None:
    # Cut short too, but its paint says seven characters: no second recognition is spent on it.
    frame, line = _scene(plate_crop("粤B12345", kind, (240, 70)), 0.85)
    assert not reader._reads_on(frame, line, _valid("粤B1234"))


def test_a_whole_plate_of_unknown_paint_does_not_read_on(reader: PlateReader) -> None:
    grey = cv2.cvtColor(cv2.cvtColor(plate_crop("粤B12345", "blue", (240, 70)), cv2.COLOR_BGR2GRAY), cv2.COLOR_GRAY2BGR)
    frame, line = _scene(grey, 1.0)
    assert not reader._reads_on(frame, line, _valid("粤B12345"))
