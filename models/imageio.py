"""Turn whatever a camera or a file gives us into a BGR uint8 frame, or say clearly why not."""

from __future__ import annotations

import io
from pathlib import Path

import cv2
import numpy as np
from PIL import Image

MIN_SIDE = 16  # smaller than this cannot hold a legible plate
MAX_SIDE = 1920  # larger frames are downscaled: detection runs at <=960 anyway
MAX_PIXELS = 100_000_000  # refuse decompression bombs before allocating them
MAX_FILE_BYTES = 64 * 1024 * 1024


class ImageError(ValueError):
    """The input is not a usable image (corrupt, empty, wrong shape, absurd size)."""


def decode_image(data: bytes) -> np.ndarray:
    """Decode JPEG/PNG/... bytes to BGR; ImageError if corrupt or oversized."""
    if not data:
        raise ImageError("empty image data")
    if len(data) > MAX_FILE_BYTES:
        raise ImageError(f"image file too large ({len(data)} bytes > {MAX_FILE_BYTES})")
    buf = np.frombuffer(data, np.uint8)
    # Check dimensions from the header first so a crafted 60000x60000 PNG is not decoded.
    try:
        with Image.open(io.BytesIO(data)) as im:
            w, h = im.size
    except Exception as exc:  # PIL raises many types for garbage; all mean "not an image"
        raise ImageError(f"not a decodable image ({type(exc).__name__})") from exc
    if w * h > MAX_PIXELS:
        raise ImageError(f"image too large ({w}x{h} pixels)")
    frame = cv2.imdecode(buf, cv2.IMREAD_COLOR)
    if frame is None:
        raise ImageError("not a decodable image (OpenCV could not decode it)")
    return frame


def load_image(path: str | Path) -> np.ndarray:
    p = Path(path)
    try:
        data = p.read_bytes()
    except OSError as exc:
        raise ImageError(f"cannot read {p}: {exc.strerror or exc}") from exc
    return decode_image(data)


def as_frame(image: object, deinterlace: bool = True) -> np.ndarray:
    """Validate and coerce to a BGR uint8 array no larger than MAX_SIDE on its long side, an
    interlaced frame's comb put right (`deinterlaced`; `deinterlace=False`: as the camera gave it)."""
    if not isinstance(image, np.ndarray):
        raise ImageError(f"expected a numpy image, got {type(image).__name__}")
    img = image
    if img.size == 0:
        raise ImageError("empty image")
    if img.ndim == 3 and img.shape[2] == 1:
        img = img[..., 0]
    if img.ndim == 2:
        img = cv2.cvtColor(_to_uint8(img), cv2.COLOR_GRAY2BGR)
    elif img.ndim == 3 and img.shape[2] == 4:
        img = cv2.cvtColor(_to_uint8(img), cv2.COLOR_BGRA2BGR)
    elif not (img.ndim == 3 and img.shape[2] == 3):
        raise ImageError(f"unsupported image shape {image.shape}")
    img = _to_uint8(img)
    h, w = img.shape[:2]
    if min(h, w) < MIN_SIDE:
        raise ImageError(f"image too small ({w}x{h}); need at least {MIN_SIDE} px per side")
    if deinterlace:
        img = deinterlaced(img)  # before any scaling, which would blur the comb into the characters
    if max(h, w) > MAX_SIDE:
        s = MAX_SIDE / max(h, w)
        img = cv2.resize(img, (max(int(w * s), 1), max(int(h * s), 1)), interpolation=cv2.INTER_AREA)
    return np.ascontiguousarray(img)


