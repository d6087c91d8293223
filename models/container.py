"""Container-number reading: OCR the door, assemble ISO 6346 candidates, verify the check digit."""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence

import numpy as np
from kakou.models.imageio import ImageError, as_frame, is_blank
from kakou.models.iso6346 import check_digit, format_code, is_valid, make_code, normalise
from kakou.models.ocr import OcrEngine, TextLine, shared_engine
from kakou.models.reading import Read, candidates, vote

__all__ = [
    "ContainerRead",
    "ContainerReader",
    "check_digit",
    "format_code",
    "is_valid",
    "make_code",
    "normalise",
]

DEFAULT_THRESHOLD = 0.80
_SIZE_TYPE = re.compile(r"^[1-9L][0-9A-Z][A-Z][0-9A-Z]$")  # e.g. 45G1, 22G1, L5R1
_ALNUM = re.compile(r"[^0-9A-Z]")


class ContainerRead(Read):
    size_type: str | None = None  # ISO 6346 size/type code when seen, e.g. "45G1"


class ContainerReader:
    """Reuse one instance: it shares the process-wide OCR engine; `read` is thread-safe."""

    def __init__(self, threshold: float = DEFAULT_THRESHOLD, engine: OcrEngine | None = None) -> None:
        self.threshold = threshold
        self._engine = engine

    @property
    def engine(self) -> OcrEngine:
        if self._engine is None:
            self._engine = shared_engine()
        return self._engine

    def read(self, image: np.ndarray) -> ContainerRead:
        try:
            frame = as_frame(image)
        except ImageError as exc:
            return ContainerRead(text=None, confidence=0.0, valid=False, error=str(exc))
        if is_blank(frame):
            return ContainerRead(text=None, confidence=0.0, valid=False, error="blank image")
        return self.from_lines(self.engine.lines(frame))

    def read_many(self, frames: Iterable[np.ndarray]) -> ContainerRead:
        return vote((self.read(f) for f in frames), self.threshold, ContainerRead)

    def from_lines(self, lines: Sequence[TextLine]) -> ContainerRead:
        size_type = next((s for ln in lines if _SIZE_TYPE.match(s := _ALNUM.sub("", ln.text.upper()))), None)
        best: tuple[str, float, str] | None = None
        near: tuple[str, float] | None = None  # 11 chars of the right shape but failing the check
        for text, score in candidates(lines, max_parts=4):
            flat = _ALNUM.sub("", text.upper())
            code = normalise(flat)
            if code is not None:
                if best is None or score > best[1]:
                    best = (code, score, text)
            elif len(flat) == 11 and (near is None or score > near[1]):
                near = (text, score)
        if best is not None:
            code, conf, raw = best
            if conf < self.threshold:
                return ContainerRead(text=None, confidence=conf, valid=False, raw=raw, size_type=size_type)
            return ContainerRead(text=code, confidence=conf, valid=True, raw=raw, size_type=size_type)
        if near is not None:
            # A check-digit failure is never passed on as a code: the officer keys it.
            return ContainerRead(text=None, confidence=near[1], valid=False, raw=near[0], size_type=size_type)
        return ContainerRead(text=None, confidence=0.0, valid=False, size_type=size_type)
