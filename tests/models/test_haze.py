"""Fog, sea haze or a dirty camera window lay a light veil over the scene: nothing is dark any
more and every contrast shrinks. A veiled frame that gave nothing valid as it is is read once
more with the veil lifted (imageio.unveiled: the lightness span stretched back to the full
range); a frame with dark in it, a thin veil, and a plate crop are never taken as veiled."""

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from kakou.models import container as container_module
from kakou.models import plate as plate_module
from kakou.models.camera_variation import compressed, hazy, noisy
from kakou.models.container import ContainerReader
from kakou.models.imageio import VEIL_FROM, light_span, stretched_within, unveiled, veil, with_gamma
from kakou.models.plate import PlateReader
from kakou.sim.render import render_container_scene, render_plate_scene
from kakou.sim.render_plates import plate_image


def _fog(frame: np.ndarray, thickness: float) -> np.ndarray:
    """A veil over the scene, as a camera then streams it: a little sensor noise, JPEG q70."""
    return compressed(noisy(hazy(frame, thickness), 2.0), 70)


@pytest.mark.parametrize(("code", "seed"), [("TGHU8832010", 31), ("MSKU1234565", 5)])
def test_a_container_in_dense_fog_is_read_once_the_veil_is_lifted(
    code: str, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = _fog(render_container_scene(code, seed=seed), 0.9)  # a tenth of the contrast left
    r = ContainerReader().read(frame)
    assert (r.text, r.valid) == (code, True)
    monkeypatch.setattr(container_module, "unveiled", lambda f: f)
    assert not ContainerReader().read(frame).valid  # veiled as it came, it does not read


def test_a_plate_in_the_thickest_fog_is_read_once_the_veil_is_lifted(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = _fog(render_plate_scene("粤B12345", "blue", seed=3), 0.95)
    r = PlateReader().read(frame)
    assert (r.text, r.valid) == ("粤B12345", True)
    monkeypatch.setattr(plate_module, "unveiled", lambda f: f)
    assert not PlateReader().read(frame).valid


def test_a_veiled_frame_that_reads_as_it_is_is_not_read_again(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stretch is a last attempt: a rendered plate under a veil of 0.6 reads as it is."""
    frame = hazy(render_plate_scene("粤B12345", "blue", seed=1), 0.6)
    assert veil(frame) is not None
    stretched: list[np.ndarray] = []

    def spy(f: np.ndarray) -> np.ndarray:
        stretched.append(f)
        return unveiled(f)

    monkeypatch.setattr(plate_module, "unveiled", spy)
    r = PlateReader().read(frame)
    assert (r.text, r.valid, stretched) == ("粤B12345", True, [])


@pytest.mark.parametrize("thickness", [0.5, 0.6, 0.7])
def test_a_veiled_frame_is_stretched_back_to_the_clear_scene(thickness: float) -> None:
    """Whatever the veil's thickness, the frame unveiled is the clear scene with its lightness
    spread over the full range, within a few grey levels (the veil's rounding)."""
    scene = render_plate_scene("粤B12345", "blue", seed=1)
    h, w = scene.shape[:2]
    clear = stretched_within(scene, (0, 0, w, h), light_span(scene, (0, 0, w, h))).astype(np.float32)
    foggy = hazy(scene, thickness)
    assert veil(foggy) is not None
    taken = unveiled(foggy).astype(np.float32)
    assert np.abs(taken - clear).mean() < 3 < 0.1 * np.abs(foggy - clear).mean()
    assert taken.std() >= scene.std()


def test_frames_with_dark_in_them_are_taken_as_they_are() -> None:
    """A day scene, the same at dusk, over-exposed and under a thin veil (contrast enough left),
    a night container scene: none is taken as veiled."""
    day = render_plate_scene("京A8F3K2", "yellow", seed=3)
    night = render_container_scene("TGHU8832010", seed=31)
    for frame in (day, with_gamma(day, 1.6), with_gamma(day, 0.8), hazy(day, 0.3), night):
        assert veil(frame) is None
        assert unveiled(frame) is frame


def test_a_plate_crop_is_not_a_veiled_scene() -> None:
    """Light paint and no black in it, like a veil: a cut-out under VEIL_FROM px is left alone."""
    crop = np.ascontiguousarray(np.asarray(plate_image("京A8F3K2", "yellow"))[..., ::-1])
    small = cv2.resize(crop, (VEIL_FROM - 1, (VEIL_FROM - 1) * crop.shape[0] // crop.shape[1]))
    foggy = hazy(small, 0.5)
    assert veil(foggy) is None and unveiled(foggy) is foggy


@settings(max_examples=80, deadline=None)
@given(
    hnp.arrays(
        np.uint8,
        st.tuples(st.integers(1, 40), st.integers(VEIL_FROM - 8, VEIL_FROM + 40), st.just(3)),
        elements=st.integers(0, 255),
    ),
    st.integers(0, 255),
    st.integers(0, 255),
)
def test_lifting_a_veil_keeps_any_frame_whole(frame: np.ndarray, low: int, high: int) -> None:
    """Any frame, squeezed into any span of grey levels: never an error, the same shape and
    type, and a frame without a veil (too dark, too spread, too small, or flat) untouched."""
    lo, hi = min(low, high), max(low, high)
    squeezed = (lo + frame.astype(np.float32) * (hi - lo) / 255).astype(np.uint8)
    out = unveiled(squeezed)
    assert out.shape == squeezed.shape and out.dtype == np.uint8
    if veil(squeezed) is None:
        assert out is squeezed
