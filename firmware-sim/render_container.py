"""Container door (rear view) with its ISO 6346 marking, drawn flat; render.py adds the camera."""

from __future__ import annotations

import numpy as np
from PIL import Image, ImageDraw

from kakou.sim.fonts import latin_font

RGB = tuple[int, int, int]
# Liner colours: dark ones carry white marking, light ones black.
_PALETTE: tuple[tuple[RGB, RGB], ...] = (
    ((38, 92, 150), (245, 245, 245)),  # blue
    ((150, 40, 35), (245, 245, 245)),  # red
    ((40, 110, 70), (245, 245, 245)),  # green
    ((200, 200, 195), (20, 20, 20)),  # grey
    ((225, 120, 30), (20, 20, 20)),  # orange
    ((70, 70, 75), (245, 245, 245)),  # dark grey
)


LAYOUTS = ("one_row", "two_row", "vertical", "vertical_sticker")
_STICKER: tuple[RGB, RGB] = ((236, 236, 228), (25, 25, 25))  # a light sticker strip, black print
# How the check digit is boxed: a square outline (ISO 6346's drawing), a condensed outline as
# tight as the digit and thin (as many liners paint it), or a filled ink block with the digit
# in the container's paint.
CHECK_BOXES = ("outline", "narrow", "filled")


def split_code(code: str) -> tuple[str, str, str]:
    """'MSKU1234565' or 'MSKU 123456 5' -> ('MSKU', '123456', '5')."""
    flat = "".join(code.split())
    if len(flat) != 11:
        raise ValueError(f"container code must have 11 characters, got {code!r}")
    return flat[:4], flat[4:10], flat[10]


def _text(d: ImageDraw.ImageDraw, xy: tuple[int, int], s: str, size: int, fill: RGB) -> tuple[int, int]:
    """Draw and return the right/bottom edge of the drawn ink."""
    font = latin_font(size)
    d.text(xy, s, font=font, fill=fill)
    box = d.textbbox(xy, s, font=font)
    return int(box[2]), int(box[3])  # ints already, from a TrueType font


