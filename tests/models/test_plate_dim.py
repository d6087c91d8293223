"""A plate dimmed by backlight, dusk or under-exposure: located, but the detector sees no text in
its region (it normalises every input alike). The region is read again with its light stretched
(plate._second_looks, imageio.stretched_within) instead of going on to a whole-frame pass."""

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from kakou.models import plate as plate_module
from kakou.models.imageio import light_span, stretched_within
from kakou.models.ocr import OcrEngine, shared_engine
from kakou.models.plate import PlateReader
from kakou.sim.render import render_plate_scene

BLIND_BELOW = 100  # grey levels


class _BlindInTheDim:
    """The shared detector, but blind to text in an image whose content spans under BLIND_BELOW
    grey levels: how the real one behaved on field plate 036 under-exposed (a plate of 40 grey
    levels; the rendered plates are crisp enough that it still reads them dimmed)."""

    def __init__(self, engine: OcrEngine) -> None:
        self._engine = engine
        self.detected: list[tuple[int, int]] = []

    def detect(self, image: np.ndarray, side: int = 640) -> list[np.ndarray]:
        h, w = image.shape[:2]
        low, high = light_span(image, (0, 0, w, h))
        if high - low < BLIND_BELOW:
            return []
        self.detected.append((h, w))
        return self._engine.detect(image, side)

    def detect_region(self, image: np.ndarray, box: tuple[int, int, int, int], side: int) -> list[np.ndarray]:
        x0, y0, x1, y1 = box
        return [b + np.array([x0, y0], dtype=np.float32) for b in self.detect(image[y0:y1, x0:x1], side)]

    def __getattr__(self, name: str):
        return getattr(self._engine, name)


def _dimmed(text: str, kind: str) -> np.ndarray:
    frame = render_plate_scene(text, kind).astype(np.float32)
    x0, y0, x1, y1 = 400, 500, 880, 710  # around the plate: squeezed into ~25 grey levels
    frame[y0:y1, x0:x1] = 20 + 0.1 * frame[y0:y1, x0:x1]
    return frame.astype(np.uint8)


@pytest.mark.parametrize(("text", "kind"), [("粤B12345", "blue"), ("京A8F3K2", "yellow")])
def test_a_dim_plate_is_read_in_its_region_stretched(text: str, kind: str) -> None:
    frame = _dimmed(text, kind)
    engine = _BlindInTheDim(shared_engine())
    r = PlateReader(engine=engine).read(frame)  # type: ignore[arg-type]
    assert (r.text, r.valid) == (text, True)
    assert engine.detected and all(h * w < 0.25 * 1280 * 720 for h, w in engine.detected)  # no whole frame


def test_without_the_stretch_only_a_whole_frame_pass_finds_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plate_module, "DIM_SPAN", 0)
    engine = _BlindInTheDim(shared_engine())
    r = PlateReader(engine=engine).read(_dimmed("粤B12345", "blue"))  # type: ignore[arg-type]
    assert r.text == "粤B12345"
    assert (720, 1280) in engine.detected


@given(
    hnp.arrays(np.uint8, st.tuples(st.integers(2, 24), st.integers(2, 24), st.just(3))),
    st.integers(0, 23),
    st.integers(0, 23),
)
def test_stretching_maps_the_span_to_the_full_range_inside_the_box_only(img: np.ndarray, x: int, y: int) -> None:
    h, w = img.shape[:2]
    box = (min(x, w - 1), min(y, h - 1), w, h)
    low, high = light_span(img, box)
    out = stretched_within(img, box, (low, high))
    x0, y0, x1, y1 = box
    inside, before = out[y0:y1, x0:x1].astype(int), img[y0:y1, x0:x1].astype(int)
    outside = np.ones(img.shape[:2], bool)
    outside[y0:y1, x0:x1] = False
    np.testing.assert_array_equal(out[outside], img[outside])
    assert not np.shares_memory(out, img)  # a copy: the frame itself is read as it is elsewhere
    # One monotone map for every channel: order between pixel values is kept, never inverted.
    order = np.argsort(before.ravel(), kind="stable")
    assert np.all(np.diff(inside.ravel()[order]) >= 0)
    assert inside.min() >= 0 and inside.max() <= 255
    if high - low >= 1:
        assert (before <= low).sum() == 0 or inside[before <= low].max() == 0
        assert (before >= high).sum() == 0 or inside[before >= high].min() == 255


def test_an_empty_box_spans_the_full_range() -> None:
    frame = np.zeros((10, 10, 3), np.uint8)
    assert light_span(frame, (5, 5, 5, 9)) == (0.0, 255.0)