# Interlaced video (an analogue camera through a DVR or an encoder): the even and the odd rows are
# two fields exposed 1/50 s apart, so whatever moved between them is combed, each of its vertical
# edges a row-by-row zigzag that breaks every character on a passing vehicle (dev plates with their
# fields 3 px apart: 52 of 87 read). The comb is a row differing from the rows above and below it
# (the other field) far more than from its own field's rows two above and below: a block where
# |2g(y) - g(y-1) - g(y+1)| is COMB_RATIO times |2g(y) - g(y-2) - g(y+2)| and at least COMB_FLOOR
# grey levels. Progressive detail does not do that (a step or a thin line gives at most as much to
# the first as to the second; only a pattern alternating row by row, which a lens barely
# resolves, does). Dev frames as they are: at most 6 of their blocks and 0.5 % of any frame's.
COMB_BLOCK = 16  # px (the green channel, every second column: ~3 ms on 1920 x 1424)
COMB_FLOOR = 8
COMB_RATIO = 2.0
COMB_MIN_BLOCKS = 8
# A cut-out (a plate crop, ~24-48 px high) was cut, and mostly rescaled, by something else: its rows
# are not a camera's fields. Frames under COMB_MIN_ROWS block rows are left as they are (field plate
# crops with fields 8 px apart: nothing read either way, but rebuilt, 3 of 14 reads wrong).
COMB_MIN_ROWS = 4
COMB_MIN_SHARE = 0.01  # of the frame's blocks: a moving vehicle in a fixed camera's view combs more
_NEXT_ROWS = np.array([[-1], [2], [-1]], np.float32)
_FIELD_ROWS = np.array([[-1], [0], [2], [0], [-1]], np.float32)


