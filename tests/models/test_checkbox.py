"""The check digit in its box after the serial (checkbox.py), on synthesised serial lines."""

import cv2
import numpy as np
import pytest
from PIL import Image, ImageDraw

from kakou.models.checkbox import read_boxed_digit
from kakou.models.container import ContainerReader
from kakou.models.ocr import OcrEngine, TextLine, shared_engine
from kakou.sim.fonts import latin_font
from kakou.sim.render import render_container_scene

PAINT = (70, 70, 75)
INK = (235, 235, 235)


def serial_line(serial: str, check: str | None, size: int, box: str) -> tuple[np.ndarray, TextLine]:
    """A serial in white on dark paint with its check digit in a box drawn as liners paint it:
    `thin` a one-pixel outline as tight as the digit (narrower than a square box), `filled` an
    ink block with the digit cut out. The TextLine is the detector's box of the serial alone."""
    img = Image.new("RGB", (size * 12, size * 3), PAINT)
    d = ImageDraw.Draw(img)
    font = latin_font(size)
    d.text((size, size), serial, font=font, fill=INK)
    left, top, right, bottom = d.textbbox((size, size), serial, font=font)
    if check is not None:
        cx = right + size // 2
        cl, ct, cr, cb = d.textbbox((cx, size), check, font=font)
        pad = max(size // 10, 2)
        if box == "filled":
            d.rectangle((cl - pad, ct - pad, cr + pad, cb + pad), fill=INK)
            d.text((cx, size), check, font=font, fill=PAINT)
        elif box == "faint":
            # A square outline in a third of the digit's contrast (worn paint, a dim camera):
            # global thresholds see the digit and the serial, not the outline.
            d.text((cx, size), check, font=font, fill=INK)
            faint = tuple(int(p + 0.3 * (i - p)) for p, i in zip(PAINT, INK, strict=True))
            side = max(cb - ct, cr - cl) + 2 * pad
            mid = (cl + cr) // 2
            d.rectangle((mid - side // 2, ct - pad, mid + side // 2, ct - pad + side), outline=faint, width=2)
        else:
            d.text((cx, size), check, font=font, fill=INK)
            d.rectangle((cl - pad, ct - pad, cr + pad, cb + pad), outline=INK, width=1)
    frame = cv2.cvtColor(np.array(img), cv2.COLOR_RGB2BGR)
    m = 0.15 * (bottom - top)
    corners = ((left - 2, top - m), (right + 2, top - m), (right + 2, bottom + m), (left - 2, bottom + m))
    return frame, TextLine(corners, serial, 0.99)


@pytest.fixture(scope="module")
def engine() -> OcrEngine:
    return shared_engine()


@pytest.mark.parametrize("box", ["thin", "filled"])
@pytest.mark.parametrize(("serial", "check", "size"), [("610330", "1", 12), ("270501", "8", 14), ("123456", "5", 18)])
def test_small_thin_and_filled_check_boxes_are_read(
    engine: OcrEngine, serial: str, check: str, size: int, box: str
) -> None:
    # Characters 9-14 px high: the size of a code on a door across a 640 px frame.
    frame, line = serial_line(serial, check, size, box)
    found = read_boxed_digit(engine, frame, line)
    # Read with the confidence the lane acts on (the interior read alone scored 0.6-0.8).
    assert found is not None and found[0] == check and found[1] >= 0.85


@pytest.mark.parametrize(("serial", "check", "size"), [("708333", "7", 22), ("270501", "8", 30)])
def test_a_faint_check_box_outline_is_found_and_its_digit_read(
    engine: OcrEngine, serial: str, check: str, size: int
) -> None:
    frame, line = serial_line(serial, check, size, "faint")
    found = read_boxed_digit(engine, frame, line)
    assert found is not None and found[0] == check


@pytest.mark.parametrize(("serial", "size"), [("270508", 14), ("123450", 22)])
def test_no_box_after_the_serial_gives_no_check_digit(engine: OcrEngine, serial: str, size: int) -> None:
    # The serial's own last digit (a bold 8 or 0) is not taken for a check box.
    frame, line = serial_line(serial, None, size, "thin")
    assert read_boxed_digit(engine, frame, line) is None


@pytest.mark.parametrize(("code", "seed"), [("CSQU3054383", 3), ("TEMU3108252", 7)])
def test_container_with_a_filled_check_box_is_read(code: str, seed: int) -> None:
    r = ContainerReader().read(render_container_scene(code, seed=seed, check_box="filled"))
    assert (r.text, r.valid) == (code, True)
