"""A plate crop (a lane camera's own plate cut-out, a still from a handheld) is read as it is,
without the detector, whatever margin it was cut with: a single-row plate cut loosely is
nearly as square as a double-row plate cut tightly, and between the two it is read both ways."""

import cv2
import numpy as np
import pytest

from kakou.models import plate as plate_module
from kakou.models.ocr import OcrEngine, shared_engine
from kakou.models.plate import PlateRead, PlateReader
from kakou.sim.render_plates import plate_crop, plate_image


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


def _cut_into_province(text: str, clip: float) -> np.ndarray:
    """A 94 x 24 crop cut tight to the characters, its left side `clip` of the plate's width
    in (through the province character: how a crop camera's cut-outs come)."""
    plate = np.ascontiguousarray(np.asarray(plate_image(text, "blue"))[..., ::-1])
    ph, pw = plate.shape[:2]
    y = int(ph * 0.12)
    cut = plate[y : ph - y, int(pw * clip) : pw - int(pw * 0.03)]
    return cv2.resize(cut, (94, 24), interpolation=cv2.INTER_AREA)


def test_a_crop_cut_into_its_province_is_read_inside_a_margin(monkeypatch: pytest.MonkeyPatch) -> None:
    crop = _cut_into_province("湘L06A37", 0.05)
    assert PlateReader().read(crop).text == "湘L06A37"
    # The same crop without the margin (the second reading sees the crop as it is): the
    # clipped 湘 is read as 相, no plate.
    monkeypatch.setattr(plate_module, "_with_margin", lambda crop, by: crop)
    assert PlateReader().read(crop).text is None


def test_the_margin_reading_does_not_settle_a_crop_read_as_another_plate(monkeypatch: pytest.MonkeyPatch) -> None:
    crop = _cut_into_province("皖A2T582", 0.02)
    # As it is, the crop reads as 皖A2T582 below the threshold; inside the margin as the
    # surer 皖A21582 (a T or a 1: the officer decides, however unsure the first reading).
    reads = {
        crop.shape: PlateRead(text=None, confidence=0.52, valid=False, raw="皖A2T582"),
        plate_module._with_margin(crop, plate_module.CROP_MARGIN).shape: PlateRead(
            text="皖A21582", confidence=0.99, valid=True, raw="皖A21582", kind="standard"
        ),
    }
    monkeypatch.setattr(PlateReader, "_crop_read", lambda self, image, one_row, two_rows: reads[image.shape])
    first, again = PlateReader()._crop_stage(crop)
    assert not first.valid
    assert (again.text, again.valid) == (None, False) and again.confidence <= 0.5


def _slanted_crop(text: str, degrees: float) -> np.ndarray:
    """A 94 x 24 crop of a plate turned by `degrees` inside its box (seen from beside and below)."""
    big = cv2.resize(plate_crop(text), (282, 72), interpolation=cv2.INTER_AREA)
    m = cv2.getRotationMatrix2D((141, 36), degrees, 1.12)
    turned = cv2.warpAffine(big, m, (282, 72), borderMode=cv2.BORDER_REPLICATE)
    return cv2.resize(turned, (94, 24), interpolation=cv2.INTER_AREA)


@pytest.mark.parametrize(("text", "degrees"), [("皖A2U448", 8.0), ("苏E5C821", -9.0)])
def test_a_crop_of_a_slanted_plate_is_read_turned(monkeypatch: pytest.MonkeyPatch, text: str, degrees: float) -> None:
    crop = _slanted_crop(text, degrees)
    r = PlateReader().read(crop)
    assert (r.text, r.valid) == (text, True)
    monkeypatch.setattr(plate_module, "CROP_TURNS", ())  # not turned: the slant stops the read
    assert not PlateReader().read(crop).valid


_P = "皖A2U448"


@pytest.mark.parametrize(
    ("turned", "stands"),
    [
        ([(_P, _P, 0.9), (_P, "皖A·2U448", 0.95), None, None], True),
        ([(_P, _P, 0.9), None, None, None], False),  # one turned reading alone
        ([(_P, _P, 0.9), (_P, _P, 0.9), ("皖A2U441", "皖A2U441", 0.9), None], False),  # two plates named
        ([(_P, _P, 0.9), (_P, _P, 0.82), None, None], False),  # the second one not sure enough
        ([(_P, _P, 0.9), (_P, "滨A2U44", 0.9), None, None], False),  # decoded, not read so as it is
    ],
)
def test_turned_readings_must_name_one_plate_twice_as_they_read(
    monkeypatch: pytest.MonkeyPatch, turned: list[tuple[str, str, float] | None], stands: bool
) -> None:
    crop = _slanted_crop(_P, 8.0)
    first = PlateRead(text=None, confidence=0.6, valid=False, raw="滨A2U448")
    reads = iter(
        [
            first,
            *(
                PlateRead(text=t[0], raw=t[1], confidence=t[2], valid=True, kind="standard")
                if t
                else PlateRead(text=None, confidence=0.3, valid=False)
                for t in turned
            ),
        ]
    )
    monkeypatch.setattr(PlateReader, "_read_frame", lambda self, frame: next(reads))
    r = PlateReader().read(crop)
    assert (r.text, r.valid) == ((_P, True) if stands else (None, False))
    assert r.raw == "滨A2U448"  # what the crop itself showed stays for the officer
