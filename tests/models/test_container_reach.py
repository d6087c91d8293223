"""A code whose boxed check digit the plain reading dropped is read over the box; where that
reading merges a repeated digit (300009 as 30009: PP-OCR's time steps are coarser than three
narrow zeros), it is read again wider, as the fitted reading is."""

import re

import numpy as np
import pytest

import kakou.models.container as container
from kakou.models.container import ContainerReader
from kakou.models.ocr import OcrEngine, TextLine, shared_engine
from kakou.sim.render import render_container_scene

CODE = "MCCU3000099"  # field dev frame 029's code: 300009 and a boxed 9


class _MergingEngine:
    """The shared engine, except that a line's plain reading never holds the boxed digit, and a
    per-character reading at the plain width loses one zero of a run of three but keeps the
    box's digit (as a real gate camera's frame did under camera variations: MCCU300099)."""

    def __init__(self, engine: OcrEngine) -> None:
        self._engine = engine

    def recognise_boxes(self, image: np.ndarray, boxes: list[np.ndarray], stretch: float = 1.0) -> list[TextLine]:
        lines = self._engine.recognise_boxes(image, boxes, stretch)
        return [TextLine(ln.box, re.sub(r"300009\s*9", "300009", ln.text), ln.score) for ln in lines]

    def recognise_chars(self, crop: np.ndarray, top: int = 5, stretch: float = 1.0) -> list[list[tuple[str, float]]]:
        if stretch != 1.0:
            return self._engine.recognise_chars(crop, top, stretch)
        # What the pixels hold, read wide enough to keep every zero (and the box's digit where
        # the crop reaches over it), less one zero of the run.
        steps = self._engine.recognise_chars(crop, top, 2.5)
        i = "".join(s[0][0] for s in steps).find("000")
        return steps if i < 0 else steps[:i] + steps[i + 1 :]

    def __getattr__(self, name: str):
        return getattr(self._engine, name)


@pytest.mark.parametrize("seed", [0, 3, 7])
def test_a_merged_repeated_digit_is_read_again_wider_over_the_check_box(
    seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = render_container_scene(CODE, seed=seed)
    # The box itself is not found (a faint outline): only the reading over it can give the digit.
    monkeypatch.setattr(container, "read_boxed_digit", lambda *_: None)
    r = ContainerReader(engine=_MergingEngine(shared_engine())).read(frame)  # type: ignore[arg-type]
    assert (r.text, r.valid) == (CODE, True)
