"""Find the boxed check digit that ISO 6346 paints after the serial.

PP-OCR's recogniser tends to drop a digit drawn inside a rectangle (it reads "MSKU 123456" and
stops), so after a 10-character owner+serial line we look just to its right for a hollow
rectangle about one character tall and recognise only its interior.
"""

from __future__ import annotations

import unicodedata

import cv2
import numpy as np

from kakou.models.ocr import OcrEngine, TextLine

# When no box is found, ink is sought again from this share of the way from paint to ink: a
# gate camera's door code whose box outline is worn to a third of the digits' contrast.
FAINT_OUTLINE = 0.2
MIN_BOX_CROP = 48  # px: a reach crop lower than this is enlarged before its check box is sought


def line_crop(frame: np.ndarray, line: TextLine, extend: float, pad: float = 0.2) -> np.ndarray:
    """The line's quadrilateral, rectified, stretched `extend` line-heights to the right and
    padded `pad` line-heights above and below (the check box is taller than the characters)."""
    tl, tr, br, bl = (np.array(p, dtype=np.float32) for p in line.box)
    h = max(float(np.linalg.norm(bl - tl)), 1.0)
    v = (tr - tl) / max(float(np.linalg.norm(tr - tl)), 1.0)
    n = (bl - tl) / h
    pad *= h
    ext = v * extend * h
    src = np.array([tl - n * pad, tr + ext - n * pad, br + ext + n * pad, bl + n * pad], dtype=np.float32)
    w = int(np.linalg.norm(src[1] - src[0]))
    hh = int(np.linalg.norm(src[3] - src[0]))
    if w < 8 or hh < 8:
        return np.zeros((0, 0, 3), np.uint8)
    dst = np.array([[0, 0], [w, 0], [w, hh], [0, hh]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(frame, m, (w, hh), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)


def _boxes(crop: np.ndarray, after: float) -> list[tuple[int, int, int, int]]:
    """Check-digit boxes in the crop as (x, y, w, h).

    A square outline whose inside is mostly a hole (not a filled glyph like '8'). Two more
    shapes are accepted only right of `after` (where the serial ends) and at least 1.1 times as
    tall as the serial's glyphs (a box encloses a digit), so that no digit of the serial is
    taken for one: a box narrower than a bold digit (0.45-0.68 of its height, condensed fonts)
    or whose thin outline has a gap, if its convex hull fills its bounding box (an outline
    does, a '0' 0.78) and little of it is ink; and a filled box, a solid block of ink with the
    digit cut out of it (holes)."""
    g = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    h = crop.shape[0]
    found: list[tuple[int, int, int, int]] = []
    for flag in (cv2.THRESH_BINARY, cv2.THRESH_BINARY_INV):  # light-on-dark or dark-on-light paint
        _, bw = cv2.threshold(g, 0, 255, flag + cv2.THRESH_OTSU)
        contours, hier = cv2.findContours(bw, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
        if hier is None:
            continue
        # The serial's glyphs in this paint: a box encloses a digit, so it is taller than they are.
        outer = [cv2.boundingRect(c) for i, c in enumerate(contours) if hier[0][i][3] == -1]
        glyphs = [r[3] for r in outer if r[0] + r[2] < after and 0.2 * h <= r[3] <= 0.9 * h]
        glyph_h = float(np.median(glyphs)) if len(glyphs) >= 3 else float(h)
        for i, c in enumerate(contours):
            if hier[0][i][3] != -1:  # only outer contours
                continue
            x, y, w, hh = cv2.boundingRect(c)
            # At least half the crop high, or (a detector box much taller than its text) at
            # least a little taller than the serial's glyphs.
            if not (hh >= 0.5 * h or 1.1 * glyph_h <= hh <= 2 * glyph_h) or not 0.45 * hh <= w <= 1.3 * hh:
                continue
            # The digit often touches the thin outline and splits the hole; count all of it.
            hole = sum(cv2.contourArea(contours[j]) for j in _siblings(hier, hier[0][i][2])) / (w * hh)
            if w >= 0.68 * hh and hole >= 0.3:  # the box is squarer than any digit
                found.append((x, y, w, hh))
                continue
            if x < after or hh < 1.1 * glyph_h or x == 0 or y == 0 or y + hh >= h:
                continue
            hull = cv2.contourArea(cv2.convexHull(c)) / (w * hh)
            ink = np.count_nonzero(bw[y : y + hh, x : x + w]) / (w * hh)
            if hull >= 0.8 and (ink <= 0.55 or hole >= 0.06):
                found.append((x, y, w, hh))
    return found


def _box_by_sides(crop: np.ndarray, after: float, ink_share: float = 0.5) -> tuple[int, int, int, int] | None:
    """A box whose outline a global threshold breaks (faint or thin edges, a gap: no contour
    closes), found by its sides right of `after`: the first two strokes of ink taller than the
    serial's glyphs (a box encloses a digit; a 1 is only as tall as a glyph), or else a bar
    above the glyphs' rows and one below them. It must be 0.4-1.3 glyph heights wide and
    1.05-2 high. Ink is what lies at least `ink_share` of the way from the paint's grey to the
    ink's (0.5: nearer the ink; less takes in an outline painted fainter than the digits)."""
    share = _towards_ink(crop, *_paint_and_ink(crop, after))
    if share is None:
        return None
    mask = (share >= ink_share).astype(np.uint8)
    h = crop.shape[0]
    n, _, stats, _ = cv2.connectedComponentsWithStats(mask[:, : max(int(after), 1)], connectivity=8)
    glyphs = [st for st in stats[1:n] if 0.2 * h <= st[3] <= 0.9 * h]
    if len(glyphs) < 3:
        return None
    glyph_h = float(np.median([st[3] for st in glyphs]))
    top = float(np.median([st[1] for st in glyphs]))
    bottom = float(np.median([st[1] + st[3] for st in glyphs]))  # first row under the glyphs
    a = int(after)
    # The box follows the serial within a glyph or two: beyond is other paint or another door.
    mask[:, int(after + 2.5 * glyph_h) :] = 0
    found: list[tuple[int, int, int, int]] = []
    tall = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((int(1.08 * glyph_h) + 1, 1), np.uint8))
    cols = np.flatnonzero(tall[:, a:].any(axis=0)) + a
    runs = np.split(cols, np.flatnonzero(np.diff(cols) > 1) + 1) if cols.size else []
    if len(runs) >= 2:
        x0, x1 = int(runs[0][0]), int(runs[1][-1]) + 1
        rows = np.flatnonzero(tall[:, x0:x1].any(axis=1))
        found.append((x0, int(rows[0]), x1 - x0, int(rows[-1]) + 1 - int(rows[0])))
    # Its top and bottom: strokes at least half a glyph wide, one above the serial's glyphs and
    # one below them (a 7's or a 2's bar lies within the glyphs' rows).
    wide = cv2.morphologyEx(mask, cv2.MORPH_OPEN, np.ones((1, int(0.5 * glyph_h) + 1), np.uint8))
    rows = np.flatnonzero(wide[:, a:].any(axis=1))
    above, below = rows[rows < top], rows[rows >= bottom]
    if above.size and below.size:
        y0, y1 = int(above.max()), int(below.min()) + 1
        span = np.flatnonzero(np.logical_or(wide[y0, a:], wide[y1 - 1, a:])) + a
        found.append((int(span[0]), y0, int(span[-1]) + 1 - int(span[0]), y1 - y0))
    for x0, y0, w, hh in found:
        if 0.4 * glyph_h <= w <= 1.3 * glyph_h and 1.05 * glyph_h <= hh <= 2 * glyph_h:
            return x0, y0, w, hh
    return None


def _paint_and_ink(crop: np.ndarray, line_w: float) -> tuple[np.ndarray, np.ndarray]:
    """The median colours of the serial's paint and of its ink (the minority class)."""
    part = crop[:, : max(int(line_w), 1)]
    g = cv2.cvtColor(part, cv2.COLOR_BGR2GRAY)
    t, _ = cv2.threshold(g, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    light = g > t
    ink_mask = light if np.count_nonzero(light) < light.size / 2 else ~light
    if not ink_mask.any() or ink_mask.all():
        ink_mask = light
    return np.median(part[~ink_mask], axis=0), np.median(part[ink_mask], axis=0)


def _unfilled(crop: np.ndarray, box: tuple[int, int, int, int], line_w: float) -> np.ndarray | None:
    """For a filled check box (ink block, digit in the paint colour): the crop with the box
    redrawn as the line's own paint with the digit in the line's ink, so the recogniser reads
    it as one more character of the serial (it skips an inverted block). None when the box is
    not filled (its inside is the paint, not the ink)."""
    x, y, w, h = box
    paint, ink = _paint_and_ink(crop, line_w)
    m = max(int(0.15 * min(w, h)), 1)
    inside = np.median(crop[y + m : y + h - m, x + m : x + w - m].reshape(-1, 3), axis=0)
    if np.linalg.norm(inside - ink) >= np.linalg.norm(inside - paint):
        return None
    out = crop.copy()
    cell = cv2.cvtColor(crop[y : y + h, x : x + w], cv2.COLOR_BGR2GRAY)
    ct, _ = cv2.threshold(cell, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    light = cell > ct
    digit = ~light if np.count_nonzero(light) > light.size / 2 else light  # the block's minority
    region = out[y : y + h, x : x + w]
    region[:] = paint
    region[digit] = ink
    return out


def _towards_ink(img: np.ndarray, paint: np.ndarray, ink: np.ndarray) -> np.ndarray | None:
    """How far each pixel's grey lies from the paint's (0) to the ink's (1), or None when the two
    are too alike in grey to tell apart."""
    weights = np.array([0.114, 0.587, 0.299], np.float32)  # BGR to grey, as OpenCV does
    gp, gi = float(paint @ weights), float(ink @ weights)
    if abs(gp - gi) < 20:
        return None
    return (img.astype(np.float32) @ weights - gp) / (gi - gp)


def _faded(crop: np.ndarray, box: tuple[int, int, int, int], line_w: float) -> np.ndarray:
    """The crop with every pixel in and around `box` that is less than half way from the paint
    to the ink set to the paint: a faint outline goes, the digit stays."""
    paint, ink = _paint_and_ink(crop, line_w)
    x, y, w, h = box
    m = max(int(0.2 * h), 2)
    out = crop.copy()
    region = out[max(y - m, 0) : y + h + m, max(x - m, 0) : x + w + m]
    share = _towards_ink(region, paint, ink)
    if share is not None:
        region[share < 0.5] = paint
    return out


def _siblings(hier: np.ndarray, first: int) -> list[int]:
    out = []
    j = first
    while j != -1:
        out.append(j)
        j = hier[0][j][0]
    return out


def read_boxed_digit(engine: OcrEngine, frame: np.ndarray, line: TextLine) -> tuple[str, float] | None:
    """The single character inside the check box right of `line`, with its score, or None."""
    # The detector often ends the line at the serial and leaves a gap of half a character
    # before the box; 2 line-heights reach past a full box (1.2 cut it off on sharp images).
    crop = line_crop(frame, line, extend=2.0)
    if crop.size == 0:
        return None
    line_w = crop.shape[1] - 2.0 * crop.shape[0] / 1.4  # the crop's height is the line's + padding
    if crop.shape[0] < MIN_BOX_CROP:
        # A small code (characters 10-16 px high): at that size Otsu fuses a thin box outline
        # with the digit and the hole is lost. Enlarged first, the box and its digit separate.
        f = MIN_BOX_CROP / crop.shape[0]
        crop = cv2.resize(crop, None, fx=f, fy=f, interpolation=cv2.INTER_CUBIC)
        line_w *= f
    cells = [b for b in _boxes(crop, 0.75 * line_w) if b[0] > line_w * 0.4 and b[0] + b[2] < crop.shape[1] - 1]
    faint = False
    if not cells:
        sides = _box_by_sides(crop, 0.75 * line_w)
        if sides is None:
            sides = _box_by_sides(crop, 0.75 * line_w, FAINT_OUTLINE)
            faint = sides is not None
        if sides is None:
            return None
        cells = [sides]
    box = min(cells, key=lambda b: b[0])  # the first whole box after the serial
    n = sum(ch.isalnum() for ch in unicodedata.normalize("NFKC", line.text))
    if faint:
        # An outline fainter than the digits, seen in perspective, is not erased by an upright
        # rectangle and what is left reads as a 1: it is washed out to the paint instead.
        renderings = [_faded(crop, box, line_w)]
    else:
        unfilled = _unfilled(crop, box, line_w) if box[0] >= 0.75 * line_w else None
        # A box taken for a filled one is read redrawn first, then as it is: a ~12 px box whose
        # digit blurred into it cannot be redrawn (its strokes are no longer of the paint).
        renderings = [crop] if unfilled is None else [unfilled, crop]
    for r in renderings:
        digit = _in_line(engine, r, box, n)
        if digit is not None:
            return digit
    lone = [d for r in renderings if (d := _alone(engine, r, box)) is not None]
    return max(lone, key=lambda d: d[1], default=None)


def _in_line(engine: OcrEngine, crop: np.ndarray, box: tuple[int, int, int, int], n: int) -> tuple[str, float] | None:
    """The digit in `box` of the reach crop read as one more character after the serial (`n`
    characters on the detector's line): with the box's outline erased, then with only its
    interior set after the serial. PP-OCR is poor at a lone character (a clean bold 2 comes
    back as N) but reads it fine after the serial."""
    x, y, w, h = box
    ring = max(int(0.09 * min(w, h)), 2)
    bg = [float(v) for v in np.median(crop[y + ring : y + h - ring, x + ring : x + w - ring].reshape(-1, 3), axis=0)]
    line_img = crop[:, : min(x + w + h // 2, crop.shape[1])].copy()
    inner_keep = line_img[y + ring : y + h - ring, x + ring : x + w - ring].copy()
    cv2.rectangle(line_img, (x - 1, y - 1), (x + w, y + h), bg, thickness=ring + 2)
    line_img[y + ring : y + h - ring, x + ring : x + w - ring] = inner_keep
    # The line read with the box: one character more than the detector's line (an owner+serial
    # line of 10, or a serial alone in a split or two-row code), ending in a digit.
    ((text, score),) = engine.recognise([line_img])
    flat = "".join(ch for ch in unicodedata.normalize("NFKC", text) if ch.isalnum())
    if len(flat) >= (11 if n >= 10 else n + 1) and flat[-1].isdigit():
        return flat[-1], score
    m = max(int(0.15 * min(w, h)), 2)
    inner = crop[y + m : y + h - m, x + m : x + w - m]
    if inner.size == 0:
        return None
    # An outline seen in perspective is not wholly erased by an upright rectangle, and what is
    # left of it makes the recogniser drop the digit again: the interior alone, set after the
    # serial on the paint at the place of the box, is the same line without any outline.
    cell = np.empty((crop.shape[0], w + h // 2, 3), np.uint8)  # the box's place and a margin
    cell[:] = bg
    cell[y + m : y + h - m, m : m + inner.shape[1]] = inner
    clean_line = np.hstack([crop[:, : max(x, 1)], cell])
    ((text, score),) = engine.recognise([clean_line])
    flat = "".join(ch for ch in unicodedata.normalize("NFKC", text) if ch.isalnum())
    if len(flat) >= (11 if n >= 10 else n + 1) and flat[-1].isdigit():
        return flat[-1], score
    return None


def _alone(engine: OcrEngine, crop: np.ndarray, box: tuple[int, int, int, int]) -> tuple[str, float] | None:
    """The box's interior read alone, in two renderings; the better-scoring single character
    wins: padded with the paint colour (a replicated border would smear a stroke touching the
    edge into extra strokes), and a black-on-white Otsu binarisation without the ribs."""
    x, y, w, h = box
    m = max(int(0.15 * min(w, h)), 2)
    inner = crop[y + m : y + h - m, x + m : x + w - m]
    if inner.size == 0:
        return None
    bg = [float(v) for v in np.median(inner.reshape(-1, 3), axis=0)]
    colour = cv2.copyMakeBorder(inner, 12, 12, 12, 12, cv2.BORDER_CONSTANT, value=bg)
    g = cv2.cvtColor(inner, cv2.COLOR_BGR2GRAY)
    _, bw = cv2.threshold(g, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
    if np.count_nonzero(bw) > bw.size / 2:  # ink is the minority class
        bw = 255 - bw
    binary = cv2.cvtColor(
        cv2.copyMakeBorder(255 - bw, 12, 12, 12, 12, cv2.BORDER_CONSTANT, value=255), cv2.COLOR_GRAY2BGR
    )
    best: tuple[str, float] | None = None
    for text, score in engine.recognise([colour, binary]):
        text = "".join(ch for ch in unicodedata.normalize("NFKC", text) if ch.isalnum())
        # A check box holds a digit: a lone round O there is the 0 (the recogniser's o/O).
        text = "0" if text in ("o", "O") else text
        if len(text) == 1 and (best is None or score > best[1]):
            best = (text, score)
    return best
