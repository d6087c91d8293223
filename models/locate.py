"""Cheap classical locating of plate and container-code regions, before any neural network.

The PP-OCR detector on a whole 1280x720 frame is the expensive step (25-140 ms on the 2-core
box, more under load); recognising one crop costs 10-25 ms. So we first look for *where* the
text is with plain OpenCV on a half-size frame (a few ms), and only run the detector on a small
region around each candidate. Every stage here only proposes regions: nothing is accepted
unless the recogniser then reads text that passes the plate grammar or the ISO 6346 check
digit, and the readers fall back to the full-frame detector when no region yields that.

Two cues, because neither is enough alone:

* **Plate colour** (HSV): blue, yellow and the green of new-energy plates, and the ways
  cameras see that paint off its colour (FADED_COLOURS: a blue plate cyan under night light, a
  hazy, dusty or over-exposed blue plate and a dirty or sun-faded yellow one pale). A plate on a
  cab of the same colour merges with it and is lost to this cue.
* **Text texture**: characters make dense vertical edges in a compact box; grille bars, lamps
  and panel edges make sparse or elongated ones. This also finds white Latin plates and plates
  on a same-coloured cab.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import cv2
import numpy as np

from kakou.models.imageio import percentile_u8

WORK_WIDTH = 640  # locating runs on the frame scaled to this width (half of 1280x720)

# OpenCV HSV: H in 0..179. Saturation/value floors are low because the camera can darken a
# plate to ~60 % and wash it out by a JPEG at quality 45.
PLATE_COLOURS: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {
    "blue": ((98, 110, 45), (128, 255, 255)),
    "yellow": ((12, 100, 80), (38, 255, 255)),
    "green": ((40, 60, 60), (85, 255, 255)),
}
# Plate paint as cameras also see it, for locating only (the paint check of a read line keeps to
# PLATE_COLOURS): a blue plate under LED street light or over-exposed at night turns cyan (field
# 072: hue 89-101, no region, read only by the 960 px whole-frame pass, 236 -> 31 ms); haze, dust
# and over-exposure leave a blue plate at saturation 40-90 (six of the eight field plates that
# only the whole-frame passes read: 009, 021, 032, 061, 062, 073); a dirty or sun-faded yellow
# truck plate loses saturation too (063: S 47-95, 424 -> 27 ms). These cues carry a low
# weight (CUE_WEIGHT), so where a plate is also found by its proper colour or its texture, that
# box is read first.
FADED_COLOURS: dict[str, tuple[tuple[int, int, int], tuple[int, int, int]]] = {
    "cyan": ((86, 110, 45), (97, 255, 255)),
    "pale-blue": ((100, 35, 60), (130, 255, 255)),
    "pale-yellow": ((10, 45, 120), (30, 255, 255)),
}
# A region's score is multiplied by its cue's weight (texture: 1). A proper plate colour is the
# best evidence; a faded colour the weakest: its mask also takes in hazy sky, grey-blue walls and
# beige paint, and its box, looser than the texture cue's, read a plate less surely (field 004:
# the pale-blue box ranked first read 川A762ZS only as a doubt, 39 -> 227 ms; at 0.6 the texture
# box is read first again).
CUE_WEIGHT = {**dict.fromkeys(PLATE_COLOURS, 1.2), **dict.fromkeys(FADED_COLOURS, 0.6)}


@dataclass(frozen=True, slots=True)
class Region:
    """Axis-aligned box in frame pixels (x0, y0, x1, y1) and where it came from."""

    x0: int
    y0: int
    x1: int
    y1: int
    cue: str  # a PLATE_COLOURS or FADED_COLOURS name, or "texture"
    score: float

    @property
    def box(self) -> tuple[int, int, int, int]:
        """(x0, y0, x1, y1), as the detector and the image helpers take a box."""
        return self.x0, self.y0, self.x1, self.y1

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    def padded(self, fx: float, fy: float, shape: tuple[int, ...]) -> Region:
        """Grown by fx of its width / fy of its height on each side, clipped to the frame."""
        h, w = shape[:2]
        dx, dy = int(self.width * fx), int(self.height * fy)
        return Region(
            max(self.x0 - dx, 0),
            max(self.y0 - dy, 0),
            min(self.x1 + dx, w),
            min(self.y1 + dy, h),
            self.cue,
            self.score,
        )


def _work(frame: np.ndarray, most: float = 1.0, width: int = WORK_WIDTH) -> tuple[np.ndarray, float]:
    h, w = frame.shape[:2]
    s = min(most, width / w)
    if s == 1.0:
        return frame, 1.0
    return cv2.resize(frame, (int(w * s), max(int(h * s), 1)), interpolation=cv2.INTER_AREA), s


def _iou(a: Region, b: Region) -> float:
    ix = max(0, min(a.x1, b.x1) - max(a.x0, b.x0))
    iy = max(0, min(a.y1, b.y1) - max(a.y0, b.y0))
    inter = ix * iy
    union = a.width * a.height + b.width * b.height - inter
    return inter / union if union else 0.0


def _texture(gray: np.ndarray) -> np.ndarray:
    """Binary map of text-like texture: strong vertical edges, closed along the text line."""
    gx = cv2.convertScaleAbs(cv2.Sobel(gray, cv2.CV_16S, 1, 0, ksize=3))
    thr = max(percentile_u8(gx, 90), 40.0)
    _, bw = cv2.threshold(gx, thr, 255, cv2.THRESH_BINARY)
    return bw


def _edge_density(tex: np.ndarray, x: int, y: int, w: int, h: int) -> float:
    patch = tex[y : y + h, x : x + w]
    return float(np.count_nonzero(patch)) / max(patch.size, 1)


def plate_regions(
    frame: np.ndarray, limit: int = 3, widths: tuple[float, float] = (0.07, 0.5), work_width: int = WORK_WIDTH
) -> list[Region]:
    """Up to `limit` plate-shaped regions, most plate-like first (frame pixels), `widths` the
    plate's narrowest and widest share of the frame width."""
    small, s = _work(frame, width=work_width)
    H, W = small.shape[:2]
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    tex = _texture(gray)
    hsv = cv2.cvtColor(small, cv2.COLOR_BGR2HSV)
    # A plate is 8-45 % of the frame width (a head-on gate camera; tighter crops skip locating).
    min_w, max_w = widths[0] * W, widths[1] * W
    found: list[Region] = []

    def consider(
        x: int, y: int, w: int, h: int, cue: str, fill: float, rotated: tuple[float, float] | None = None
    ) -> None:
        # A tilted plate is measured along its own axes (`rotated`: long and short side).
        long, short = rotated or (w, h)
        if not (min_w <= long <= max_w and short >= 10):
            return
        aspect = long / short
        if not 1.5 <= aspect <= 6.5:
            return
        dens = _edge_density(tex, x, y, w, h)
        if dens < 0.06:  # a plain coloured panel: no characters on it
            return
        # Plates are filled rectangles with busy insides; closer to a 2:1-4:1 box scores higher.
        shape = 1.0 - min(abs(np.log(aspect / 3.0)), 1.0) * 0.5
        score = fill * shape * min(dens / 0.2, 1.0) * CUE_WEIGHT.get(cue, 1.0)
        found.append(Region(int(x / s), int(y / s), int((x + w) / s), int((y + h) / s), cue, score))

    k5 = cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5))
    for cue, (lo, hi) in (PLATE_COLOURS | FADED_COLOURS).items():
        mask = cv2.inRange(hsv, np.array(lo, np.uint8), np.array(hi, np.uint8))
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, k5)
        contours, _ = cv2.findContours(mask, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
        for c in contours:
            x, y, w, h = cv2.boundingRect(c)
            (_, (rw, rh), _) = cv2.minAreaRect(c)
            long, short = max(rw, rh), min(rw, rh)
            if long < min_w or short < 1:
                continue
            # Filled fraction of the plate's own rectangle by the colour's hull: a plate seen at an
            # angle (car park, street) is a tilted, skewed quadrilateral, still ~80 % of it.
            fill = cv2.contourArea(cv2.convexHull(c)) / float(long * short)
            if fill >= 0.6:
                consider(x, y, w, h, cue, fill, (long, short))

    # Text texture: join characters along the row, then keep compact blobs.
    blob = cv2.morphologyEx(tex, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (15, 7)))
    blob = cv2.morphologyEx(blob, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (5, 5)))
    contours, _ = cv2.findContours(blob, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    for c in contours:
        x, y, w, h = cv2.boundingRect(c)
        if w < 0.7 * min_w:
            continue
        fill = cv2.contourArea(c) / float(w * h)
        if fill >= 0.45:
            # The characters occupy ~85 % of the plate; grow the box to the plate's size.
            gx, gy = max(x - w // 12, 0), max(y - h // 5, 0)
            consider(gx, gy, min(w + w // 6, W - gx), min(int(h * 1.4), H - gy), "texture", fill)

    found.sort(key=lambda r: r.score, reverse=True)
    out: list[Region] = []
    for r in found:
        if all(_iou(r, o) < 0.5 for o in out):
            out.append(r)
        if len(out) >= limit:
            break
    return out


def text_rows(frame: np.ndarray, limit: int = 3) -> list[Region]:
    """Bands of large text (container-code candidates), tallest characters first (frame pixels).

    The owner code + serial is the largest marking on a container door; small print (gross /
    tare weights) and corrugation ribs are rejected by size and shape."""
    # At most half size even for a small crop: the closing below must bridge the gap between
    # owner code and serial (half a character), which is ~13 px at half of a 1280 frame.
    small, s = _work(frame, most=0.5)
    H, W = small.shape[:2]
    gray = cv2.cvtColor(small, cv2.COLOR_BGR2GRAY)
    # Morphological gradient picks up stroke edges whatever the paint/background polarity.
    grad = cv2.morphologyEx(gray, cv2.MORPH_GRADIENT, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (3, 3)))
    _, bw = cv2.threshold(grad, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    # Ribs are long vertical lines: remove anything taller than a character.
    ribs = cv2.morphologyEx(bw, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_RECT, (1, max(H // 8, 12))))
    bw = cv2.subtract(bw, ribs)
    blob = cv2.morphologyEx(bw, cv2.MORPH_CLOSE, cv2.getStructuringElement(cv2.MORPH_RECT, (17, 5)))
    contours, _ = cv2.findContours(blob, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_SIMPLE)
    found: list[Region] = []
    for x, y, w, h in _join_rows([cv2.boundingRect(c) for c in contours]):
        if h < 0.03 * H or h > 0.35 * H or w < 4 * h or w > 0.8 * W:
            continue
        # Taller characters first (the code is the largest marking); a band along the frame's
        # edge is the container's top rail or the ground, not paint.
        edge = y <= 1 or y + h >= H - 1
        # Painted characters fill a fair share of their band with stroke edges; a slanted rail
        # or door edge that the closing joined into a band fills little of its bounding box.
        density = float(np.count_nonzero(bw[y : y + h, x : x + w])) / (w * h)
        if density < 0.15:  # text measured 0.27-0.55, rails and edges 0.03-0.09
            continue
        score = float(h) * (0.3 if edge else 1.0)
        found.append(Region(int(x / s), int(y / s), int((x + w) / s), int((y + h) / s), "texture", score))
    found.sort(key=lambda r: r.score, reverse=True)
    return found[:limit]


def _join_rows(rects: Sequence[Sequence[int]]) -> list[tuple[int, int, int, int]]:
    """Join boxes of one text row separated by less than 1.5 character heights (the closing
    leaves owner code, serial and check box apart when the characters are large)."""
    rects = sorted((r for r in rects if r[3] >= 4), key=lambda r: r[0])
    out: list[list[int]] = []
    for x, y, w, h in rects:
        for o in out:
            ox, oy, ow, oh = o
            overlap = min(oy + oh, y + h) - max(oy, y)
            if overlap > 0.6 * min(oh, h) and 0.6 < h / oh < 1.6 and x - (ox + ow) < 1.5 * max(oh, h):
                nx0, ny0 = min(ox, x), min(oy, y)
                o[:] = [nx0, ny0, max(ox + ow, x + w) - nx0, max(oy + oh, y + h) - ny0]
                break
        else:
            out.append([x, y, w, h])
    return [(a, b, c, d) for a, b, c, d in out]
