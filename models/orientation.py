"""Which way up a frame's text stands: a container seen from above (a gantry camera over the
lane reads the roof's marking upside down for a truck driving one way, sideways for a camera
across the lane) or a side camera mounted on its side to see a container's full height.

The readers work on upright lines (the vertical-code reader on upright characters stacked); a
frame turned a quarter or half round reads nothing (field dev containers turned half round: 0 of
37; a quarter: 3 and 1). Its largest text lines say which way it is turned: the frame's wide
lines stand upright or upside down (PP-OCR's direction classifier, `OcrEngine.upright`), and so do
those of the frame turned a quarter clockwise, where text that ran down the frame now runs along
it (the detector, trained on lines along the rows, finds them there better than as tall lines:
dev containers turned a quarter either way, the turn found for 33 of 37 where the tall lines
turned alone found it for 22 and 28). Each line votes with its area and the classifier's
certainty; ~150 ms (two detections), asked only of frames that read nothing.
"""

from __future__ import annotations

import cv2
import numpy as np

from kakou.models.ocr import OcrEngine

TURNS = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}
LINES = 8  # the largest lines vote
LONG = 1.3  # a line this many times as long as it is high has a direction
DETECT_SIDE = 640


def turn_to_read(engine: OcrEngine, frame: np.ndarray) -> int | None:
    """The clockwise turn (90, 180, 270) that sets the frame's text upright, or None where it
    stands upright already or no line says (module docstring)."""
    up, down = _votes(engine, frame)
    quarter_up, quarter_down = _votes(engine, turned(frame, 90))
    votes = {0: up, 90: quarter_up, 180: down, 270: quarter_down}
    turn = max(votes, key=lambda t: votes[t])
    return turn if turn and votes[turn] > 0 else None


def _votes(engine: OcrEngine, frame: np.ndarray) -> tuple[float, float]:
    """The frame's LINES largest lines along the rows, weighed by area times certainty: how much
    stands upright and how much upside down."""
    h_frame, w_frame = frame.shape[:2]
    crops: list[np.ndarray] = []
    for box in sorted(engine.detect(frame, DETECT_SIDE), key=lambda b: -cv2.contourArea(b))[:LINES]:
        x0, y0 = np.maximum(np.floor(box.min(axis=0)).astype(int), 0)
        x1, y1 = np.minimum(np.ceil(box.max(axis=0)).astype(int), (w_frame, h_frame))
        crop = frame[y0:y1, x0:x1]
        if crop.shape[0] >= 6 and crop.shape[1] >= LONG * crop.shape[0]:
            crops.append(crop)
    up = down = 0.0
    for crop, (upright, sure) in zip(crops, engine.upright(crops), strict=True):
        weight = crop.shape[0] * crop.shape[1] * sure
        up, down = (up + weight, down) if upright else (up, down + weight)
    return up, down


def turned(frame: np.ndarray, turn: int) -> np.ndarray:
    """The frame turned `turn` degrees clockwise (90, 180 or 270)."""
    out: np.ndarray = cv2.rotate(frame, TURNS[turn])
    return out
