"""The face-match hook and its offline baseline."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from kakou.models.face import HogFaceMatcher, load_matcher


def face(seed: int) -> np.ndarray:
    """A synthetic face: the same head outline, features in places that differ per person."""
    r = np.random.default_rng(seed)
    img = np.full((200, 200, 3), 180, np.uint8)
    cv2.ellipse(img, (100, 100), (60, 80), 0, 0, 360, (150, 170, 200), -1)
    for _ in range(6):
        centre = tuple(int(x) for x in r.integers(50, 150, 2))
        cv2.circle(img, centre, int(r.integers(5, 15)), tuple(int(x) for x in r.integers(0, 90, 3)), -1)
    return img


def test_same_face_under_noise_and_light_scores_high_others_low() -> None:
    m = HogFaceMatcher()
    ref = face(1)
    noisy = np.clip(ref + np.random.default_rng(0).normal(0, 8, ref.shape), 0, 255).astype(np.uint8)
    brighter = cv2.convertScaleAbs(ref, alpha=1.2, beta=20)
    assert m.match(noisy, ref) > 0.9 and m.match(brighter, ref) > 0.9
    others = [m.match(face(s), ref) for s in range(2, 12)]
    assert max(others) < 0.7  # the lane's default threshold


def test_empty_image_is_a_clear_error_and_hook_loads_by_name() -> None:
    with pytest.raises(ValueError, match="empty"):
        HogFaceMatcher().match(np.zeros((0, 0), np.uint8), face(1))
    assert isinstance(load_matcher(None), HogFaceMatcher)
    assert isinstance(load_matcher("kakou.models.face:HogFaceMatcher"), HogFaceMatcher)
    with pytest.raises(TypeError, match="no match"):
        load_matcher("collections:OrderedDict")
