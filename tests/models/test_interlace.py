"""An analogue camera's interlaced frame of a moving vehicle is combed: its two fields, the even
and the odd rows, 1/50 s apart. Every frame the readers take (imageio.as_frame) has its comb put
right (imageio.deinterlaced): the odd field moved back where the scene moved (along the rows, or
two rows up or down), the rest built from the even field; a progressive frame is left as it is."""

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from kakou.models import imageio
from kakou.models.camera_variation import interlaced
from kakou.models.container import ContainerReader
from kakou.models.imageio import COMB_BLOCK, as_frame, combed_blocks, deinterlaced
from kakou.models.plate import PlateReader
from kakou.sim.render import render_container_scene, render_plate_scene

W, H = 704, 576  # an analogue PAL camera's frame, as a DVR or an encoder gives it


def _off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(imageio, "deinterlaced", lambda frame: frame)


@pytest.mark.parametrize(("plate", "kind"), [("京A8F3K2", "yellow"), ("沪AD12345", "green")])
def test_a_combed_plate_is_read_once_its_comb_is_put_right(
    plate: str, kind: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = interlaced(render_plate_scene(plate, kind, seed=3, plate_width=0.16, width=W, height=H), 4)
    r = PlateReader().read(frame)
    assert (r.text, r.valid) == (plate, True)
    _off(monkeypatch)
    assert not PlateReader().read(frame).valid  # combed as it came, it does not read


def test_a_combed_container_code_is_read_once_its_comb_is_put_right(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = interlaced(render_container_scene("TGHU8832010", seed=31, width=W, height=H), 6)
    r = ContainerReader().read(frame)
    assert (r.text, r.valid) == ("TGHU8832010", True)
    _off(monkeypatch)
    assert not ContainerReader().read(frame).valid


@pytest.mark.parametrize("shift", [3, 4, 8])
def test_only_what_moved_between_the_fields_is_changed(shift: int) -> None:
    """The lower half moves (the vehicle), the upper half stands still (the lane, the sky): the
    comb is gone from the lower half and the upper half keeps both fields, pixel for pixel, but
    for the block rows next to the moving part."""
    scene = render_plate_scene("粤B12345", "blue", seed=1, width=W, height=H)
    half = scene.shape[0] // 2
    frame = scene.copy()
    frame[half:] = interlaced(scene, shift)[half:]
    assert not combed_blocks(frame)[: half // COMB_BLOCK].any()
    out = deinterlaced(frame)
    assert out is not frame and not combed_blocks(out).any()
    still = half - 2 * COMB_BLOCK
    assert np.array_equal(out[:still], frame[:still])
    assert as_frame(frame).tobytes() == out.tobytes()  # what every reader takes


@pytest.mark.parametrize(("shift", "down"), [(3, 0), (-7, 0), (12, 0), (4, 2), (-5, -2)])
def test_a_scene_slid_between_the_fields_is_woven_whole_again(shift: int, down: int) -> None:
    """A truck passing a side camera (or coming down a front camera's view): the odd field slid
    back gives the frame as if it had been exposed at once, full vertical detail: pixel for
    pixel, but for flat paint far from any comb (left slid: nothing shows it) and the edges the
    slide brought in."""
    scene = render_container_scene("TGHU8832010", seed=31, width=W, height=H)
    combed = interlaced(scene, shift, down)
    out = deinterlaced(combed)
    inner = (slice(abs(down), H - abs(down)), slice(abs(shift), W - abs(shift)))
    same = (out[inner] == scene[inner]).all(axis=2).mean()
    assert same > 0.97 > 0.6 > (combed[inner] == scene[inner]).all(axis=2).mean()
    assert not combed_blocks(out).any()


def test_a_truck_coming_closer_is_built_from_one_field() -> None:
    """Between its fields it also grew: no slide explains the comb, one field does."""
    scene = render_plate_scene("京A8F3K2", "yellow", seed=3, plate_width=0.16, width=W, height=H)
    grown = cv2.warpAffine(scene, cv2.getRotationMatrix2D((W / 2, H * 0.7), 0, 1.03), (W, H))
    frame = scene.copy()
    frame[1::2] = grown[1::2]
    assert combed_blocks(frame).sum() > 20
    assert not combed_blocks(deinterlaced(frame)).any()


@pytest.mark.parametrize("seed", [0, 7])
def test_progressive_frames_are_left_as_they_are(seed: int) -> None:
    for frame in (
        render_plate_scene("苏E12345", "blue", seed=seed),
        render_plate_scene("京A8F3K2", "yellow", seed=seed, width=W, height=H),
        render_container_scene("MSKU1234565", seed=seed, layout="two_row"),
    ):
        assert deinterlaced(frame) is frame


@settings(max_examples=40, deadline=None)
@given(hnp.arrays(np.uint8, st.tuples(st.integers(1, 80), st.integers(1, 300), st.just(3))))
def test_any_frame_keeps_its_shape(img: np.ndarray) -> None:
    out = deinterlaced(img)
    assert out.shape == img.shape and out.dtype == np.uint8
