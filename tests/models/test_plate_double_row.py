"""A double-row plate (yellow trucks, trailers) read as both rows when the detector's box of the
five-character row also takes in the province + letter row above it, as it does on real plates
whose rows are close (field 039 and 079): the upper row is then inside the box's top, not above."""

import cv2
import numpy as np
import pytest

from kakou.models.ocr import OcrEngine, TextLine, shared_engine
from kakou.models.plate import PlateRead, PlateReader, _as_one_line
from kakou.sim.render import render_plate_scene
from kakou.sim.render_plates import plate_crop


def _union(boxes: list[np.ndarray]) -> list[np.ndarray]:
    """A short box right above a longer one (the upper row over the lower) taken into it."""
    out = list(boxes)
    for low in boxes:
        for up in boxes:
            lx0, lx1, ly0 = low[:, 0].min(), low[:, 0].max(), low[:, 1].min()
            ux0, ux1, uy1 = up[:, 0].min(), up[:, 0].max(), up[:, 1].max()
            above = uy1 <= ly0 + 0.3 * (low[:, 1].max() - ly0) and ly0 - uy1 < low[:, 1].max() - ly0
            if up is not low and above and lx0 <= ux0 and ux1 <= lx1 and (ux1 - ux0) < (lx1 - lx0):
                y0 = float(up[:, 1].min())
                merged = low.copy()
                merged[0, 1] = merged[1, 1] = y0
                out = [merged if b is low else b for b in out if b is not up]
    return out


class _WrappedEngine:
    """The shared engine, with what a subclass changes."""

    def __init__(self, engine: OcrEngine) -> None:
        self._engine = engine

    def __getattr__(self, name: str):
        return getattr(self._engine, name)


class _BothRowsEngine(_WrappedEngine):
    """The shared engine, with the box of a double-row plate's lower row grown over its upper row."""

    def detect(self, image: np.ndarray, side: int = 640) -> list[np.ndarray]:
        return _union(self._engine.detect(image, side))

    def detect_region(self, image: np.ndarray, box: tuple[int, int, int, int], side: int) -> list[np.ndarray]:
        return _union(self._engine.detect_region(image, box, side))

    def recognise_boxes(self, image: np.ndarray, boxes: list[np.ndarray], stretch: float = 1.0) -> list[TextLine]:
        lines = self._engine.recognise_boxes(image, boxes, stretch)
        # What the recogniser makes of a box holding both rows is the bigger row, as on the field frames.
        return [TextLine(ln.box, ln.text[-5:] if len(ln.text) > 5 else ln.text, ln.score) for ln in lines]


@pytest.mark.parametrize(("text", "seed"), [("京AP7901", 3), ("粤B12345", 7)])
def test_the_upper_row_inside_the_lower_rows_box_is_read(text: str, seed: int) -> None:
    frame = render_plate_scene(text, "double_yellow", seed=seed)
    r = PlateReader(engine=_BothRowsEngine(shared_engine())).read(frame)  # type: ignore[arg-type]
    assert (r.text, r.valid) == (text, True)


@pytest.mark.parametrize("text", ["粤AB2893", "川M62845"])
def test_the_upper_rows_bolts_are_not_read_as_characters(text: str) -> None:
    """The two bolts beside a double-row plate's upper row come back as dots or quotes around
    it ("·粤A·"): the row is still the province and the letter (field 039, farther: it was not)."""
    plate = plate_crop(text, "double_yellow", (440, 220))
    for x in (48, 392):  # the bolts, as real plates have them (grey heads, dark rims)
        cv2.circle(plate, (x, 45), 5, (150, 150, 150), -1)
        cv2.circle(plate, (x, 45), 5, (90, 90, 90), 1)
    strip = cv2.resize(plate, (110, 55), interpolation=cv2.INTER_AREA)[:22]
    reader = PlateReader()
    chars = reader.engine.recognise_chars(strip)
    assert len(chars) > 2  # the bolts were read as something
    top = reader._upper_pair(strip)
    assert top is not None and top[0] == text[:2] and top[1] > 0.9