def door_image(
    code: str,
    size_type: str,
    width: int,
    height: int,
    rng: np.random.Generator | None,
    layout: str = "one_row",
    check_box: str = "outline",
) -> Image.Image:
    """Two doors with ribs and lock rods; the code sits top right of the right-hand door.
    `layout` "one_row": owner, serial and boxed check digit on one line, size/type below;
    "two_row": owner above serial and check digit, size/type under them (three rows, as many
    reefers and tanks are marked); "vertical": one character per row down the right-hand door's
    edge, the check digit boxed at the bottom (corner posts, narrow panels); "vertical_sticker":
    the same printed black on a light sticker strip stuck on the door, whatever its paint (a
    dark door then carries a light column). `check_box`: one of CHECK_BOXES (horizontal
    layouts)."""
    if layout not in LAYOUTS:
        raise ValueError(f"layout must be one of {LAYOUTS}, got {layout!r}")
    if check_box not in CHECK_BOXES:
        raise ValueError(f"check_box must be one of {CHECK_BOXES}, got {check_box!r}")
    owner, serial, check = split_code(code)
    body, ink = _PALETTE[0] if rng is None else _PALETTE[int(rng.integers(len(_PALETTE)))]
    img = Image.new("RGB", (width, height), body)
    d = ImageDraw.Draw(img)
    # Corrugation: alternating light/dark vertical ribs.
    rib = max(width // 40, 8)
    shade = tuple(max(c - 25, 0) for c in body)
    light = tuple(min(c + 15, 255) for c in body)
    for x in range(0, width, rib * 2):
        d.rectangle((x, 0, x + rib // 3, height), fill=shade)
        d.rectangle((x + rib, 0, x + rib + rib // 4, height), fill=light)
    # Door seam and frame.
    mid = width // 2
    d.rectangle((mid - 4, 0, mid + 4, height), fill=(30, 30, 30))
    d.rectangle((0, 0, width, height // 30), fill=shade)
    d.rectangle((0, height - height // 30, width, height), fill=shade)
    # Lock rods with handles; they cross the lower half only so the marking stays clear.
    for fx in (0.12, 0.37, 0.63, 0.88):
        x = int(width * fx)
        d.rectangle((x - 5, int(height * 0.45), x + 5, height), fill=(120, 120, 120))
        d.rectangle((x - 20, int(height * 0.7), x + 20, int(height * 0.7) + 12), fill=(90, 90, 90))

    if layout in ("vertical", "vertical_sticker"):
        sticker = _STICKER if layout == "vertical_sticker" else None
        _vertical_code(d, owner + serial, check, width, height, ink, rng, sticker)
        return img
    size = int(height * 0.075) if rng is None else int(height * rng.uniform(0.06, 0.085))
    x0 = int(width * 0.56) if rng is None else int(width * rng.uniform(0.53, 0.6))
    y0 = int(height * 0.12) if rng is None else int(height * rng.uniform(0.08, 0.18))
    gap = size // 2
    # Paint is on the door, not beyond it: a long code drawn at a far-right start is moved left
    # so the check box ends inside the leaf (the camera may still cut it when the truck stands
    # off-centre; render.py shifts the whole door for that).
    font = latin_font(size)
    span = sum(d.textlength(t, font=font) for t in (owner, serial, check)) + 2 * gap + size // 6 + 3
    x0 = max(min(x0, int(width * 0.98 - span)), mid + 12)
    right, bottom = _text(d, (x0, y0), owner, size, ink)
    sy = y0
    if layout == "two_row":
        right, sy = x0 - gap, bottom + size // 3
    right, bottom = _text(d, (right + gap, sy), serial, size, ink)
    cx = right + gap
    # ISO 6346 shows the check digit boxed.
    pad = size // 6
    if check_box == "filled":
        left, top, cright, cbottom = d.textbbox((cx, sy), check, font=font)
        d.rectangle((left - pad, top - pad, cright + pad, cbottom + pad), fill=ink)
        _text(d, (cx, sy), check, size, body)
    else:
        cright, cbottom = _text(d, (cx, sy), check, size, ink)
        if check_box == "narrow":
            left, top, _, _ = d.textbbox((cx, sy), check, font=font)
            hp = max(size // 14, 2)
            d.rectangle((left - hp, top - hp, cright + hp, cbottom + hp), outline=ink, width=max(size // 24, 1))
        else:
            d.rectangle((cx - pad, sy + size // 8, cright + pad, cbottom + size // 8), outline=ink, width=3)
    tx = x0 if layout == "two_row" else x0 + size * 3
    _text(d, (tx, bottom + size // 2), size_type, size, ink)

    # Other door markings: realistic distractors the reader must not mistake for the code.
    small = max(size // 3, 10)
    y = int(height * 0.15)
    for line in ("MAX. GROSS 32,500 KG", "          71,650 LB", "TARE       3,750 KG", "NET       28,750 KG"):
        _text(d, (int(width * 0.08), y), line, small, ink)
        y += int(small * 1.5)
    return img


def _vertical_code(
    d: ImageDraw.ImageDraw,
    chars: str,
    check: str,
    width: int,
    height: int,
    ink: RGB,
    rng: np.random.Generator | None,
    sticker: tuple[RGB, RGB] | None = None,
) -> None:
    """Owner, category and serial one per row near the right edge, then the boxed check digit;
    with `sticker` (paper, print), on a strip of that paper just wider than the widest letter."""
    size = int(height * 0.058) if rng is None else int(height * rng.uniform(0.05, 0.062))
    x = int(width * 0.93) if rng is None else int(width * rng.uniform(0.9, 0.94))
    y = int(height * 0.08)
    font = latin_font(size)
    if sticker is not None:
        paper, ink = sticker
        half = max(int(d.textlength(ch, font=font)) for ch in chars + check) // 2 + size // 10
        bottom = y + int(size * 1.18) * len(chars) + size + size // 3
        d.rectangle((x - half, y - size // 4, x + half, bottom), fill=paper)
    for ch in chars:
        cx = x - int(d.textlength(ch, font=font)) // 2
        d.text((cx, y), ch, font=font, fill=ink)
        y += int(size * 1.18)
    cx = x - int(d.textlength(check, font=font)) // 2
    d.text((cx, y), check, font=font, fill=ink)
    box = d.textbbox((cx, y), check, font=font)
    pad = size // 6
    d.rectangle((box[0] - pad, box[1] - pad, box[2] + pad, box[3] + pad), outline=ink, width=3)
