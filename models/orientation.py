"""Which way up a frame's text stands: a container seen from above (a gantry camera over the
lane reads the roof's marking upside down for a truck driving one way, sideways for a camera
across the lane) or a side camera mounted on its side to see a container's full height.

The readers work on upright lines (the vertical-code reader on upright characters stacked); a
frame turned a quarter or half round reads nothing (field dev containers turned half round: 0 of
37; a quarter: 3). Its largest text lines say which way it is turned: a wide line is upright or
upside down (PP-OCR's direction classifier, `OcrEngine.upright`); a tall one, turned a quarter
clockwise, likewise. Each line votes with its area and the classifier's certainty.
"""

from __future__ import annotations

import cv2
import numpy as np

from kakou.models.ocr import OcrEngine

TURNS = {90: cv2.ROTATE_90_CLOCKWISE, 180: cv2.ROTATE_180, 270: cv2.ROTATE_90_COUNTERCLOCKWISE}
LINES = 8  # the largest lines vote
LONG = 1.3  # a line this many times as long as it is thick has a direction
DETECT_SIDE = 640


def turn_to_read(engine: OcrEngine, frame: np.ndarray) -> int | None:
    """The clockwise turn (90, 180, 270) that sets the frame's text upright, or None where it
    stands upright already or no line says (module docstring)."""
    crops: list[np.ndarray] = []
    tall: list[bool] = []
    areas: list[float] = []
    h_frame, w_frame = frame.shape[:2]
    for box in sorted(engine.detect(frame, DETECT_SIDE), key=lambda b: -cv2.contourArea(b))[:LINES]:
        x0, y0 = np.maximum(np.floor(box.min(axis=0)).astype(int), 0)
        x1, y1 = np.minimum(np.ceil(box.max(axis=0)).astype(int), (w_frame, h_frame))
        crop = frame[y0:y1, x0:x1]
        h, w = crop.shape[:2]
        if min(h, w) < 6 or max(h, w) < LONG * min(h, w):
            continue
        crops.append(crop if w > h else cv2.rotate(crop, cv2.ROTATE_90_CLOCKWISE))
        tall.append(h > w)
        areas.append(float(h * w))
    votes = dict.fromkeys((0, 90, 180, 270), 0.0)
    for (up, sure), is_tall, area in zip(engine.upright(crops), tall, areas, strict=True):
        # A tall line that stands upright once turned a quarter clockwise: so must the frame.
        votes[(90 if up else 270) if is_tall else (0 if up else 180)] += area * sure
    turn = max(votes, key=lambda t: votes[t])
    return turn if turn and votes[turn] > 0 else None


def turned(frame: np.ndarray, turn: int) -> np.ndarray:
    """The frame turned `turn` degrees clockwise (90, 180 or 270)."""
    out: np.ndarray = cv2.rotate(frame, TURNS[turn])
    return out
