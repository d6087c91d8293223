"""A code that is a small share of a large frame: the whole-frame passes find a piece of it (the
owner code) but not the rest; the frame around the piece is read again, enlarged."""

import numpy as np
import pytest

import kakou.models.container as container
from kakou.models.container import ContainerReader
from kakou.models.ocr import OcrEngine, shared_engine
from kakou.sim.render import render_container_scene

WIDE = 1200  # px: an image this wide is the whole frame, where the detector finds only a piece


class _PieceEngine:
    """The shared engine, except that on the whole frame every text box the detector finds ends
    after its first third (the owner code of a one-row code), as a detector does on characters
    at the edge of what it can see; on the frame around a piece it sees as it is."""

    def __init__(self, engine: OcrEngine) -> None:
        self._engine = engine

    def detect(self, image: np.ndarray, side: int = 640) -> list[np.ndarray]:
        return self._cut(image, self._engine.detect(image, side))

    def detect_region(self, image: np.ndarray, box: tuple[int, int, int, int], side: int) -> list[np.ndarray]:
        return self._cut(image, self._engine.detect_region(image, box, side))

    @staticmethod
    def _whole_frame(image: np.ndarray) -> bool:
        return image.shape[1] >= WIDE

    def _cut(self, image: np.ndarray, boxes: list[np.ndarray]) -> list[np.ndarray]:
        if not self._whole_frame(image):
            return boxes
        out = []
        for b in boxes:
            tl, tr, br, bl = (np.asarray(p, np.float32) for p in b)
            out.append(np.array([tl, tl + (tr - tl) * 0.36, bl + (br - bl) * 0.36, bl], np.float32))
        return out

    def __getattr__(self, name: str):
        return getattr(self._engine, name)


@pytest.mark.parametrize(("code", "seed"), [("MSKU1234565", 5), ("TGHU8832010", 31)])
def test_the_frame_around_a_piece_of_a_code_is_read_again(
    code: str, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = render_container_scene(code, seed=seed, width=1600, height=900)
    reader = ContainerReader(engine=_PieceEngine(shared_engine()))  # type: ignore[arg-type]
    r = reader.read(frame)
    assert (r.text, r.valid) == (code, True)
    monkeypatch.setattr(container, "MAX_PIECES", 0)
    again = reader.read(frame)
    assert (again.text, again.valid) == (None, False)  # the piece alone is no code


class _SmallFramePieceEngine(_PieceEngine):
    """As _PieceEngine, on anything shaped like a whole frame (not the wide strip around a
    piece), whatever its size: a small frame and its enlarged copy alike."""

    @staticmethod
    def _whole_frame(image: np.ndarray) -> bool:
        h, w = image.shape[:2]
        return w / h < 2


@pytest.mark.parametrize(("code", "seed"), [("MSKU1234565", 5), ("TGHU8832010", 31)])
def test_a_small_frames_pieces_are_read_around_on_the_enlarged_frame(
    code: str, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A small frame (a far camera, a still) is read again enlarged; the pieces of a code found
    there are read around on the enlarged frame, as on a large one."""
    frame = render_container_scene(code, seed=seed, width=640, height=360)
    reader = ContainerReader(engine=_SmallFramePieceEngine(shared_engine()))  # type: ignore[arg-type]
    r = reader.read(frame)
    assert (r.text, r.valid) == (code, True)
    monkeypatch.setattr(container, "MAX_PIECES", 0)
    assert not reader.read(frame).valid
