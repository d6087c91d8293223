"""A plate is acted on only as a reading of one line verified character by character.

The detector sometimes splits a plate's line (at the dot, around a faint character) and the
reader joins the parts; the joined reading must be verified on the pixels like a whole line,
and a reading the pixels contradict must not pass. These tests split the detector's boxes of
a rendered plate in two and, for the second test, make the plain reading of one part wrong.
A small frame that gave no plate is read once more enlarged."""

import cv2
import numpy as np
import pytest

from kakou.models import plate as plate_module
from kakou.models.ocr import OcrEngine, TextLine, shared_engine
from kakou.models.plate import ZOOM_SIDE, PlateReader
from kakou.sim.render import render_plate_scene

TEXT = "粤B12345"
SPLIT = 0.3  # share of the line's length where the box is cut (between the letter and the serial)


def _split(box: np.ndarray) -> list[np.ndarray]:
    tl, tr, br, bl = box.astype(np.float32)
    w = float(np.linalg.norm(tr - tl))
    h = float(np.linalg.norm(bl - tl))
    if w < 2.5 * h:  # not a plate-length line
        return [box]
    a, b = SPLIT - 0.01, SPLIT + 0.01
    left = np.array([tl, tl + (tr - tl) * a, bl + (br - bl) * a, bl], np.float32)
    right = np.array([tl + (tr - tl) * b, tr, br, bl + (br - bl) * b], np.float32)
    return [left, right]


class _SplittingEngine:
    """The shared engine, with every plate-length detector box cut in two; `misread` replaces
    a part's plain reading (the recogniser's per-character alternatives stay the pixels')."""

    def __init__(self, engine: OcrEngine, misread: dict[str, str] | None = None) -> None:
        self._engine = engine
        self.misread = misread or {}
        self.parts: list[str] = []

    def detect(self, image: np.ndarray, side: int = 640) -> list[np.ndarray]:
        return [p for b in self._engine.detect(image, side) for p in _split(b)]

    def detect_region(self, image: np.ndarray, box: tuple[int, int, int, int], side: int) -> list[np.ndarray]:
        return [p for b in self._engine.detect_region(image, box, side) for p in _split(b)]

    def recognise_boxes(self, image: np.ndarray, boxes: list[np.ndarray], stretch: float = 1.0) -> list[TextLine]:
        lines = self._engine.recognise_boxes(image, boxes, stretch)
        self.parts += [ln.text for ln in lines]
        return [TextLine(ln.box, self.misread.get(ln.text, ln.text), ln.score) for ln in lines]

    def __getattr__(self, name: str):
        return getattr(self._engine, name)


@pytest.fixture(scope="module")
def frame() -> np.ndarray:
    return render_plate_scene(TEXT, "blue", seed=41)


def test_a_plate_split_by_the_detector_is_verified_as_one_line(frame: np.ndarray) -> None:
    spy = _SplittingEngine(shared_engine())
    r = PlateReader(engine=spy).read(frame)  # type: ignore[arg-type]
    assert "12345" in spy.parts and TEXT not in spy.parts  # the reader only ever saw the halves
    assert (r.text, r.valid) == (TEXT, True)
    assert r.margin is not None  # decoded under the grammar from the joined line's pixels


def test_a_joined_reading_the_pixels_contradict_is_not_passed(frame: np.ndarray) -> None:
    """The serial's plain reading says 12845; the line's pixels, cut tight, read 12345 as
    their own top reading: the pixels' plate is the one reported."""
    spy = _SplittingEngine(shared_engine(), misread={"12345": "12845"})
    r = PlateReader(engine=spy).read(frame)  # type: ignore[arg-type]
    assert "12345" in spy.parts
    assert (r.text, r.valid) == (TEXT, True)


class _SizeSpy:
    """The shared engine, recording the width of every frame the detector runs on."""

    def __init__(self, engine: OcrEngine) -> None:
        self._engine = engine
        self.widths: list[int] = []

    def detect(self, image: np.ndarray, side: int = 640) -> list[np.ndarray]:
        self.widths.append(image.shape[1])
        return self._engine.detect(image, side)

    def detect_region(self, image: np.ndarray, box: tuple[int, int, int, int], side: int) -> list[np.ndarray]:
        self.widths.append(image.shape[1])
        return self._engine.detect_region(image, box, side)

    def __getattr__(self, name: str):
        return getattr(self._engine, name)


def test_a_small_frame_that_gave_no_plate_is_read_again_enlarged(monkeypatch: pytest.MonkeyPatch) -> None:
    """A far camera's 480 px frame with a 38 px plate: the detector, which never enlarges,
    finds its characters in pieces. Its located region, looked at again enlarged, reads it;
    without that second look, the whole frame enlarged to ZOOM_SIDE does."""
    frame = cv2.resize(
        render_plate_scene(TEXT, "blue", seed=8, plate_width=0.08), (480, 270), interpolation=cv2.INTER_AREA
    )
    spy = _SizeSpy(shared_engine())
    r = PlateReader(engine=spy).read(frame)  # type: ignore[arg-type]
    assert (r.text, r.valid) == (TEXT, True)
    assert max(spy.widths) < ZOOM_SIDE  # the region enlarged settled it: no whole-frame zoom
    monkeypatch.setattr(plate_module, "SMALL_REGION", 0)
    spy = _SizeSpy(shared_engine())
    r = PlateReader(engine=spy).read(frame)  # type: ignore[arg-type]
    assert (r.text, r.valid) == (TEXT, True)
    assert max(spy.widths) == ZOOM_SIDE  # read on the enlarged frame
    assert 480 in spy.widths[: spy.widths.index(ZOOM_SIDE)]  # after the frame as it came


def test_a_frame_read_as_it_came_is_not_enlarged() -> None:
    frame = cv2.resize(render_plate_scene(TEXT, "blue", seed=8), (480, 270), interpolation=cv2.INTER_AREA)
    spy = _SizeSpy(shared_engine())
    assert PlateReader(engine=spy).read(frame).text == TEXT  # type: ignore[arg-type]
    assert max(spy.widths, default=0) < ZOOM_SIDE


def test_a_noisy_line_is_read_again_smoothed() -> None:
    """Sensor noise (sigma 14) over a 96 px plate: read as it is, the line stays unsure; smoothed
    within strokes and ground (edges kept), it reads."""
    frame = cv2.resize(
        render_plate_scene("桂H848T8", "blue", seed=39, plate_width=0.15), (640, 360), interpolation=cv2.INTER_AREA
    )
    noise = np.random.default_rng(39).normal(0.0, 14.0, frame.shape)
    noisy = np.clip(frame.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    r = PlateReader().read(noisy)
    assert (r.text, r.valid) == ("桂H848T8", True)
