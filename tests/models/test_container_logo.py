"""A carrier's logo painted on the container's side can be six times the height of the code on its
doors: the code is still among the lines the reader reads."""

import cv2
import numpy as np
import pytest

import kakou.models.container as container
from kakou.models.container import ContainerReader
from kakou.sim.render import render_container_scene


def _beside_a_logo(code: str, seed: int) -> np.ndarray:
    """The doors seen small at the right of the frame; at the left a logo 184 px high and two
    lines of lettering (a trailer's LONG VEHICLE, a lessor's name), all taller than the code."""
    frame = np.full((720, 1280, 3), 150, np.uint8)
    frame[480:660, 900:1220] = cv2.resize(render_container_scene(code, seed=seed), (320, 180))
    cv2.putText(frame, "SITC", (30, 260), cv2.FONT_HERSHEY_SIMPLEX, 7.5, (250, 250, 250), 30)
    cv2.putText(frame, "LONG VEHICLE", (40, 420), cv2.FONT_HERSHEY_SIMPLEX, 2.0, (20, 20, 20), 6)
    cv2.putText(frame, "BEACON", (40, 600), cv2.FONT_HERSHEY_SIMPLEX, 1.8, (20, 20, 20), 5)
    return frame


@pytest.mark.parametrize(("code", "seed"), [("MSKU1234565", 5), ("GLDU7496125", 2)])
def test_a_code_a_sixth_of_a_logos_height_is_read(code: str, seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    frame = _beside_a_logo(code, seed)
    r = ContainerReader().read(frame)
    assert (r.text, r.valid) == (code, True)
    monkeypatch.setattr(container, "LINE_FLOOR", 0.2)  # a fifth of the logo, as before: never read
    assert not ContainerReader().read(frame).valid
