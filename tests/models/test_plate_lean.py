"""Plates seen from low and to the side: the plate leans, its characters stand slanted along it."""

import pytest

from kakou.models.constrained import PROVINCE_EVIDENCE, decode_plate
from kakou.models.plate import PlateReader
from kakou.sim.render import headlight_glare, render_plate_scene


@pytest.fixture(scope="module")
def plates() -> PlateReader:
    return PlateReader()


@pytest.mark.parametrize(
    ("text", "seed", "lean"),
    [
        # Without straightening: no read (防ED51712 at 0.54), and 新AF12345 reported valid.
        ("苏ED51712", 2, -0.4),
        ("浙AF12345", 3, -0.4),
    ],
)
def test_reads_a_small_leaning_green_plate(plates: PlateReader, text: str, seed: int, lean: float) -> None:
    # A new-energy plate 6 % of a 1920 px street frame wide, its edges rising ~22 degrees.
    frame = render_plate_scene(text, "green", seed=seed, lean=lean, plate_width=0.06, width=1920, height=1080)
    r = plates.read(frame)
    assert (r.text, r.valid) == (text, True)
    assert r.confidence >= plates.threshold


def certain(text: str) -> list[list[tuple[str, float]]]:
    return [[(c, 1.0)] for c in text]


def test_a_guessed_province_is_not_sure_under_the_strict_floor() -> None:
    # A small blurred 浙 read again after straightening: 苏 was the only province among the
    # alternatives, at 0.24. Renormalised alone it was 1.0 and passed as a valid 苏 plate.
    steps = [[("苏", 0.24), ("6", 0.13), ("#", 0.04), ("3", 0.03)], *certain("AF12345")]
    loose = decode_plate(steps)
    assert loose is not None and loose.score > 0.9
    strict = decode_plate(steps, province_evidence=PROVINCE_EVIDENCE)
    assert strict is not None and strict.text == "苏AF12345" and strict.score < 0.5
    # A province the recogniser did read stays sure.
    steps[0] = [("苏", 0.95), ("办", 0.02)]
    sure = decode_plate(steps, province_evidence=PROVINCE_EVIDENCE)
    assert sure is not None and sure.score > 0.9


def test_a_province_named_from_under_another_chinese_character_is_a_guess() -> None:
    # The recogniser saw a Chinese glyph and named it 美 (a rendered 贵): 皖 among its
    # alternatives had been renormalised to a sure province.
    steps = [[("美", 0.55), ("皖", 0.2), ("关", 0.1)], *certain("FTJ3S1")]
    d = decode_plate(steps)
    assert d is not None and d.text == "皖FTJ3S1" and d.score < 0.5
    # A Latin letter there (the Chinese-first recogniser reading a small 粤 as Q) keeps the
    # usual floor: the province among its alternatives still settles the slot.
    steps[0] = [("Q", 0.8), ("粤", 0.12), ("电", 0.05)]
    d = decode_plate(steps)
    assert d is not None and d.text == "粤FTJ3S1" and d.score > 0.9


@pytest.mark.parametrize("plate", [True, False])
def test_a_night_frame_washed_out_by_headlights(plates: PlateReader, plate: bool) -> None:
    # The glare stage runs last, on frames nothing else read, on the frame darkened. A plate
    # washed out to pale grey still reads; a cab without a plate never becomes a guess.
    frame = render_plate_scene("川AM1186", "blue", width=704, height=576, plate_width=0.12)
    if not plate:
        cut = int(frame.shape[0] * 0.6)
        frame[cut:] = frame[cut - 1]
    r = plates.read(headlight_glare(frame))
    assert (r.text, r.valid) == (("川AM1186", True) if plate else (None, False))
