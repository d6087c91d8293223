"""A container seen from above (a gantry camera reads the roof's marking upside down for a truck
driving one way) or by a side camera mounted on its side: the frame's text is turned a quarter or
half round, and the readers, which read upright lines, read nothing. A frame that read nothing is
turned by what its largest lines say (orientation.turn_to_read) and read once more."""

import cv2
import numpy as np
import pytest

from kakou.models import container as container_module
from kakou.models.container import ContainerReader
from kakou.models.ocr import shared_engine
from kakou.models.orientation import turn_to_read, turned
from kakou.sim.render import render_container_scene, render_plate_scene

# The frame as the camera gives it, turned clockwise by the key; the turn that sets it upright.
AS_TAKEN = {90: (cv2.ROTATE_90_CLOCKWISE, 270), 180: (cv2.ROTATE_180, 180), 270: (cv2.ROTATE_90_COUNTERCLOCKWISE, 90)}


@pytest.mark.parametrize("taken", [90, 180, 270])
@pytest.mark.parametrize(("code", "seed"), [("TGHU8832010", 31), ("CSQU3054383", 1)])
def test_a_turned_container_frame_is_turned_upright_and_read(
    code: str, seed: int, taken: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    rotate, upright = AS_TAKEN[taken]
    frame = cv2.rotate(render_container_scene(code, seed=seed), rotate)
    assert turn_to_read(shared_engine(), frame) == upright
    r = ContainerReader().read(frame)
    assert (r.text, r.valid) == (code, True)
    if taken == 180:  # half round, nothing reads as it is (a quarter round, a tall line may)
        monkeypatch.setattr(container_module, "turn_to_read", lambda _e, _f: None)
        assert not ContainerReader().read(frame).valid


def test_upright_frames_are_not_turned() -> None:
    engine = shared_engine()
    for frame in (render_container_scene("MSKU1234565", seed=5), render_plate_scene("粤B12345", "blue", seed=1)):
        assert turn_to_read(engine, frame) is None


def test_a_frame_without_text_has_no_direction() -> None:
    assert turn_to_read(shared_engine(), np.full((480, 640, 3), 90, np.uint8)) is None


def test_turning_keeps_every_pixel() -> None:
    frame = render_container_scene("MSKU1234565", seed=5)
    assert np.array_equal(turned(turned(frame, 90), 270), frame)
    assert np.array_equal(turned(turned(frame, 180), 180), frame)
    assert turned(frame, 90).shape == (frame.shape[1], frame.shape[0], 3)
