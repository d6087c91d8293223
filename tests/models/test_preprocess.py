"""Faster preprocessing that must give the very numbers it replaced (ocr.py, imageio.py)."""

import numpy as np
import pytest
from rapidocr_onnxruntime.ch_ppocr_det.utils import DetPreProcess

from kakou.models.imageio import is_blank
from kakou.models.ocr import OcrEngine, shared_engine
from kakou.sim.render import render_container_scene, render_plate_scene


@pytest.fixture(scope="module")
def engine() -> OcrEngine:
    return shared_engine()


def test_detector_input_is_bit_identical_to_rapidocrs(engine: OcrEngine) -> None:
    frame = render_plate_scene("粤B12345", "blue", seed=4)
    ours = engine._ocr.text_det.get_preprocess(max(frame.shape[:2]))
    theirs = DetPreProcess(ours.limit_side_len, ours.limit_type, [0.5, 0.5, 0.5], [0.5, 0.5, 0.5])
    want, got = theirs(frame), ours(frame)
    assert got.dtype == want.dtype == np.float32
    np.testing.assert_array_equal(got, want)


def test_recognised_alternatives_are_the_most_likely_in_order(engine: OcrEngine) -> None:
    frame = render_container_scene("CSQU3054383", seed=None)
    line = next(ln for ln in engine.lines(frame) if "CSQU" in ln.text.replace(" ", ""))
    crop = frame[int(line.y0) : int(line.y1), int(line.x0) : int(line.x1)]
    steps = engine.recognise_chars(crop, top=5)
    assert steps and all(len(step) >= 4 for step in steps)
    for step in steps:
        probs = [p for _, p in step]
        assert probs == sorted(probs, reverse=True)
    assert "CSQU" in "".join(step[0][0] for step in steps).replace(" ", "")


@pytest.mark.parametrize("noise", [0.0, 1.0, 1.9, 2.5, 40.0])
def test_is_blank_is_the_frames_standard_deviation_below_2(noise: float) -> None:
    rng = np.random.default_rng(int(noise * 10))
    frame = np.clip(np.full((360, 640, 3), 120.0) + rng.normal(0, noise, (360, 640, 3)), 0, 255).astype(np.uint8)
    assert is_blank(frame) == (float(frame.std()) < 2.0)


def test_a_rendered_scene_is_not_blank_and_a_lens_cap_is() -> None:
    assert not is_blank(render_plate_scene("粤B12345", "blue", seed=5))
    assert is_blank(np.zeros((720, 1280, 3), np.uint8))
