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


def line_crop(frame: np.ndarray, line: TextLine, extend: float) -> np.ndarray:
    """The line's quadrilateral, rectified, stretched `extend` line-heights to the right and
    padded a little vertically (the check box is taller than the characters)."""
    tl, tr, br, bl = (np.array(p, dtype=np.float32) for p in line.box)
    h = max(float(np.linalg.norm(bl - tl)), 1.0)
    v = (tr - tl) / max(float(np.linalg.norm(tr - tl)), 1.0)
    n = (bl - tl) / h
    pad = 0.2 * h
    ext = v * extend * h
    src = np.array([tl - n * pad, tr + ext - n * pad, br + ext + n * pad, bl + n * pad], dtype=np.float32)
    w = int(np.linalg.norm(src[1] - src[0]))
    hh = int(np.linalg.norm(src[3] - src[0]))
    if w < 8 or hh < 8:
        return np.zeros((0, 0, 3), np.uint8)
    dst = np.array([[0, 0], [w, 0], [w, hh], [0, hh]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(src, dst)
    return cv2.warpPerspective(frame, m, (w, hh), flags=cv2.INTER_CUBIC, borderMode=cv2.BORDER_REPLICATE)


def _hollow_boxes(crop: np.ndarray) -> list[tuple[int, int, int, int]]:
    """Rectangles whose inside is mostly a hole: a box outline, not a filled glyph like '8'."""
    g = cv2.cvtColor(crop, cv2.COLOR_BGR2GRAY)
    h = crop.shape[0]
    found: list[tuple[int, int, int, int]] = []
    for flag in (cv2.THRESH_BINARY, cv2.THRESH_BINARY_INV):  # light-on-dark or dark-on-light paint
        _, bw = cv2.threshold(g, 0, 255, flag + cv2.THRESH_OTSU)
        contours, hier = cv2.findContours(bw, cv2.RETR_CCOMP, cv2.CHAIN_APPROX_SIMPLE)
        if hier is None:
            continue
        for i, c in enumerate(contours):
            if hier[0][i][3] != -1:  # only outer contours
                continue
            x, y, w, hh = cv2.boundingRect(c)
            # The box is squarer than any digit (a bold '0' is ~0.6 as wide as tall).
            if hh < 0.5 * h or not 0.68 * hh <= w <= 1.3 * hh:
                continue
            # The digit often touches the thin outline and splits the hole; count all of it.
            hole = sum(cv2.contourArea(contours[j]) for j in _siblings(hier, hier[0][i][2]))
            if hole >= 0.3 * w * hh:
                found.append((x, y, w, hh))
    return found


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
    boxes = [b for b in _hollow_boxes(crop) if b[0] > line_w * 0.4 and b[0] + b[2] < crop.shape[1] - 1]
    if not boxes:
        return None
    x, y, w, h = min(boxes, key=lambda b: b[0])  # the first whole box after the serial
    # Best: erase the outline and read the line with the digit in it. PP-OCR is poor at a lone
    # character (a clean bold 2 comes back as N) but reads it fine after the serial.
    ring = max(int(0.09 * min(w, h)), 2)
    bg = [float(v) for v in np.median(crop[y + ring : y + h - ring, x + ring : x + w - ring].reshape(-1, 3), axis=0)]
    line_img = crop[:, : min(x + w + h // 2, crop.shape[1])].copy()
    inner_keep = line_img[y + ring : y + h - ring, x + ring : x + w - ring].copy()
    cv2.rectangle(line_img, (x - 1, y - 1), (x + w, y + h), bg, thickness=ring + 2)
    line_img[y + ring : y + h - ring, x + ring : x + w - ring] = inner_keep
    ((text, score),) = engine.recognise([line_img])
    flat = "".join(ch for ch in unicodedata.normalize("NFKC", text) if ch.isalnum())
    if len(flat) >= 11 and flat[-1].isdigit():
        return flat[-1], score
    # Otherwise the interior alone, in two renderings; the better-scoring single character
    # wins: padded with the paint colour (a replicated border would smear a stroke touching
    # the edge into extra strokes), and a black-on-white Otsu binarisation without the ribs.
    m = max(int(0.15 * min(w, h)), 2)
    inner = crop[y + m : y + h - m, x + m : x + w - m]
    if inner.size == 0:
        return None
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
        if len(text) == 1 and (best is None or score > best[1]):
            best = (text, score)
    return best
