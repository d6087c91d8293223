"""A plate crop (a lane camera's own plate cut-out, a still from a handheld) is read as it is,
without the detector, whatever margin it was cut with: a single-row plate cut loosely is
nearly as square as a double-row plate cut tightly, and between the two it is read both ways."""

import cv2
import numpy as np
import pytest

from kakou.models.ocr import OcrEngine, shared_engine
from kakou.models.plate import PlateReader
from kakou.sim.render_plates import plate_image


def loose_crop(text: str, kind: str, aspect: float, height: int) -> np.ndarray:
    """The bare plate on a grey surround, cut to `aspect` (width : height) and `height` px."""
    plate = np.ascontiguousarray(np.asarray(plate_image(text, kind))[..., ::-1])
    ph, pw = plate.shape[:2]
    w = int(max(pw * 1.05, ph * 1.05 * aspect))
    h = int(w / aspect)
    out = np.full((h, w, 3), (95, 100, 100), np.uint8)
    y, x = (h - ph) // 2, (w - pw) // 2
    out[y : y + ph, x : x + pw] = plate
    return cv2.resize(out, (int(height * aspect), height), interpolation=cv2.INTER_AREA)


class _CountingEngine:
    def __init__(self, engine: OcrEngine) -> None:
        self._engine = engine
        self.detections = 0

    def detect(self, image: np.ndarray, side: int = 640) -> list[np.ndarray]:
        self.detections += 1
        return self._engine.detect(image, side)

    def detect_region(self, image: np.ndarray, box: tuple[int, int, int, int], side: int) -> list[np.ndarray]:
        self.detections += 1
        return self._engine.detect_region(image, box, side)

    def __getattr__(self, name: str):
        return getattr(self._engine, name)


@pytest.mark.parametrize(("text", "aspect"), [("蒙B023H6", 2.4), ("皖AM190J", 2.25), ("苏E5F702", 2.3)])
def test_a_loosely_cut_single_row_plate_is_read_as_a_crop(text: str, aspect: float) -> None:
    engine = _CountingEngine(shared_engine())
    r = PlateReader(engine=engine).read(loose_crop(text, "blue", aspect, 47))  # type: ignore[arg-type]
    assert (r.text, r.valid) == (text, True)
    assert engine.detections == 0  # settled by the crop stage: no detector pass


def test_a_double_row_plate_cut_as_wide_is_still_read_as_two_rows() -> None:
    r = PlateReader().read(loose_crop("粤B12345", "double_yellow", 2.3, 80))
    assert (r.text, r.valid) == ("粤B12345", True)
