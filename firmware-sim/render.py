"""Camera frames for the simulator: truck fronts with plates and container doors with codes.

`seed=None` gives a clean, head-on, well-lit frame; an integer seed draws the scene and the
camera effects (perspective, blur, noise, lighting, JPEG) from a private RNG, so a seed always
reproduces the same frame.
"""

from __future__ import annotations

import cv2
import numpy as np
from PIL import Image

from kakou.sim.render_container import door_image
from kakou.sim.render_plates import PLATE_KINDS, plate_image

__all__ = [
    "PLATE_KINDS",
    "backlit",
    "encode_jpeg",
    "fisheye",
    "headlight_glare",
    "render_code_crop",
    "render_container_scene",
    "render_plate_scene",
]


def encode_jpeg(frame: np.ndarray, quality: int = 90) -> bytes:
    ok, buf = cv2.imencode(".jpg", frame, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise ValueError("JPEG encoding failed")
    return buf.tobytes()


def _rng(seed: int | None) -> np.random.Generator | None:
    return None if seed is None else np.random.default_rng(seed)


def _to_bgr(img: Image.Image) -> np.ndarray:
    return cv2.cvtColor(np.asarray(img.convert("RGB")), cv2.COLOR_RGB2BGR)


def _paste_warped(scene: np.ndarray, patch: np.ndarray, dst: np.ndarray) -> None:
    """Warp `patch` onto the quadrilateral `dst` (4x2, clockwise from top-left) of `scene`."""
    h, w = patch.shape[:2]
    src = np.array([[0, 0], [w - 1, 0], [w - 1, h - 1], [0, h - 1]], dtype=np.float32)
    m = cv2.getPerspectiveTransform(src, dst.astype(np.float32))
    H, W = scene.shape[:2]
    warped = cv2.warpPerspective(patch, m, (W, H), flags=cv2.INTER_AREA)
    mask = cv2.warpPerspective(np.full((h, w), 255, np.uint8), m, (W, H), flags=cv2.INTER_LINEAR)
    alpha = (mask.astype(np.float32) / 255.0)[..., None]
    scene[:] = (warped * alpha + scene * (1 - alpha)).astype(np.uint8)


def _quad(x: float, y: float, w: float, h: float, rng: np.random.Generator | None, skew: float) -> np.ndarray:
    """Target corners for a w x h rectangle at (x, y), jittered for perspective and roll."""
    quad = np.array([[x, y], [x + w, y], [x + w, y + h], [x, y + h]], dtype=np.float32)
    if rng is None:
        return quad
    quad += rng.uniform(-skew, skew, (4, 2)).astype(np.float32) * np.array([w, h], dtype=np.float32)
    angle = np.deg2rad(rng.uniform(-4, 4))
    c = quad.mean(axis=0)
    rot = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]], dtype=np.float32)
    return (quad - c) @ rot.T + c


def _camera(frame: np.ndarray, rng: np.random.Generator | None) -> np.ndarray:
    """Lighting, blur, sensor noise and a JPEG round-trip, as a real gate camera adds them."""
    if rng is None:
        return frame
    f: np.ndarray = frame.astype(np.float32)  # float while lit, uint8 from the clip on
    H, W = f.shape[:2]
    # Uneven light: a linear ramp in a random direction (sun on one side, shadow of the canopy).
    ang = rng.uniform(0, 2 * np.pi)
    yy, xx = np.mgrid[0:H, 0:W].astype(np.float32)
    ramp = np.cos(ang) * (xx / W - 0.5) + np.sin(ang) * (yy / H - 0.5)
    f *= (1.0 + rng.uniform(0.0, 0.5) * ramp)[..., None]
    f = f * rng.uniform(0.65, 1.25) + rng.uniform(-25, 25)
    f = np.clip(f, 0, 255).astype(np.uint8)
    kind = rng.integers(3)
    if kind == 1:
        f = cv2.GaussianBlur(f, (0, 0), rng.uniform(0.5, 1.4))
    elif kind == 2:  # horizontal motion blur of a slowly rolling truck
        n = int(rng.integers(3, 6))
        f = cv2.filter2D(f, -1, np.full((1, n), 1.0 / n, np.float32))
    noise = rng.normal(0, rng.uniform(0, 7), f.shape)
    f = np.clip(f.astype(np.float32) + noise, 0, 255).astype(np.uint8)
    quality = int(rng.integers(45, 92))
    out = cv2.imdecode(np.frombuffer(encode_jpeg(f, quality), np.uint8), cv2.IMREAD_COLOR)
    assert out is not None  # a JPEG encoded just above
    return out


