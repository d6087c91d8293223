"""Plate bitmaps laid out after GA 36 proportions (1 px = 1 mm at scale 1).

Each kind returns an RGB PIL image of the bare plate; scene composition and camera effects live
in render.py.
"""

from __future__ import annotations

from functools import lru_cache

import cv2
import numpy as np
from PIL import Image, ImageDraw

from kakou.sim.fonts import cjk_font, latin_font

PLATE_KINDS = ("blue", "yellow", "green", "double_yellow", "latin")

RGB = tuple[int, int, int]
_BLUE: RGB = (18, 62, 170)
_YELLOW: RGB = (240, 190, 20)
_WHITE: RGB = (245, 245, 245)
_BLACK: RGB = (15, 15, 15)


def _is_cjk(ch: str) -> bool:
    return ord(ch) > 0x2E80


@lru_cache(maxsize=512)
def glyph_mask(ch: str, w: int, h: int) -> Image.Image:
    """Ink of one character stretched into a w x h box (plate fonts are tall and narrow)."""
    font = cjk_font(160) if _is_cjk(ch) else latin_font(160)
    canvas = Image.new("L", (240, 240), 0)
    ImageDraw.Draw(canvas).text((20, 10), ch, font=font, fill=255)
    box = canvas.getbbox()
    if box is None:
        return Image.new("L", (w, h), 0)
    ink = canvas.crop(box)
    iw, ih = ink.size
    if _is_cjk(ch):
        out_w, out_h = w, h
    else:
        # Keep narrow glyphs (1, I) narrow instead of stretching them into blocks.
        out_h = h
        out_w = min(w, max(int(iw * h / ih * 1.25), h // 6))
    ink = ink.resize((max(out_w, 1), max(out_h, 1)), Image.Resampling.LANCZOS)
    mask = Image.new("L", (w, h), 0)
    mask.paste(ink, ((w - out_w) // 2, (h - out_h) // 2))
    return mask


def _draw_chars(img: Image.Image, chars: str, xs: list[int], y: int, w: int, h: int, color: RGB) -> None:
    solid = Image.new("RGB", (w, h), color)
    for ch, x in zip(chars, xs, strict=True):
        img.paste(solid, (x, y), glyph_mask(ch, w, h))


def _frame(img: Image.Image, color: RGB, inset: int = 5, width: int = 3) -> None:
    d = ImageDraw.Draw(img)
    W, H = img.size
    d.rounded_rectangle((inset, inset, W - inset - 1, H - inset - 1), radius=10, outline=color, width=width)


def _rivets(img: Image.Image, color: RGB, xs: tuple[int, ...], y: int) -> None:
    d = ImageDraw.Draw(img)
    for x in xs:
        d.ellipse((x - 5, y - 5, x + 5, y + 5), fill=color, outline=(90, 90, 90))


def _single_row(text: str, bg: RGB, fg: RGB) -> Image.Image:
    """Standard 7-character plate: 440 x 140, chars 45 x 90, dot between 2nd and 3rd."""
    img = Image.new("RGB", (440, 140), bg)
    _frame(img, fg)
    xs = [15, 72]
    x = 72 + 45 + 34  # the separator gap
    for _ in range(5):
        xs.append(x)
        x += 45 + 12
    _draw_chars(img, text, xs, 25, 45, 90, fg)
    d = ImageDraw.Draw(img)
    d.ellipse((126, 64, 136, 74), fill=fg)
    _rivets(img, bg, (100, 340), 14)
    return img


def _green(text: str) -> Image.Image:
    """New-energy plate: 480 x 140, 8 chars 43 x 90, white-to-green gradient, black text."""
    W, H = 480, 140
    t = np.linspace(0.0, 1.0, H)[:, None]
    top, bottom = np.array([236, 248, 236]), np.array([70, 190, 100])
    rows = (top * (1 - t) + bottom * t).astype(np.uint8)
    img = Image.fromarray(np.repeat(rows[:, None, :], W, axis=1), "RGB")
    _frame(img, (40, 40, 40), width=2)
    xs = [15, 69]
    x = 69 + 43 + 30
    for _ in range(6):
        xs.append(x)
        x += 43 + 9
    _draw_chars(img, text, xs, 25, 43, 90, _BLACK)
    ImageDraw.Draw(img).ellipse((118, 64, 126, 72), fill=_BLACK)
    return img


def _double_yellow(text: str) -> Image.Image:
    """Rear plate of a heavy vehicle: 440 x 220, top row province+letter, bottom row 5 chars."""
    img = Image.new("RGB", (440, 220), _YELLOW)
    _frame(img, _BLACK)
    _draw_chars(img, text[:2], [110, 250], 15, 80, 60, _BLACK)
    _draw_chars(img, text[2:7], [27 + i * (65 + 15) for i in range(5)], 90, 65, 110, _BLACK)
    return img


def _latin(text: str) -> Image.Image:
    """Plain Latin plate (e.g. a Hong Kong front plate): white, black text, width by length."""
    n = len(text)
    cw, gap = 52, 10
    W = max(300, 40 + n * (cw + gap))
    img = Image.new("RGB", (W, 130), _WHITE)
    _frame(img, _BLACK)
    x0 = (W - (n * cw + (n - 1) * gap)) // 2
    _draw_chars(img, text, [x0 + i * (cw + gap) for i in range(n)], 22, cw, 86, _BLACK)
    return img


def plate_image(text: str, kind: str) -> Image.Image:
    """The bare plate for `text` (no separators) in the given kind."""
    if kind not in PLATE_KINDS:
        raise ValueError(f"unknown plate kind {kind!r}; expected one of {PLATE_KINDS}")
    expected = {"blue": 7, "yellow": 7, "double_yellow": 7, "green": 8}
    if kind in expected and len(text) != expected[kind]:
        raise ValueError(f"{kind} plate needs {expected[kind]} characters, got {text!r}")
    if kind == "blue":
        return _single_row(text, _BLUE, _WHITE)
    if kind == "yellow":
        return _single_row(text, _YELLOW, _BLACK)
    if kind == "green":
        return _green(text)
    if kind == "double_yellow":
        return _double_yellow(text)
    return _latin(text)


CROP_SIZE = (94, 24)  # w, h: the plate crops CCPD-style cameras deliver


def plate_crop(text: str, kind: str = "blue", size: tuple[int, int] = CROP_SIZE) -> np.ndarray:
    """The bare plate as a BGR image of `size` (w, h): a crop camera's tight cut-out."""
    bgr = np.ascontiguousarray(np.asarray(plate_image(text, kind))[..., ::-1])
    return cv2.resize(bgr, size, interpolation=cv2.INTER_AREA)
