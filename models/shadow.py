"""The sharp edge of a shadow across the frame (a canopy's edge, a pole, a gantry in sunshine).

A shadow edge through a plate or a code leaves part of each character in a third of the light
of the rest: the detector stops its line at the edge, and a character the edge cuts through can
read as another (浙 with its water radical in the dark as 新, surely). A shadow multiplies the
light by the same factor whatever it falls on, so its edge is a straight line across which the
lightness's logarithm steps by the same amount on every surface it crosses — paint, plate,
bumper, road. Characters, plate ends and a vehicle's sides step by amounts that change along
them. `shadow_edge` looks for such a line on a small copy of the frame, and for the band's other
edge where the shadow is a pole's or a beam's; `unshadowed` gives the shaded side (or band) the
light of the lit side back, for the readers' last attempt.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

SEARCH_WIDTH = 160  # px: the frame is searched for an edge this wide (its long side)
SEARCH_FROM = 320  # px: smaller images are cut-outs (a plate crop), with no scene to see an edge in
ANGLES = tuple(range(30, 151, 6))  # degrees from the rows: edges steeper than 30 degrees cross a line
GAP = 1  # px at SEARCH_WIDTH left out on each side of the edge (the penumbra: ~1 % of the width)
BAND = 7  # px at SEARCH_WIDTH averaged on each side of the edge, row by row
MIN_STEP = float(np.log(1.8))  # the shaded side has at most 1 / 1.8 of the light (sky against sun ~1/3)
AGREE = 0.6  # share of the frame's rows where the step must be within half of the edge's own
DARK_FLOOR = 10.0  # added before the logarithm: in the dark, noise is not a step


@dataclass(frozen=True)
class ShadowEdge:
    angle: float  # degrees from the rows
    x: float  # where the edge crosses the frame's middle row, share of the width
    step: float  # ln(lit / shaded)
    shaded_left: bool  # the shaded side is the one left of the edge (as seen along the rows)
    agree: float  # share of the rows that agree with the step
    # A pole's or a beam's shadow is a band: its other edge, parallel, on the shaded side (where
    # it crosses the middle row, share of the width); None where the shade runs to the frame's side.
    far_x: float | None = None

    def crosses(self, box: tuple[int, int, int, int], shape: tuple[int, ...]) -> bool:
        """Whether an edge of the shadow runs through the box (x0, y0, x1, y1) of a frame of `shape`."""
        h, w = shape[:2]
        a = np.deg2rad(self.angle)
        x0, y0, x1, y1 = box
        for at in (self.x, self.far_x):
            if at is not None:
                sides = {(x - at * w) * np.sin(a) - (y - h / 2) * np.cos(a) > 0 for x in (x0, x1) for y in (y0, y1)}
                if len(sides) == 2:
                    return True
        return False


def shadow_edge(frame: np.ndarray) -> ShadowEdge | None:
    """The strongest shadow edge across the frame, if one is seen (module docstring)."""
    h, w = frame.shape[:2]
    if max(h, w) < SEARCH_FROM:
        return None
    f = SEARCH_WIDTH / max(h, w)
    # Every k-th pixel first (area-averaging a 1920 px frame straight down cost 6 ms of ~14).
    k = max(int(1 / (4 * f)), 1)
    small = cv2.resize(frame[::k, ::k], (max(round(w * f), 1), max(round(h * f), 1)), interpolation=cv2.INTER_AREA)
    value = small.max(axis=2) if small.ndim == 3 else small
    light = np.log(value.astype(np.float32) + DARK_FLOOR)
    sh, sw = light.shape
    ones = np.ones_like(light)
    best: ShadowEdge | None = None
    for angle in ANGLES:
        c = 1.0 / np.tan(np.deg2rad(angle))
        # Sheared so that every line at `angle` is a column (x at the middle row kept).
        m = np.array([[1.0, c, -c * sh / 2], [0.0, 1.0, 0.0]], np.float32)
        flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
        sheared = cv2.warpAffine(light, m, (sw, sh), flags=flags, borderValue=0.0)
        inside = cv2.warpAffine(ones, m, (sw, sh), flags=cv2.INTER_NEAREST | cv2.WARP_INVERSE_MAP, borderValue=0.0)
        step, whole = _steps(sheared * inside, inside)
        rows = whole.sum(axis=0)
        mean = np.where(rows > 0, (step * whole).sum(axis=0) / np.maximum(rows, 1), 0.0)
        agree = (whole & (np.abs(step - mean) <= 0.5 * np.abs(mean))).sum(axis=0) / sh
        ok = (np.abs(mean) >= MIN_STEP) & (agree >= AGREE)
        if not ok.any():
            continue
        x = int(np.argmax(np.where(ok, agree * np.abs(mean), 0.0)))
        # The step measured again on the light itself (DARK_FLOOR flattens it): in each agreeing
        # row the ratio of the light summed on each side; their median is the shadow's factor.
        agreeing = whole[:, x] & (np.abs(step[:, x] - mean[x]) <= 0.5 * abs(mean[x]))
        lin = cv2.warpAffine(value.astype(np.float32), m, (sw, sh), flags=flags, borderValue=0.0)[agreeing]
        right, left = lin[:, x + GAP : x + GAP + BAND].sum(axis=1), lin[:, x - GAP - BAND : x - GAP].sum(axis=1)
        factor = float(np.median(np.log(np.maximum(right, 1.0) / np.maximum(left, 1.0))))
        far = _far_edge(mean, agree, x)
        edge = ShadowEdge(
            float(angle), x / sw, abs(factor), bool(mean[x] > 0), float(agree[x]), None if far is None else far / sw
        )
        if best is None or edge.agree * edge.step > best.agree * best.step:
            best = edge
    return best


def _far_edge(mean: np.ndarray, agree: np.ndarray, x: int) -> int | None:
    """The column of the shade's other edge, if it is a band: on the shaded side of the edge at
    `x`, at least a window's width away, a step the other way of at least 0.6 of this one, that
    0.8 of AGREE rows agree with (a pole's shadow at 35 % light, 8 % of the width, lit as if it ran
    to the frame's side, read 2 dev plates wrong: the part beyond it over-lit three times)."""
    away = GAP + BAND + 1
    cols = np.arange(mean.size)
    beyond = cols <= x - away if mean[x] > 0 else cols >= x + away
    other = beyond & (np.sign(mean) == -np.sign(mean[x])) & (np.abs(mean) >= 0.6 * abs(mean[x]))
    other &= agree >= 0.8 * AGREE
    if not other.any():
        return None
    return int(np.argmax(np.where(other, agree * np.abs(mean), 0.0)))


def _steps(light: np.ndarray, inside: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Row by row, the mean of BAND px right of each column (past GAP) less the mean of BAND px
    left of it; and where both bands lie wholly inside the frame."""
    sh, sw = light.shape
    total = np.zeros((sh, sw + 1), np.float32)
    total[:, 1:] = np.cumsum(light, axis=1)
    count = np.zeros((sh, sw + 1), np.float32)
    count[:, 1:] = np.cumsum(inside, axis=1)
    step = np.zeros((sh, sw), np.float32)
    whole = np.zeros((sh, sw), bool)
    lo, hi = GAP + BAND, sw - GAP - BAND
    xs = np.arange(lo, hi)
    right = (total[:, xs + GAP + BAND] - total[:, xs + GAP]) / BAND
    left = (total[:, xs - GAP] - total[:, xs - GAP - BAND]) / BAND
    step[:, lo:hi] = right - left
    n = (count[:, xs + GAP + BAND] - count[:, xs + GAP]) + (count[:, xs - GAP] - count[:, xs - GAP - BAND])
    whole[:, lo:hi] = n >= 2 * BAND - 0.5
    return step, whole


def unshadowed(frame: np.ndarray, edge: ShadowEdge) -> np.ndarray:
    """The frame with the shaded side of `edge` (up to its far edge, if a band) lit as the other
    side: every pixel there multiplied by the shadow's factor, ramped over a penumbra as wide as
    the search left out (~10 ms at 1920 px: a lookup table and one blend, not a float frame)."""
    h, w = frame.shape[:2]
    a = np.deg2rad(edge.angle)
    along = np.array([np.cos(a), np.sin(a)])  # the edge's direction, rows grow downwards
    far = 2.0 * (h + w)

    def line(at: float) -> list[np.ndarray]:
        mid = np.array([at * w, h / 2])
        return [mid - far * along, mid + far * along]

    near = line(edge.x)
    if edge.far_x is not None:
        other = line(edge.far_x)
        shade = np.array([near[0], near[1], other[1], other[0]])
    else:
        across = np.array([-np.sin(a), np.cos(a)])  # towards the left of the edge as the rows run
        side = far * (across if edge.shaded_left else -across)
        shade = np.array([near[0], near[1], near[1] + side, near[0] + side])
    in_shade = np.zeros((h, w), np.float32)
    cv2.fillPoly(in_shade, [np.rint(shade).astype(np.int32)], 1.0)
    soft = max(round(2 * GAP * max(h, w) / SEARCH_WIDTH), 1)
    weight = cv2.blur(in_shade, (soft, soft))
    lut = np.clip(np.rint(np.arange(256) * np.exp(edge.step)), 0, 255).astype(np.uint8)
    lit = cv2.LUT(frame, lut)
    out: np.ndarray = cv2.blendLinear(lit, frame, weight, 1.0 - weight)
    return out
