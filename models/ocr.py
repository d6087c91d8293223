"""One shared PP-OCR engine (rapidocr-onnxruntime's bundled ONNX models, nothing downloaded).

The engine costs ~1 s and ~100 MB to load, so it is built once per process and shared by the
plate and container readers. RapidOCR mutates detector thresholds per call, hence the lock;
on the 2-core edge box concurrent inference would not be faster anyway.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

import numpy as np


@dataclass(frozen=True, slots=True)
class TextLine:
    """One detected and recognised line; box is 4x2 (x, y) corners in frame pixels."""

    box: tuple[tuple[float, float], ...]
    text: str
    score: float

    @property
    def x0(self) -> float:
        return min(p[0] for p in self.box)

    @property
    def x1(self) -> float:
        return max(p[0] for p in self.box)

    @property
    def y0(self) -> float:
        return min(p[1] for p in self.box)

    @property
    def y1(self) -> float:
        return max(p[1] for p in self.box)

    @property
    def height(self) -> float:
        return self.y1 - self.y0


class OcrEngine:
    """Thread-safe wrapper: `lines()` = detect + recognise, `recognise()` = crops only."""

    def __init__(self, det_side: int = 960) -> None:
        from rapidocr_onnxruntime import RapidOCR  # heavy import, deferred until first use

        # limit_type "max" caps the long side: the default ("min", 736) would upscale a
        # 1280x720 frame to 1308x736 and triple detector time for no gain on plate-sized text.
        self._ocr: Any = RapidOCR(
            det_limit_side_len=det_side, det_limit_type="max", use_cls=False, print_verbose=False
        )
        self._lock = threading.Lock()

    def lines(self, image: np.ndarray, min_score: float = 0.3) -> list[TextLine]:
        with self._lock:
            result, _ = self._ocr(image, use_cls=False, text_score=min_score)
        out: list[TextLine] = []
        for box, text, score in result or []:
            out.append(TextLine(tuple((float(x), float(y)) for x, y in box), str(text), float(score)))
        return out

    def recognise(self, crops: list[np.ndarray]) -> list[tuple[str, float]]:
        """Recognition only, for crops already cut to one text line."""
        if not crops:
            return []
        with self._lock:
            res, _ = self._ocr.text_rec(crops)
        return [(str(t), float(s)) for t, s in res]


@lru_cache(maxsize=1)
def shared_engine() -> OcrEngine:
    return OcrEngine()
