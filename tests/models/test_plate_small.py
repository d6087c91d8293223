"""A small plate in a large frame (a far camera): at 8-10 px the detector, which never enlarges,
boxes the plate without its faint province character; the region is looked at again enlarged
(plate._second_looks) instead of going on to a whole-frame pass."""

import cv2
import numpy as np
import pytest

from kakou.models import plate as plate_module
from kakou.models.locate import plate_regions
from kakou.models.ocr import OcrEngine, shared_engine
from kakou.models.plate import BLIND_SIDE, SMALL_REGION, PlateReader
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


def _far(scene: np.ndarray, scale: float = 0.25, shape: tuple[int, int] | None = None, x: int = 500) -> np.ndarray:
    """The scene at `scale` in a frame of road grey (`shape`, else the scene's own: 1280 px), its
    top at 300 px and its left at `x`: the vehicle far away."""
    frame = np.full((*(shape or scene.shape[:2]), 3), 96, np.uint8)
    small = cv2.resize(scene, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    frame[300 : 300 + small.shape[0], x : x + small.shape[1]] = small
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


class _Sides(_ShortSighted):
    """_ShortSighted, also noting the side each whole frame was detected at."""

    def __init__(self, engine: OcrEngine, frame_shape: tuple[int, ...]) -> None:
        super().__init__(engine)
        self._frame_shape = frame_shape[:2]
        self.whole_sides: list[int] = []

    def detect(self, image: np.ndarray, side: int = 640) -> list[np.ndarray]:
        if image.shape[:2] == self._frame_shape:
            self.whole_sides.append(side)
        return super().detect(image, side)


def _street(scene: np.ndarray) -> np.ndarray:
    """The scene at 0.16 in a 1200 x 648 frame: the plate ~70 px, under 7 % of the width (a car
    park or street camera), in a frame narrower than the 1280 px the small-plate search once
    needed."""
    return _far(scene, 0.16, (648, 1200), x=400)


def test_a_plate_under_7_percent_of_the_width_is_read_in_its_region_before_the_960_pass() -> None:
    frame = _street(render_plate_scene("川AM1186", "blue", seed=4))
    engine = _Sides(shared_engine(), frame.shape)
    r = PlateReader(engine=engine).read(frame)  # type: ignore[arg-type]
    assert (r.text, r.valid) == ("川AM1186", True)
    # Located small and looked at again enlarged (the short-sighted detector loses its left part
    # otherwise); the whole frame was detected only at 480 px, never at 960.
    assert engine.whole_sides == [480]


def test_below_the_small_plate_frame_width_the_960_pass_reads_it(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(plate_module, "SMALL_PLATE_FRAME", 1280)
    frame = _street(render_plate_scene("川AM1186", "blue", seed=4))
    engine = _Sides(shared_engine(), frame.shape)
    PlateReader(engine=engine).read(frame)  # type: ignore[arg-type]
    assert 960 in engine.whole_sides


def test_a_small_region_with_no_text_found_is_detected_again_at_least_blind_side() -> None:
    """The real detector found nothing in field plate 032's region shrunk to 0.9 (63 px), nor
    in it enlarged twice (154 px); enlarged to BLIND_SIDE it found the line. A small region
    that is not dim and held no text is looked at again so (_second_looks)."""
    frame = _far(render_plate_scene("川AM1186", "blue", seed=4), 0.16, (540, 900), x=300)
    region = plate_regions(frame, limit=3)[0]
    roi = region.padded(0.12, 0.3, frame.shape)
    assert max(roi.width, roi.height) * plate_module.SMALL_ENLARGE < BLIND_SIDE
    engine = _ShortSighted(shared_engine())
    reads = list(PlateReader(engine=engine)._second_looks([(frame, region, roi, "dim")]))  # type: ignore[arg-type]
    assert [(r.text, r.valid) for r in reads] == [("川AM1186", True)]
    assert max(max(shape) for shape in engine.detected) >= BLIND_SIDE
