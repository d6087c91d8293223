"""A small plate in a large frame (a far camera): at 8-10 px the detector, which never enlarges,
boxes the plate without its faint province character; the region is looked at again enlarged
(plate._second_looks) instead of going on to a whole-frame pass."""

import cv2
import numpy as np
import pytest

from kakou.models import plate as plate_module
from kakou.models.ocr import OcrEngine, shared_engine
from kakou.models.plate import SMALL_REGION, PlateReader
from kakou.sim.render import render_plate_scene


class _ShortSighted:
    """The shared detector, but on an image under SMALL_REGION px it boxes only the right part
    of every line (the left three sevenths lost): how the real one boxed field plate 020 halved,
    '26M7' without its 浙A and the last 1. The rendered plates are crisp enough that it does not."""

    def __init__(self, engine: OcrEngine) -> None:
        self._engine = engine
        self.detected: list[tuple[int, int]] = []

    def detect(self, image: np.ndarray, side: int = 640) -> list[np.ndarray]:
        self.detected.append(image.shape[:2])
        boxes = self._engine.detect(image, side)
        if max(image.shape[:2]) >= SMALL_REGION:
            return boxes
        out = []
        for b in boxes:
            cut = b.copy()
            width = b[:, 0].max() - b[:, 0].min()
            cut[[0, 3], 0] += 3 * width / 7  # the left corners (top-left, bottom-left) move right
            out.append(cut)
        return out

    def detect_region(self, image: np.ndarray, box: tuple[int, int, int, int], side: int) -> list[np.ndarray]:
        x0, y0, x1, y1 = box
        return [b + np.array([x0, y0], dtype=np.float32) for b in self.detect(image[y0:y1, x0:x1], side)]

    def __getattr__(self, name: str):
        return getattr(self._engine, name)


def _far(scene: np.ndarray) -> np.ndarray:
    """The scene at a quarter of its size in a 1280 px frame of road grey: the vehicle far away."""
    frame = np.full_like(scene, 96)
    small = cv2.resize(scene, None, fx=0.25, fy=0.25, interpolation=cv2.INTER_AREA)
    frame[300 : 300 + small.shape[0], 500 : 500 + small.shape[1]] = small
    return frame


def test_a_small_plate_is_read_in_its_region_enlarged() -> None:
    scene = render_plate_scene("川AM1186", "blue", seed=4)
    frame = _far(scene)
    engine = _ShortSighted(shared_engine())
    r = PlateReader(engine=engine).read(frame)  # type: ignore[arg-type]
    assert (r.text, r.valid) == ("川AM1186", True)
    assert all(max(shape) < 720 for shape in engine.detected)  # never the whole frame


def test_without_the_second_look_the_plate_is_not_read_in_its_region(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plate_module, "SMALL_REGION", 0)
    scene = render_plate_scene("川AM1186", "blue", seed=4)
    frame = _far(scene)
    engine = _ShortSighted(shared_engine())
    PlateReader(engine=engine).read(frame)  # type: ignore[arg-type]
    assert any(max(shape) >= 720 for shape in engine.detected)