def _truck_front(width: int, height: int, rng: np.random.Generator | None) -> np.ndarray:
    """A cab front: windscreen, grille, headlights and bumper, in BGR."""
    t = np.linspace(0, 1, height)[:, None, None]
    sky, road = np.array([200, 195, 190]), np.array([90, 90, 95])
    scene = np.repeat((sky * (1 - t) + road * t).astype(np.uint8), width, axis=1)
    cab = (60, 60, 170) if rng is None else tuple(int(v) for v in rng.integers(30, 220, 3))
    left, r = int(width * 0.14), int(width * 0.86)
    cv2.rectangle(scene, (left, 0), (r, int(height * 0.93)), cab, -1)
    cv2.rectangle(scene, (left + 40, int(height * 0.04)), (r - 40, int(height * 0.38)), (50, 45, 40), -1)
    for y in range(int(height * 0.46), int(height * 0.70), 16):
        cv2.rectangle(scene, (int(width * 0.3), y), (int(width * 0.7), y + 7), (40, 40, 40), -1)
    for cx in (int(width * 0.2), int(width * 0.8)):
        cv2.ellipse(scene, (cx, int(height * 0.7)), (60, 30), 0, 0, 360, (230, 235, 235), -1)
    cv2.rectangle(scene, (left - 10, int(height * 0.76)), (r + 10, int(height * 0.93)), (45, 45, 45), -1)
    return scene


def render_plate_scene(
    text: str,
    kind: str = "blue",
    seed: int | None = None,
    width: int = 1280,
    height: int = 720,
    lean: float = 0.0,
    plate_width: float | None = None,
) -> np.ndarray:
    """A BGR frame of a truck front carrying plate `text` of `kind` (see PLATE_KINDS).

    `lean`: the plate as a camera low and to the side sees it: its top and bottom edges rise
    by `lean` per unit of width (0.35: about 19 degrees) while its sides stay upright, so its
    characters stand slanted along the plate. `plate_width`: the plate's share of the frame
    width (default: 0.31 head-on, drawn from 0.19-0.34 with a seed)."""
    rng = _rng(seed)
    plate = _to_bgr(plate_image(text, kind))
    ph, pw = plate.shape[:2]
    scene = _truck_front(width, height, rng)
    target_w = width * (plate_width or (0.31 if rng is None else rng.uniform(0.19, 0.34)))
    target_h = target_w * ph / pw
    cx = width / 2 if rng is None else width * rng.uniform(0.4, 0.6)
    cy = height * (0.84 if rng is None else rng.uniform(0.74, 0.86))
    cy = min(cy, height - target_h / 2 - 4)
    quad = _quad(cx - target_w / 2, cy - target_h / 2, target_w, target_h, rng, 0.04)
    if lean:
        quad[:, 1] -= lean * (quad[:, 0] - cx)
    _paste_warped(scene, plate, quad)
    return _camera(scene, rng)


