"""Vertical container codes (one or two characters per row, on the corner post or a narrow
door panel): find the column, cut it into character rows, and lay the rows side by side so the
line recogniser reads them as one horizontal line.

PP-OCR's recogniser reads horizontal lines only; a column fed to it as it is, or turned by 90°
(every character then lies on its side), reads nothing useful. Its detector does find a column
as one or more tall boxes, often missing the first or last characters: that is where this starts,
and the column is then followed up and down for as long as character rows continue.
"""

from __future__ import annotations

import cv2
import numpy as np

Column = tuple[int, int, int, int]  # x0, y0, x1, y1 in frame pixels
Row = tuple[int, int, int, int]  # y0, y1, x0, x1 within a strip

TALL = 2.5  # a box this many times taller than wide is a column of characters
MIN_ROWS = 8  # a code has 11 characters; two may share a row (KM, TU)
# A column leaning this many degrees or more (a camera rolled on its mount, a container on a
# tilted chassis) drifts across its strip by about a character's width over eleven rows: it is
# read again with the frame turned upright around it (upright). Up to MAX_TILT: beyond, a box
# is a diagonal marking, not a column.
MIN_TILT = 2.0
MAX_TILT = 20.0


def columns(boxes: list[np.ndarray], frame_shape: tuple[int, ...]) -> list[Column]:
    """Tall detector boxes, those stacked in one column (overlapping across, close along)
    merged, tallest first."""
    tall: list[list[float]] = []
    for b in boxes:
        x0, y0 = (float(v) for v in b.min(axis=0))
        x1, y1 = (float(v) for v in b.max(axis=0))
        if y1 - y0 >= TALL * (x1 - x0) and x1 - x0 >= 6:
            tall.append([x0, y0, x1, y1])
    tall.sort(key=lambda c: c[1])
    merged: list[list[float]] = []
    for c in tall:
        for m in merged:
            w = min(c[2] - c[0], m[2] - m[0])
            across = min(c[2], m[2]) - max(c[0], m[0])
            if across >= 0.5 * w and c[1] - m[3] <= 1.5 * max(c[2] - c[0], m[2] - m[0]):
                m[:] = [min(m[0], c[0]), min(m[1], c[1]), max(m[2], c[2]), max(m[3], c[3])]
                break
        else:
            merged.append(list(c))
    h, w = frame_shape[:2]
    out = [
        (max(int(x0), 0), max(int(y0), 0), min(int(x1 + 0.5), w), min(int(y1 + 0.5), h)) for x0, y0, x1, y1 in merged
    ]
    out.sort(key=lambda c: -(c[3] - c[1]))
    return out


def column_tilt(boxes: list[np.ndarray]) -> float:
    """The lean of the tallest column-shaped detector box, in degrees from upright (positive
    when its top leans left in the image), from the box's own long side: the detector's boxes
    follow the text's direction, their axis-aligned bounds do not. 0.0 when no box is one."""
    best: tuple[float, float] = (0.0, 0.0)  # (long side, tilt)
    for b in boxes:
        corners = cv2.boxPoints(cv2.minAreaRect(np.asarray(b, np.float32)))
        sides = [corners[(k + 1) % 4] - corners[k] for k in range(2)]
        long, short = sorted(sides, key=lambda v: -float(np.hypot(*v)))
        length, width = float(np.hypot(*long)), float(np.hypot(*short))
        dx, dy = (float(v) for v in (long if long[1] >= 0 else -long))
        tilt = float(np.degrees(np.arctan2(dx, dy)))
        if length >= TALL * max(width, 1.0) and abs(tilt) <= MAX_TILT and length > best[0]:
            best = (length, tilt)
    return best[1]