@pytest.mark.parametrize(("text", "seed"), [("京AP7901", 3), ("粤B12345", 7)])
def test_the_two_rows_read_as_one_line_without_reading_the_upper_row_alone(text: str, seed: int) -> None:
    """The upper row set before the lower row and verified as one line settles the plate by
    itself: reading the small row alone (which lost its province on real plates) is not needed.
    The detector's box takes in both rows, as on real plates, so no stage finds the upper row as
    a line of its own."""
    frame = render_plate_scene(text, "double_yellow", seed=seed)
    reader = PlateReader(engine=_BothRowsEngine(shared_engine()))  # type: ignore[arg-type]
    reader._upper_pair = lambda strip: None  # type: ignore[method-assign]
    r = reader.read(frame)
    assert (r.text, r.valid) == (text, True)


def test_two_cuts_of_the_upper_row_naming_different_plates_go_to_the_officer() -> None:
    frame = render_plate_scene("粤B12345", "double_yellow", seed=7)
    reader = PlateReader()
    lines = [ln for ln in reader.engine.lines(frame) if len(ln.text) == 5]
    assert lines, "the lower row is found as a line of its own"
    plates = iter(["粤B12345", "鄂B12345", "粤B12345", "鄂B12345"])

    def verified(crop: np.ndarray, wide: np.ndarray | None = None, again: bool = True) -> PlateRead:
        return PlateRead(text=next(plates), confidence=0.99, valid=True, raw="", kind="standard")

    reader._verified = verified  # type: ignore[method-assign]
    cands = reader._upper_rows(frame, lines[:1])
    assert {t for t, _ in cands} == {"粤B12345", "鄂B12345"}
    assert all(c <= 0.5 for _, c in cands)
    assert not reader._best(cands).valid


def test_the_rows_set_side_by_side_keep_the_lower_rows_height() -> None:
    upper = np.zeros((10, 40, 3), np.uint8)
    lower = np.full((30, 90, 3), 200, np.uint8)
    line = _as_one_line(upper, lower)
    assert line.shape[0] == 30
    assert line.shape[1] == 120 + round(0.15 * 30) + 90  # the upper row scaled 3x, a gap, the lower
    assert (line[:, 120:124] == 200).all()  # the gap is in the plate's paint


@pytest.mark.parametrize("text", ["晋A961Q8", "浙A0D9Q7"])
def test_a_double_row_crop_is_verified_as_one_line_not_passed_as_its_plain_reading(text: str) -> None:
    """With its bolts drawn, the lower row's Q of a double-row crop read alone is a sure 0
    (晋A96108 at 0.9, valid); the rows read as one line name the Q. Two readings that disagree
    are the officer's: never the plain one reported valid."""
    plate = plate_crop(text, "double_yellow", (440, 220))
    for x in (48, 392):
        cv2.circle(plate, (x, 45), 5, (150, 150, 150), -1)
    r = PlateReader().read(plate)
    assert r.text in (text, None)
    assert text[2:] in (r.raw or "")


class _MisreadUpperEngine(_WrappedEngine):
    """The shared engine, whose plain reading of a double-row plate's upper row (found as a line
    of its own, or as its letter alone) is 鄂 and the letter, surely: field 039's row once came
    back as 鄂A at 0.58."""

    def recognise_boxes(self, image: np.ndarray, boxes: list[np.ndarray], stretch: float = 1.0) -> list[TextLine]:
        lines = self._engine.recognise_boxes(image, boxes, stretch)
        return [TextLine(ln.box, *self._misread(ln)) for ln in lines]

    @staticmethod
    def _misread(ln: TextLine) -> tuple[str, float]:
        if len(ln.text) > 2:  # the lower row, or other text
            return ln.text, ln.score
        letters = [c for c in ln.text if c.isascii() and c.isalpha()]
        return ("鄂" + letters[-1], 0.97) if letters else ("", 0.0)


def test_a_plate_assembled_from_both_rows_is_checked_against_the_rows_read_as_one_line() -> None:
    frame = render_plate_scene("粤B12345", "double_yellow", seed=7)
    reader = PlateReader(engine=_MisreadUpperEngine(shared_engine()))  # type: ignore[arg-type]
    lines = reader._recognised(frame, reader.engine.detect(frame, 960))
    assert {"鄂B", "12345"} <= {ln.text for ln in lines}
    r = reader._from_lines(frame, lines)
    assert (r.valid, r.raw) == (False, "鄂B12345")  # the two rows as one line read 粤: the officer decides
