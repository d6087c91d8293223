"""A vehicle crossing a camera's view is blurred along the rows, one coming towards a camera above
it along the columns; the readers, when nothing else read, measure the blur
(imageio.motion_blur) and read the frame deblurred (imageio.deblurred)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from kakou.models import container as container_module
from kakou.models import plate as plate_module
from kakou.models.camera_variation import smeared
from kakou.models.container import ContainerReader
from kakou.models.imageio import BLUR_MAX, BLUR_MIN, deblurred, motion_blur
from kakou.models.plate import PlateReader
from kakou.sim.render import render_container_scene, render_plate_scene


@pytest.mark.parametrize("length", [6, 9, 16, 27])
def test_the_blur_is_measured_and_a_sharp_frame_has_none(length: int) -> None:
    frame = render_container_scene("MSKU1234565", seed=5)
    assert motion_blur(frame)[0] == 0
    assert motion_blur(smeared(frame, length)) == (length, 1)
    assert motion_blur(_upright(smeared(_upright(frame), length))) == (length, 0)


def _upright(frame: np.ndarray) -> np.ndarray:
    """Rows as columns: a blur along the rows of this is one along the columns of the frame."""
    return np.ascontiguousarray(frame.transpose(1, 0, 2))


@pytest.mark.parametrize(("code", "seed"), [("TGHU8832010", 31), ("CSQU3054383", 5)])
def test_a_blurred_container_code_is_read_deblurred(code: str, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    frame = smeared(render_container_scene(code, seed=seed), 20)
    r = ContainerReader().read(frame)
    assert (r.text, r.valid) == (code, True)
    monkeypatch.setattr(container_module, "motion_blur", lambda frame: (0, 1))
    assert not ContainerReader().read(frame).valid  # as it is, it does not read


@pytest.mark.parametrize(("vertical", "length"), [(False, 24), (True, 40)])
def test_a_blurred_plate_is_read_deblurred(vertical: bool, length: int, monkeypatch: pytest.MonkeyPatch) -> None:
    frame = render_plate_scene("京A8F3K2", "yellow")
    frame = _upright(smeared(_upright(frame), length)) if vertical else smeared(frame, length)
    r = PlateReader().read(frame)
    assert (r.text, r.valid) == ("京A8F3K2", True)
    monkeypatch.setattr(plate_module, "motion_blur", lambda frame: (0, 1))
    assert not PlateReader().read(frame).valid


@settings(max_examples=30, deadline=None)
@given(hnp.arrays(np.uint8, st.tuples(st.integers(1, 60), st.integers(1, 400), st.just(3))), st.integers(1, 50))
def test_any_frame_gives_a_length_in_range_and_deblurs_to_its_own_shape(img: np.ndarray, length: int) -> None:
    found, axis = motion_blur(img)
    assert (found == 0 or BLUR_MIN <= found <= BLUR_MAX) and axis in (0, 1)
    for along in (0, 1):
        out = deblurred(img, length, along)
        assert out.shape == img.shape and out.dtype == np.uint8