def upright(frame: np.ndarray, boxes: list[np.ndarray], tilt: float) -> tuple[np.ndarray, list[np.ndarray]]:
    """The frame turned about its centre so that a column leaning `tilt` degrees stands
    upright, and the boxes turned with it."""
    h, w = frame.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), -tilt, 1.0)
    turned = cv2.warpAffine(frame, m, (w, h), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return turned, [cv2.transform(np.asarray(b, np.float32)[None], m)[0] for b in boxes]


def column_as_line(frame: np.ndarray, col: Column, inset_last: bool = False) -> np.ndarray | None:
    """The column's character rows side by side, each scaled to one height, on the column's
    own paint; None when fewer than MIN_ROWS rows are found. `inset_last` cuts the last cell
    inside its bounds: the check digit's box outline is then left out (the recogniser reads
    a boxed 3 as B, a boxed 1 as D)."""
    x0, y0, x1, y1 = col
    cw = x1 - x0
    # Generous margins: across, so that a two-letter row does not touch the strip's sides;
    # along, so that characters the detector left out are still in the strip.
    sx0, sx1 = max(x0 - int(0.3 * cw), 0), min(x1 + int(0.3 * cw), frame.shape[1])
    sy0, sy1 = max(y0 - 8 * cw, 0), min(y1 + 8 * cw, frame.shape[0])
    strip = frame[sy0:sy1, sx0:sx1]
    if strip.size == 0:
        return None
    core = (y0 - sy0, y1 - sy0)
    rows = _contiguous(_rows(strip), core)
    if len(rows) < MIN_ROWS:
        # Thin, faint strokes (a small code, a soft lens) break into specks under a local
        # threshold: the rows are then cut where the ink profile along the column falls to 0.
        rows = _contiguous(_rows_by_profile(strip), core)
    if len(rows) < MIN_ROWS:
        return None
    size = 48
    cells: list[np.ndarray] = []
    for k, (ry0, ry1, rx0, rx1) in enumerate(rows):
        pad = max(2, int(0.15 * (ry1 - ry0)))
        if inset_last and k == len(rows) - 1:
            pad = -max(2, int(0.14 * (ry1 - ry0)))
        cell = strip[max(ry0 - pad, 0) : ry1 + pad, max(rx0 - pad, 0) : rx1 + pad]
        if min(cell.shape[:2]) < 2:
            return None  # a sliver (a row one or two pixels wide, cut inside its bounds)
        cells.append(cell)
    # The gaps are filled with the paint right around the characters (the cells' borders), not
    # with the strip's: a code on a light sticker on a dark door would otherwise be a row of
    # light tiles on dark, and the tiles' edges read as strokes (T as 1, U as 0).
    border = np.concatenate([np.concatenate([c[0], c[-1], c[:, 0], c[:, -1]]) for c in cells])
    bg = [float(v) for v in np.median(border, axis=0)]
    parts: list[np.ndarray] = []
    for cell in cells:
        scale = size / max(cell.shape[0], 1)
        parts.append(cv2.resize(cell, (max(int(cell.shape[1] * scale), 1), size), interpolation=cv2.INTER_CUBIC))
        parts.append(np.full((size, size // 4, 3), bg, np.uint8))
    return cv2.copyMakeBorder(np.hstack(parts), 8, 8, 8, 8, cv2.BORDER_CONSTANT, value=bg)


def _rows(strip: np.ndarray) -> list[Row]:
    """Character rows: connected components of ink (locally thresholded, either polarity)
    shaped like characters and not touching the strip's sides, merged where they share a row.
    The polarity giving more rows wins (the other one finds the gaps)."""
    g = cv2.cvtColor(strip, cv2.COLOR_BGR2GRAY)
    w = g.shape[1]
    block = max(int(w * 0.6) | 1, 15)
    best: list[Row] = []
    for flag in (cv2.THRESH_BINARY_INV, cv2.THRESH_BINARY):
        bw = cv2.adaptiveThreshold(g, 255, cv2.ADAPTIVE_THRESH_MEAN_C, flag, block, 8)
        n, _, stats, _ = cv2.connectedComponentsWithStats(bw, connectivity=8)
        comps = sorted(
            (int(y), int(y + ch), int(x), int(x + cw))
            for x, y, cw, ch, _area in stats[1:n]
            if x > 0 and x + cw < w and 0.15 * w <= ch <= 0.9 * w and cw >= 0.05 * w
        )
        rows: list[Row] = []
        for c in comps:
            if rows and c[0] < rows[-1][1] - 0.3 * (c[1] - c[0]):
                r = rows[-1]
                rows[-1] = (min(r[0], c[0]), max(r[1], c[1]), min(r[2], c[2]), max(r[3], c[3]))
            else:
                rows.append(c)
        if len(rows) > len(best):
            best = rows
    return best


def _rows_by_profile(strip: np.ndarray) -> list[Row]:
    """Character rows cut from the column's ink profile: a pixel is ink where it stands out
    from its row's median (the paint, either polarity) by more than an Otsu threshold; runs of
    rows holding ink are characters, and a run split by a one- or two-pixel gap (the thin apex
    of an A) is joined while it stays under 1.3 typical heights."""
    g = cv2.GaussianBlur(cv2.cvtColor(strip, cv2.COLOR_BGR2GRAY).astype(np.float32), (3, 3), 0)
    dev = np.clip(2.0 * np.abs(g - np.median(g, axis=1, keepdims=True)), 0, 255).astype(np.uint8)
    t, _ = cv2.threshold(dev, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    mask = dev > max(t, 16.0)
    on = np.concatenate([[False], mask.sum(axis=1) >= 2, [False]])
    edges = np.flatnonzero(np.diff(on.astype(np.int8)))
    runs = [(int(a), int(b)) for a, b in zip(edges[::2], edges[1::2], strict=True)]
    if len(runs) < 2:
        return []
    typical = float(np.median([b - a for a, b in runs]))
    joined: list[tuple[int, int]] = []
    for a, b in runs:
        if joined and a - joined[-1][1] <= 2 and b - joined[-1][0] <= 1.3 * typical:
            joined[-1] = (joined[-1][0], b)
        else:
            joined.append((a, b))
    rows: list[Row] = []
    for a, b in joined:
        cols = np.flatnonzero(mask[a:b].any(axis=0))
        rows.append((a, b, int(cols[0]), int(cols[-1]) + 1))
    return rows


def _contiguous(rows: list[Row], core: tuple[int, int]) -> list[Row]:
    """The run of rows that overlaps the detector's box, followed up and down while the gap to
    the next row stays under one typical row height (beyond that is other paint)."""
    if not rows:
        return []
    typical = float(np.median([r[1] - r[0] for r in rows]))
    # Two characters joined by a touching stroke or a speck between them come out as one row
    # twice as tall: cut in the middle (the gap between them), not dropped. Only within the
    # detector's box: beyond it a tall row is more often other paint (a rod, a handle).
    split: list[Row] = []
    for y0, y1, x0, x1 in rows:
        if 1.7 * typical <= y1 - y0 <= 2.5 * typical and y0 >= core[0] - 0.5 * typical and y1 <= core[1]:
            mid = (y0 + y1) // 2
            split += [(y0, mid, x0, x1), (mid, y1, x0, x1)]
        else:
            split.append((y0, y1, x0, x1))
    rows = split
    inside = [i for i, r in enumerate(rows) if r[1] > core[0] and r[0] < core[1]]
    if not inside:
        return []
    lo, hi = inside[0], inside[-1]
    while lo > 0 and rows[lo][0] - rows[lo - 1][1] <= typical:
        lo -= 1
    while hi + 1 < len(rows) and rows[hi + 1][0] - rows[hi][1] <= typical:
        hi += 1
    return [r for r in rows[lo : hi + 1] if 0.5 * typical <= r[1] - r[0] <= 1.6 * typical]
