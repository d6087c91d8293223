"""Licence-plate reading: find the plate's text in a frame, recognise it, check the grammar."""

from __future__ import annotations

from collections.abc import Iterable, Sequence

import numpy as np
from kakou.models.imageio import ImageError, as_frame, is_blank
from kakou.models.ocr import OcrEngine, shared_engine
from kakou.models.plate_grammar import (
    DEFAULT_LATIN_PATTERNS,
    clean,
    is_valid_plate,
    normalise_plate,
    plate_kind_of,
)
from kakou.models.reading import Read, candidates, vote

__all__ = ["PlateRead", "PlateReader", "is_valid_plate", "normalise_plate", "plate_kind_of"]

DEFAULT_THRESHOLD = 0.80


class PlateRead(Read):
    kind: str | None = None  # plate_kind_of(text)


class PlateReader:
    """Reuse one instance: it shares the process-wide OCR engine; `read` is thread-safe."""

    def __init__(
        self,
        threshold: float = DEFAULT_THRESHOLD,
        latin_patterns: Sequence[str] = DEFAULT_LATIN_PATTERNS,
        engine: OcrEngine | None = None,
    ) -> None:
        self.threshold = threshold
        self.latin_patterns = tuple(latin_patterns)
        self._engine = engine

    @property
    def engine(self) -> OcrEngine:
        if self._engine is None:
            self._engine = shared_engine()
        return self._engine

    def read(self, image: np.ndarray) -> PlateRead:
        try:
            frame = as_frame(image)
        except ImageError as exc:
            return PlateRead(text=None, confidence=0.0, valid=False, error=str(exc))
        if is_blank(frame):
            return PlateRead(text=None, confidence=0.0, valid=False, error="blank image")
        return self._from_lines(self.engine.lines(frame))

    def read_many(self, frames: Iterable[np.ndarray]) -> PlateRead:
        return vote((self.read(f) for f in frames), self.threshold, PlateRead)

    def _from_lines(self, lines: list) -> PlateRead:
        best: tuple[str, float, str] | None = None
        fallback: tuple[str, float] | None = None
        for text, score in candidates(lines, max_parts=3, stacked=True):
            plate = normalise_plate(text, self.latin_patterns)
            if plate is not None:
                # Corrections cost a little confidence: they are inferences, not readings.
                penalty = 0.97 if plate != clean(text) else 1.0
                if best is None or score * penalty > best[1]:
                    best = (plate, score * penalty, text)
            elif len(clean(text)) >= 5 and (fallback is None or score > fallback[1]):
                fallback = (text, score)
        if best is not None:
            plate, conf, raw = best
            if conf < self.threshold:
                return PlateRead(text=None, confidence=conf, valid=False, raw=raw)
            return PlateRead(text=plate, confidence=conf, valid=True, raw=raw, kind=plate_kind_of(plate))
        if fallback is not None:
            raw, conf = fallback
            text = clean(raw) if conf >= self.threshold else None
            return PlateRead(text=text, confidence=conf, valid=False, raw=raw)
        return PlateRead(text=None, confidence=0.0, valid=False)