def combed_blocks(frame: np.ndarray) -> np.ndarray:
    """The COMB_BLOCK-px blocks (a boolean grid, the frame's last partial blocks left out) whose
    rows are combed: interlaced fields of something that moved between them."""
    g = np.ascontiguousarray(frame[:, ::2, 1])
    rows, cols = g.shape[0] // COMB_BLOCK, g.shape[1] // (COMB_BLOCK // 2)
    if rows == 0 or cols == 0:
        return np.zeros((rows, cols), bool)
    area = (slice(0, rows * COMB_BLOCK), slice(0, cols * (COMB_BLOCK // 2)))

    def block_means(kernel: np.ndarray) -> np.ndarray:
        d = cv2.convertScaleAbs(cv2.filter2D(g, cv2.CV_16S, kernel))[area]
        return cv2.resize(d, (cols, rows), interpolation=cv2.INTER_AREA).astype(np.float32)

    across, within = block_means(_NEXT_ROWS), block_means(_FIELD_ROWS)
    result: np.ndarray = (across >= COMB_FLOOR) & (across >= COMB_RATIO * within)
    return result


# A vehicle sliding across the view (a side camera: a truck at 10 km/h moves ~6 cm between the
# fields, 8-10 px at D1) or down it (a front camera) shows the odd field the same scene moved:
# moved back, the two fields weave into a whole frame again (full vertical detail, which a small
# plate needs). The move is searched up to WEAVE_MAX px along the rows and 0 or 2 rows up or down
# on every WEAVE_ROWS-th row of the combed area, and taken only where it matches the even field
# at least WEAVE_GAIN times better than none. Whatever it does not put right (a vehicle coming
# closer also grows; the still background beside it) is then built from the even field alone,
# each odd row the mean of the rows above and below.
WEAVE_MAX = 16
WEAVE_ROWS = 8
WEAVE_GAIN = 0.6


def deinterlaced(frame: np.ndarray) -> np.ndarray:
    """The frame with its combed blocks put right: the odd field moved back where one move
    explains the comb, the rest of the comb (and the blocks around it) built from the
    even field; what stood still between the fields is left as it is. A frame with fewer combed
    blocks than COMB_MIN_SHARE of them or than COMB_MIN_BLOCKS, or under COMB_MIN_ROWS blocks
    high, is returned as it is (the same array). ~4 ms at D1, 20-35 ms at 1920 px."""
    combed = interlacing(frame)
    if combed is None:
        return frame
    near = _around(combed, frame.shape)
    if (slide := _slide(frame, near)) != (0, 0):
        # The move holds for the whole moving thing, its flat parts too (no comb shows there):
        # weave the box around everything combed, then look again.
        ys, xs = np.flatnonzero(near.any(axis=1)), np.flatnonzero(near.any(axis=0))
        box = np.zeros_like(near)
        box[ys[0] : ys[-1] + 1, xs[0] : xs[-1] + 1] = True
        frame = _woven(frame, box, slide)
        combed = combed_blocks(frame)
        if not combed.any():
            return frame
        near = _around(combed, frame.shape)
    return _bobbed(frame, near)


def interlacing(frame: np.ndarray) -> np.ndarray | None:
    """The combed blocks (combed_blocks) if the frame counts as interlaced: at least
    COMB_MIN_SHARE of its blocks and COMB_MIN_BLOCKS, at least COMB_MIN_ROWS blocks high."""
    combed = combed_blocks(frame)
    n = int(combed.sum())
    if combed.shape[0] < COMB_MIN_ROWS or n < max(COMB_MIN_BLOCKS, COMB_MIN_SHARE * combed.size):
        return None
    return combed


def _around(blocks: np.ndarray, shape: tuple[int, ...]) -> np.ndarray:
    """The pixels of the blocks and of the blocks around them (the last partial blocks of the
    frame as their neighbours)."""
    h, w = shape[:2]
    near = cv2.dilate(blocks.astype(np.uint8), np.ones((3, 3), np.uint8))
    mask = np.repeat(np.repeat(near, COMB_BLOCK, axis=0), COMB_BLOCK, axis=1)[:h, :w]
    return np.pad(mask, ((0, h - mask.shape[0]), (0, w - mask.shape[1])), mode="edge").astype(bool)


def _between(frame: np.ndarray) -> np.ndarray:
    """For each odd row, the mean of the even rows above and below it (the last: the one above)."""
    field = np.ascontiguousarray(frame[0::2])
    below = np.concatenate([field[1:], field[-1:]])
    return np.asarray(cv2.addWeighted(field, 0.5, below, 0.5, 0.0))[: frame.shape[0] // 2]


def _bobbed(frame: np.ndarray, mask: np.ndarray) -> np.ndarray:
    return _with_odd_rows(frame, _between(frame), mask)


def _woven(frame: np.ndarray, mask: np.ndarray, slide: tuple[int, int]) -> np.ndarray:
    h, w = frame.shape[:2]
    back = np.array([[1, 0, -slide[0]], [0, 1, -slide[1] // 2]], np.float32)
    odd = np.ascontiguousarray(frame[1::2])
    slid = cv2.warpAffine(odd, back, (w, h // 2), flags=cv2.INTER_NEAREST, borderMode=cv2.BORDER_REPLICATE)
    return _with_odd_rows(frame, slid, mask)


def _with_odd_rows(frame: np.ndarray, odd: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """A copy of the frame whose odd rows are `odd` inside `mask`."""
    rows = np.ascontiguousarray(frame[1::2])
    cv2.copyTo(np.ascontiguousarray(odd), mask[1::2].astype(np.uint8), rows)
    out = frame.copy()
    out[1::2] = rows
    return out


def field_slide(frame: np.ndarray, combed: np.ndarray) -> tuple[int, int]:
    """How far (px along the rows, rows down) the odd field shows the scene around the `combed`
    blocks moved since the even one: up to WEAVE_MAX along, 0 or 2 rows up or down (an odd
    number of rows puts the odd field on the even one's rows: nothing to weave); (0, 0) if no
    move matches clearly better than none."""
    return _slide(frame, _around(combed, frame.shape))


def _slide(frame: np.ndarray, near: np.ndarray) -> tuple[int, int]:
    """field_slide over the pixel mask `near` (the combed blocks and those around them)."""
    inside = near[1::2]
    rows = np.flatnonzero(inside.any(axis=1))[::WEAVE_ROWS]
    rows = rows[(rows >= 1) & (rows < frame.shape[0] // 2 - 1)]
    cols = np.flatnonzero(inside.any(axis=0))
    if len(rows) == 0 or len(cols) < 4 * WEAVE_MAX:
        return 0, 0
    x = slice(cols[0], cols[-1] + 1)
    even = _between(frame[: 2 * rows[-1] + 3])[rows, x, 1].astype(np.float32)
    span = even.shape[1]
    misfit = {}
    for k in (0, -1, 1):  # field rows: the scene moved 2k rows down
        odd = frame[1::2][rows + k, x, 1].astype(np.float32)
        for dx in range(-WEAVE_MAX, WEAVE_MAX + 1):
            a, b = max(0, dx), span + min(0, dx)
            misfit[dx, 2 * k] = float(np.mean(np.abs(odd[:, a:b:2] - even[:, a - dx : b - dx : 2])))
    best = min(misfit, key=misfit.__getitem__)
    return best if best != (0, 0) and misfit[best] < WEAVE_GAIN * misfit[0, 0] else (0, 0)


def is_blank(frame: np.ndarray) -> bool:
    """A uniform frame (lens cap, dead sensor, all-black night) has no text to look for."""
    # The standard deviation over all pixels and channels, from cv2's per-channel mean and
    # deviation (frame.std() took 30 ms on a 1920x1080 frame, this 1 ms).
    mean, dev = (v.ravel() for v in cv2.meanStdDev(frame))
    return float(np.sqrt(max(float(np.mean(dev**2 + mean**2) - np.mean(mean) ** 2), 0.0))) < 2.0


def equalise_light(frame: np.ndarray) -> np.ndarray:
    """Local contrast equalisation of lightness (CLAHE in Lab), colours kept: a plate in
    backlight, at night or in a cab's shadow regains the contrast its characters need."""
    lab = cv2.cvtColor(frame, cv2.COLOR_BGR2LAB)
    lab[:, :, 0] = cv2.createCLAHE(clipLimit=3.0, tileGridSize=(8, 8)).apply(lab[:, :, 0])
    return cv2.cvtColor(lab, cv2.COLOR_LAB2BGR)


def with_gamma(frame: np.ndarray, gamma: float) -> np.ndarray:
    """The frame with its lightness raised to `gamma` (> 1 darkens all but the brightest,
    < 1 brightens all but the darkest)."""
    lut = np.array([255.0 * (i / 255.0) ** gamma for i in range(256)]).clip(0, 255).astype(np.uint8)
    return cv2.LUT(frame, lut)


def percentile_u8(img: np.ndarray, q: float) -> float:
    """np.percentile(img, q) (linear interpolation) of a uint8 image from its histogram: the
    same value in 0.1 ms, where numpy partitions the whole image (2-3 ms at 640 px, a quarter of
    locating)."""
    cum = np.cumsum(cv2.calcHist([img], [0], None, [256], [0, 256]).ravel())
    rank = q / 100 * (img.size - 1)
    lo, hi = int(np.floor(rank)), int(np.ceil(rank))
    v_lo, v_hi = (float(np.searchsorted(cum, r, side="right")) for r in (lo, hi))
    return v_lo + (v_hi - v_lo) * (rank - lo)


def light_span(frame: np.ndarray, box: tuple[int, int, int, int]) -> tuple[float, float]:
    """The 1st and 99.5th percentiles of lightness inside `box` (x0, y0, x1, y1): the range
    its content uses, a few bright specks aside; the full range for an empty box."""
    x0, y0, x1, y1 = box
    if x1 <= x0 or y1 <= y0:
        return 0.0, 255.0
    gray = cv2.cvtColor(frame[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY)
    return percentile_u8(gray, 1.0), percentile_u8(gray, 99.5)


def stretched_within(frame: np.ndarray, box: tuple[int, int, int, int], span: tuple[float, float]) -> np.ndarray:
    """A copy of the frame whose `box` has the lightness range `span` stretched to the full
    range (every channel by the same map, so colours keep their hue)."""
    lo, hi = span
    lut = np.clip(np.rint((np.arange(256) - lo) * 255.0 / max(hi - lo, 1.0)), 0, 255).astype(np.uint8)
    x0, y0, x1, y1 = box
    out = frame.copy()
    out[y0:y1, x0:x1] = cv2.LUT(frame[y0:y1, x0:x1], lut)
    return out


# Fog, sea haze or a dirty camera window lay a light veil over the scene: nothing in the frame is
# dark any more and every contrast shrinks, and the recogniser, which normalises each crop alike,
# misreads (dev plates under a veil of half: 86 -> 82 of 87). A frame whose darkest 1 % is at
# least VEIL_FLOOR grey levels and whose lightness spans at most VEIL_SPAN (light_span: a veil
# of about half or thicker; a thinner one leaves the recogniser contrast enough) can be
# stretched back to the full range, every channel by the same map (a grey veil lifts each
# alike): the readers read it so when it gave nothing valid as it is (a stretch is not always
# better: a rendered code on a light sticker, stretched, no longer read). No dev frame is veiled
# (its darkest 1 %: 64 at most). Cut-outs under VEIL_FROM px are left as they are: a plate crop
# is light paint with no black in it.
VEIL_FLOOR = 90
VEIL_SPAN = 140
VEIL_MIN_SPAN = 8  # less is a flat frame (a blank sky, a lens cap): no scene to restore
VEIL_FROM = 320


def veil(frame: np.ndarray) -> tuple[float, float] | None:
    """The lightness span (light_span) of a veiled frame, else None."""
    h, w = frame.shape[:2]
    if max(h, w) < VEIL_FROM:
        return None
    lo, hi = light_span(frame, (0, 0, w, h))
    return (lo, hi) if lo >= VEIL_FLOOR and VEIL_MIN_SPAN <= hi - lo <= VEIL_SPAN else None


def unveiled(frame: np.ndarray) -> np.ndarray:
    """A veiled frame (veil) stretched to the full range; any other returned as it is."""
    span = veil(frame)
    if span is None:
        return frame
    h, w = frame.shape[:2]
    return stretched_within(frame, (0, 0, w, h), span)


# Motion blur along the rows or columns (a truck passing a side camera, or coming towards one
# above it): a box of BLUR_MIN..BLUR_MAX px.
# Its spectrum has zeros every width/length cycles, which the cepstrum shows as a dip at the
# length. Field dev frames blurred by 3+ px measured their length exactly (the 8 px of a 1920 px
# frame at every size); a blur of 3-5 px can go unseen, where it rarely stops a read. Periodic
# paint (corrugation) can look like a blur on a sharp frame (2 of 124 dev frames), so it is only
# ever a last attempt on a frame that read nothing else, and every read is checked as usual.
BLUR_MIN, BLUR_MAX = 3, 40
BLUR_DIP = -0.05
BLUR_ROWS = 270  # rows sampled for the spectrum (it is an average: all rows add nothing)
DEBLUR_NSR = 0.01  # Wiener noise-to-signal ratio: lower restores more and rings more


def motion_blur(frame: np.ndarray) -> tuple[int, int]:
    """(length in px, axis) of a motion blur seen on the frame: along the rows (axis 1, a
    vehicle crossing the view) or the columns (axis 0, one coming towards a camera above it);
    length 0 when none is seen."""
    gray = cv2.cvtColor(frame, cv2.COLOR_BGR2GRAY).astype(np.float32)
    best = (0, 1, BLUR_DIP)
    for axis, lines in ((1, gray), (0, gray.T)):
        if lines.shape[1] < 4 * BLUR_MAX:
            continue
        rows = lines[:: max(lines.shape[0] // BLUR_ROWS, 1)]
        rows = (rows - rows.mean(axis=1, keepdims=True)) * np.hanning(rows.shape[1]).astype(np.float32)
        spectrum = np.abs(np.fft.rfft(rows, axis=1)).mean(axis=0)
        dips = np.fft.irfft(np.log(spectrum + 1e-3))[BLUR_MIN : BLUR_MAX + 1]
        k = int(np.argmin(dips))
        if dips[k] < best[2]:
            best = (k + BLUR_MIN, axis, float(dips[k]))
    return best[0], best[1]


def deblurred(frame: np.ndarray, length: int, axis: int = 1) -> np.ndarray:
    """The frame with a motion blur of `length` px along `axis` undone: Wiener deconvolution
    of the lightness, line by line (colour is left as it is: only the characters' edges
    matter, and one channel costs a third); the ends padded by reflection so the FFT's
    wrap-around falls outside. ~25-40 ms on a 1920 x 1080 frame."""
    if axis == 0:
        return np.ascontiguousarray(
            deblurred(np.ascontiguousarray(frame.transpose(1, 0, 2)), length).transpose(1, 0, 2)
        )
    pad = 4 * length
    ycc = cv2.cvtColor(frame, cv2.COLOR_BGR2YCrCb)
    y = cv2.copyMakeBorder(ycc[:, :, 0], 0, 0, pad, pad, cv2.BORDER_REFLECT).astype(np.float32)
    w = y.shape[1]
    kernel = np.zeros(w, np.float32)
    kernel[np.arange(length) - length // 2] = 1.0 / length  # centred on 0, wrapping round
    h = np.fft.rfft(kernel)
    inverse = (np.conj(h) / (np.abs(h) ** 2 + DEBLUR_NSR)).astype(np.complex64)
    sharp = np.fft.irfft(np.fft.rfft(y, axis=1) * inverse, n=w, axis=1)[:, pad : w - pad]
    ycc[:, :, 0] = np.clip(np.rint(sharp), 0, 255).astype(np.uint8)
    return cv2.cvtColor(ycc, cv2.COLOR_YCrCb2BGR)


def turned(frame: np.ndarray, degrees: float, interpolation: int = cv2.INTER_LINEAR) -> np.ndarray:
    """The frame turned about its centre by `degrees` (counter-clockwise), its size kept and the
    corners filled from its edge."""
    h, w = frame.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), degrees, 1.0)
    out: np.ndarray = cv2.warpAffine(frame, m, (w, h), flags=interpolation, borderMode=cv2.BORDER_REPLICATE)
    return out


def enlarged(frame: np.ndarray, long_side: int) -> np.ndarray:
    """The frame scaled (bicubic) so that its longer side is `long_side` px."""
    h, w = frame.shape[:2]
    f = long_side / max(h, w)
    return cv2.resize(frame, (round(w * f), round(h * f)), interpolation=cv2.INTER_CUBIC)


def _to_uint8(img: np.ndarray) -> np.ndarray:
    if img.dtype == np.uint8:
        return img
    if img.dtype == bool:
        return img.astype(np.uint8) * 255
    if np.issubdtype(img.dtype, np.floating):
        finite = np.nan_to_num(img.astype(np.float32), nan=0.0, posinf=0.0, neginf=0.0)
        scale = 255.0 if finite.max(initial=0.0) <= 1.0 else 1.0
        scaled: np.ndarray = np.clip(finite * scale, 0, 255).astype(np.uint8)
        return scaled
    if img.dtype == np.uint16:  # 16-bit sensors: keep the top byte
        return (img >> 8).astype(np.uint8)
    if np.issubdtype(img.dtype, np.integer):
        clipped: np.ndarray = np.clip(img, 0, 255).astype(np.uint8)
        return clipped
    raise ImageError(f"unsupported pixel type {img.dtype}")
