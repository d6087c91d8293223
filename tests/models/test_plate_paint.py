"""A read must agree with the paint behind its line: blue or yellow paint is not a green
new-energy plate (8 characters), green paint is not a 7-character plate (issue 14)."""

import numpy as np
import pytest

from kakou.models.plate import PlateRead, PlateReader, line_paint, paint_checked
from kakou.sim.render import headlight_glare, render_plate_scene
from kakou.sim.render_plates import plate_image


@pytest.fixture(scope="module")
def plates() -> PlateReader:
    return PlateReader()


def test_a_washed_out_blue_plate_is_not_passed_as_a_new_energy_plate(plates: PlateReader) -> None:
    # Before the paint check this frame was read 川AAM1186 (an 8-character green new-energy
    # plate) and reported valid at 0.97. Its paint is blue once darkened: no valid 8-character read.
    frame = render_plate_scene("川AM1186", "blue", width=704, height=576, plate_width=0.12)
    r = plates.read(headlight_glare(frame, 10.0))
    assert not (r.valid and r.text is not None and len(r.text) == 8)
    assert not r.valid or r.text == "川AM1186"


@pytest.mark.parametrize(
    ("text", "kind", "seed"),
    [("川AM1186", "blue", 3), ("粤B12345", "yellow", 7), ("浙AF12345", "green", 3), ("京A12345", "double_yellow", 7)],
)
def test_rendered_plates_of_every_colour_still_read(plates: PlateReader, text: str, kind: str, seed: int) -> None:
    r = plates.read(render_plate_scene(text, kind, seed=seed))
    assert (r.text, r.valid) == (text, True)


def _plate(text: str, kind: str) -> np.ndarray:
    rgb = np.asarray(plate_image(text, kind).convert("RGB"))
    return np.ascontiguousarray(rgb[..., ::-1])


def test_the_paint_of_each_plate_kind() -> None:
    assert line_paint(_plate("川AM1186", "blue")) == "blue"
    assert line_paint(_plate("粤B12345", "yellow")) == "yellow"
    assert line_paint(_plate("浙AF12345", "green")) == "green"
    # White or grey paint decides nothing.
    assert line_paint(_plate("AB1234", "latin")) is None
    assert line_paint(np.full((40, 160, 3), 128, np.uint8)) is None


def _valid(text: str, kind: str) -> PlateRead:
    return PlateRead(text=text, confidence=0.97, valid=True, raw=text, kind=kind)


@pytest.mark.parametrize(
    ("text", "kind", "paint", "kept"),
    [
        ("川AAM1186", "new_energy", "blue", False),
        ("粤BD12345", "new_energy", "yellow", False),
        ("浙AF1234", "standard", "green", False),
        ("川AM1186", "standard", "blue", True),
        ("粤B12345", "standard", "yellow", True),
        ("浙AF12345", "new_energy", "green", True),
    ],
)
def test_a_read_whose_kind_the_paint_contradicts_is_left_to_the_officer(
    text: str, kind: str, paint: str, kept: bool
) -> None:
    crop = _plate({"blue": "川AM1186", "yellow": "粤B12345", "green": "浙AF12345"}[paint], paint)
    r = paint_checked(_valid(text, kind), crop)
    if kept:
        assert (r.text, r.valid, r.confidence) == (text, True, 0.97)
    else:
        assert (r.text, r.valid) == (None, False) and r.confidence < PlateReader().threshold
        assert r.raw == text  # what OCR saw stays for the officer


def test_unknown_paint_decides_nothing() -> None:
    grey = np.full((40, 160, 3), 200, np.uint8)
    r = paint_checked(_valid("川AAM1186", "new_energy"), grey)
    assert (r.text, r.valid) == ("川AAM1186", True)


@pytest.mark.parametrize(
    ("text", "kind"),
    [("川AM1186", "blue"), ("粤B12345", "yellow"), ("浙AF12345", "green"), ("京A12345", "double_yellow")],
)
def test_plate_crops_of_every_colour_still_read(plates: PlateReader, text: str, kind: str) -> None:
    # A crop is checked against its own paint.
    r = plates.read(_plate(text, kind))
    assert (r.text, r.valid) == (text, True)