def render_container_scene(
    code: str,
    seed: int | None = None,
    width: int = 1280,
    height: int = 720,
    size_type: str = "45G1",
    layout: str = "one_row",
    behind: str | None = None,
    beside: str | None = None,
    check_box: str = "outline",
) -> np.ndarray:
    """A BGR frame of a container's rear doors marked with `code` and `size_type` in `layout`
    (render_container.LAYOUTS). `behind`: the code of a second container further away, seen
    smaller at the left of the frame (the one in the lane is `code`). `beside`: a second 20'
    container on the same chassis, as near as the first, to its right (a side camera's view).
    `check_box`: how the check digit is boxed (render_container.CHECK_BOXES)."""
    rng = _rng(seed)
    t = np.linspace(0, 1, height)[:, None, None]
    scene = np.repeat(
        (np.array([170, 170, 165]) * (1 - t) + np.array([80, 85, 85]) * t).astype(np.uint8), width, axis=1
    )
    door = _to_bgr(door_image(code, size_type, width, height, rng, layout, check_box))
    scale = 0.92 if rng is None else rng.uniform(0.8, 1.0)
    x_shift = 0.0
    if behind is not None:
        far = _to_bgr(door_image(behind, "22G1", width, height, rng))
        fw, fh = width * 0.34, height * 0.4
        _paste_warped(scene, far, _quad(width * 0.02, height * 0.3, fw, fh, None, 0.0))
        scale, x_shift = 0.62, width * 0.17  # the lane's container nearer, to the right
    if beside is not None:
        # Both doors the same size, side by side, each about half the frame wide.
        other = _to_bgr(door_image(beside, "22G1", width, height, rng, layout))
        _paste_warped(scene, other, _quad(width * 0.51, height * 0.2, width * 0.47, height * 0.6, rng, 0.02))
        _paste_warped(scene, door, _quad(width * 0.02, height * 0.2, width * 0.47, height * 0.6, rng, 0.02))
        return _camera(scene, rng)
    dw, dh = width * scale, height * scale
    x = (width - dw) / 2 + x_shift + (0 if rng is None else rng.uniform(-0.05, 0.05) * width)
    y = (height - dh) / 2 + (0 if rng is None else rng.uniform(-0.04, 0.04) * height)
    _paste_warped(scene, door, _quad(x, y, dw, dh, rng, 0.03))
    return _camera(scene, rng)


def fisheye(frame: np.ndarray, strength: float = 0.35) -> np.ndarray:
    """Barrel distortion as a wide-angle gate lens gives it: straight lines bow outwards and the
    edges are squeezed (`strength` 0 = none; 0.3-0.5 a fisheye). Corners are filled by
    replication, as a camera's crop of the image circle would be."""
    h, w = frame.shape[:2]
    yy, xx = np.mgrid[0:h, 0:w].astype(np.float32)
    cx, cy, r0 = (w - 1) / 2, (h - 1) / 2, max(w, h) / 2
    nx, ny = (xx - cx) / r0, (yy - cy) / r0
    f = 1.0 + strength * (nx * nx + ny * ny)  # each output pixel looks further out
    mx, my = (nx * f * r0 + cx).astype(np.float32), (ny * f * r0 + cy).astype(np.float32)
    return cv2.remap(frame, mx, my, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def render_code_crop(
    code: str,
    seed: int | None = None,
    layout: str = "vertical",
    side: int = 240,
    lens: float = 0.0,
    size_type: str = "45G1",
) -> np.ndarray:
    """A small crop of a container door around its code, as a technician cuts it from a gate
    camera's frame or a camera trained on the corner post gives it: the right-hand third of the
    door (where every layout puts the code), distorted by `fisheye(lens)` when `lens` > 0,
    scaled to `side` px on its long side (a 240 px crop makes a vertical code's characters
    ~10 px high), with the camera's light, blur, noise and JPEG when `seed` is given."""
    rng = _rng(seed)
    door = _to_bgr(door_image(code, size_type, 1280, 720, rng, layout))
    crop = np.ascontiguousarray(door[:, int(1280 * 0.7) :])
    if lens > 0:
        crop = fisheye(crop, lens)
    f = side / max(crop.shape[:2])
    small = cv2.resize(crop, (round(crop.shape[1] * f), round(crop.shape[0] * f)), interpolation=cv2.INTER_AREA)
    return _camera(small, rng)


def backlit(frame: np.ndarray, shade: float = 0.06) -> np.ndarray:
    """The frame as a camera exposed for a bright sky sees it: the vehicle in deep shadow
    (`shade` of its light left) under a glare that fades from the top of the frame."""
    h = frame.shape[0]
    glare = np.linspace(1.0, 0.0, h, dtype=np.float32)[:, None, None] * 212.0
    return np.clip(frame.astype(np.float32) * shade + glare, 0, 255).astype(np.uint8)


def headlight_glare(frame: np.ndarray, power: float = 6.0) -> np.ndarray:
    """The frame as a night camera blinded by headlights sees it: every tone lifted towards
    white (lightness to the 1/`power`), a blue plate washed out to a pale, nearly grey one."""
    return (255.0 * (frame.astype(np.float32) / 255.0) ** (1.0 / power)).astype(np.uint8)
