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
        """Cheapest stage first: a plate-shaped crop goes straight to the recogniser; a frame is
        detected at 480 px (enough for a plate >= 15 % of the width), then at 960 px."""
        try:
            frame = as_frame(image)
        except ImageError as exc:
            return PlateRead(text=None, confidence=0.0, valid=False, error=str(exc))
        if is_blank(frame):
            return PlateRead(text=None, confidence=0.0, valid=False, error="blank image")
        h, w = frame.shape[:2]
        best: PlateRead | None = None
        if max(h, w) <= 640 and 1.4 <= w / h <= 6.0:
            best = self._best(self._crop_candidates(frame))
            if best.valid:
                return best
        for side in (480, 960):
            r = self._best(candidates(self.engine.lines(frame, side), max_parts=3, stacked=True))
            if r.valid:
                return r
            best = r if best is None or r.confidence > best.confidence else best
            if side >= max(h, w):
                break  # the frame is already at full resolution; a larger pass adds nothing
        assert best is not None
        return best

    def read_many(self, frames: Iterable[np.ndarray]) -> PlateRead:
        return vote((self.read(f) for f in frames), self.threshold, PlateRead)

    def _crop_candidates(self, crop: np.ndarray) -> list[tuple[str, float]]:
        h, w = crop.shape[:2]
        if w / h >= 2.6:
            return self.engine.recognise([crop])
        # Double-row plate: province+letter above ~40 % of the height, five characters below.
        cut = int(h * 0.4)
        (top, st), (low, sl) = self.engine.recognise([crop[:cut], crop[cut:]])
        return [(top + low, min(st, sl)), (low, sl)]

    def _best(self, cands: Iterable[tuple[str, float]]) -> PlateRead:
        best: tuple[str, float, str] | None = None
        fallback: tuple[str, float] | None = None
        for text, score in cands:
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
