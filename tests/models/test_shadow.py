"""The sharp edge of a shadow (a canopy, a pole, a gantry in sunshine) across a plate or a code
leaves part of it in a fraction of the light: the detector stops its line at the edge, and a
character the edge cuts through can read as another, surely. A frame that read nothing valid is
read once more with the shaded side lit again (shadow.unshadowed); a valid plate read on a frame
whose shadow edge crosses a located plate is read so too, and where the two name different
plates, the officer decides."""

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from kakou.models import container as container_module
from kakou.models import plate as plate_module
from kakou.models.camera_variation import compressed, shaded
from kakou.models.container import ContainerReader
from kakou.models.imageio import with_gamma
from kakou.models.plate import PlateReader
from kakou.models.shadow import SEARCH_FROM, ShadowEdge, shadow_edge, unshadowed
from kakou.sim.render import render_container_scene, render_plate_scene
from kakou.sim.render_plates import plate_crop

PLATE_ROW = 0.84  # render_plate_scene puts an unseeded plate's centre this far down the frame
PLATE_WIDTH = 0.12


def _shadow_through_plate(text: str, kind: str, eighth: int) -> np.ndarray:
    """A small unseeded plate (PLATE_WIDTH of the width) whose `eighth`-th eighth a shadow edge
    at 70 degrees crosses, the shaded side in 15 % of the light, streamed at JPEG q40."""
    scene = render_plate_scene(text, kind, plate_width=PLATE_WIDTH)
    h, w = scene.shape[:2]
    x = 0.5 - PLATE_WIDTH / 2 + (eighth + 0.5) * PLATE_WIDTH / 8
    at = x - (PLATE_ROW - 0.5) * h / np.tan(np.deg2rad(70)) / w
    return compressed(shaded(scene, 0.15, 70, at=at), 40)


@pytest.mark.parametrize(("light", "angle", "at"), [(0.35, 70, 0.5), (0.2, 100, 0.4), (0.3, 90, 0.6)])
def test_a_shadow_edge_is_found_where_it_falls_and_lit_again(light: float, angle: float, at: float) -> None:
    scene = render_plate_scene("粤B12345", "blue", seed=2)
    frame = shaded(scene, light, angle, at=at)
    edge = shadow_edge(frame)
    assert edge is not None and edge.shaded_left
    assert abs(edge.angle - angle) <= 4 and abs(edge.x - at) <= 0.02
    # The shaded side (away from the penumbra) lit again: far nearer the scene than it was.
    dark = shaded(np.full_like(scene, 200), light, angle, at=at - 0.05)[..., 0] < 100
    before = np.abs(frame.astype(np.float32) - scene)[dark].mean()
    after = np.abs(unshadowed(frame, edge).astype(np.float32) - scene)[dark].mean()
    assert after < 0.35 * before


def test_scenes_without_a_shadow_have_no_edge_through_their_middle() -> None:
    """Rendered plate and container scenes by day and at dusk: no shadow edge is seen where the
    plate or the code is (a vehicle's side against the road can step alike near the frame's side:
    that costs a second reading of a frame, never a read)."""
    for seed in (1, 6, 7):
        for scene in (
            render_plate_scene("京A8F3K2", "yellow", seed=seed),
            render_container_scene("TGHU8832010", seed=seed),
        ):
            for frame in (scene, with_gamma(scene, 1.6)):
                edge = shadow_edge(frame)
                assert edge is None or not 0.2 < edge.x < 0.8


def test_a_cut_out_is_not_searched_as_it_is() -> None:
    """Too few pixels for the search: the plate reader searches a crop enlarged (next test)."""
    crop = np.zeros((SEARCH_FROM - 1, SEARCH_FROM - 1, 3), np.uint8)
    crop[:, : SEARCH_FROM // 2] = 200
    assert shadow_edge(crop) is None


@pytest.mark.parametrize(("text", "width"), [("皖A7Y669", 0.06), ("皖ARN868", 0.08)])
def test_a_poles_shadow_across_a_plate_crop_sends_it_to_the_officer(
    monkeypatch: pytest.MonkeyPatch, text: str, width: float
) -> None:
    """A pole's shadow a character wide across a 94 x 24 crop: the band's sides read as strokes
    (a 6 as 5, an 8 as 3). The crop searched enlarged, its valid reading must agree with the crop
    lit again, or the officer decides."""
    crop = cv2.resize(plate_crop(text), (94, 24), interpolation=cv2.INTER_AREA)
    in_shadow = compressed(shaded(crop, 0.25, 80.0, at=0.6, width=width), 90)
    r = PlateReader().read(in_shadow)
    assert r.text in (None, text)
    monkeypatch.setattr(plate_module, "CROP_SHADOW_ENLARGE", 1)  # not searched: read as it is
    wrong = PlateReader().read(in_shadow)
    assert wrong.valid and wrong.text != text


@pytest.mark.parametrize(
    ("far_x", "lit_reads", "stands"),
    [
        (0.45, False, False),  # a band whose crop lit again reads nothing: held, net or no net
        (0.45, True, True),  # the same band, the crop lit again reads the same plate: it stands
        (None, False, True),  # one edge (a canopy's) whose lit crop reads nothing: it stands
    ],
)
def test_a_crop_read_under_a_band_must_be_read_again_lit(
    monkeypatch: pytest.MonkeyPatch, far_x: float | None, lit_reads: bool, stands: bool
) -> None:
    """A pole's band cuts one character by its two edges, and PP-OCR and the plate network read
    the cut character as another, both surely (field crop 044's U as 1): under a band, a valid
    crop reading stands only where the crop lit again reads it too."""
    crop = cv2.resize(plate_crop("皖A9U577"), (94, 24), interpolation=cv2.INTER_AREA)
    assert PlateReader().read(crop).text == "皖A9U577"
    blank = np.full_like(crop, 128)
    monkeypatch.setattr(plate_module, "_crop_shadow", lambda c: ShadowEdge(80.0, 0.55, 1.0, True, 1.0, far_x))
    monkeypatch.setattr(plate_module, "unshadowed", lambda f, e: f if lit_reads else blank)
    r = PlateReader().read(crop)
    assert (r.text, r.valid) == (("皖A9U577", True) if stands else (None, False))


def test_a_plate_half_in_shadow_is_read_once_lit_again(monkeypatch: pytest.MonkeyPatch) -> None:
    frame = _shadow_through_plate("川A762ZS", "blue", 3)
    r = PlateReader().read(frame)
    assert (r.text, r.valid) == ("川A762ZS", True)
    monkeypatch.setattr(plate_module, "shadow_edge", lambda f: None)
    assert not PlateReader().read(frame).valid  # as it came, the shadow stops the read


def test_a_province_changed_by_a_shadow_goes_to_the_officer(monkeypatch: pytest.MonkeyPatch) -> None:
    """As it came, the frame reads surely as another plate (浙 taken for 皖); lit again, as the
    plate: two readings of one frame name two plates, so neither is acted on."""
    frame = _shadow_through_plate("浙A03168", "yellow", 3)
    r = PlateReader().read(frame)
    assert not r.valid and r.text is None
    monkeypatch.setattr(plate_module, "shadow_edge", lambda f: None)
    plain = PlateReader().read(frame)
    assert plain.valid and plain.text not in (None, "浙A03168")  # the wrong read the check stops


@pytest.mark.parametrize(("code", "seed"), [("TGHU8832010", 31), ("MSKU1234565", 5)])
def test_a_container_code_half_in_shadow_is_read_once_lit_again(
    code: str, seed: int, monkeypatch: pytest.MonkeyPatch
) -> None:
    frame = compressed(shaded(render_container_scene(code, seed=seed), 0.12, 70, at=0.65), 50)
    r = ContainerReader().read(frame)
    assert (r.text, r.valid) == (code, True)
    monkeypatch.setattr(container_module, "shadow_edge", lambda f: None)
    assert not ContainerReader().read(frame).valid


@settings(max_examples=60, deadline=None)
@given(
    hnp.arrays(
        np.uint8,
        st.tuples(st.integers(1, 60), st.integers(SEARCH_FROM - 8, SEARCH_FROM + 60), st.sampled_from([1, 3])),
        elements=st.integers(0, 255),
    )
)
def test_looking_for_a_shadow_keeps_any_frame_whole(frame: np.ndarray) -> None:
    """Any frame, colour or grey, however flat or thin: never an error; lit again, the same
    shape and type."""
    image = frame[..., 0] if frame.shape[2] == 1 else frame
    edge = shadow_edge(image)
    if edge is not None:
        out = unshadowed(image, edge)
        assert out.shape == image.shape and out.dtype == np.uint8


def test_a_poles_shadow_is_a_band_lit_between_its_edges() -> None:
    """A pole's shadow has two edges: lit as if it ran to the frame's side, everything beyond
    its far edge would be over-lit three times (a province then reads as another)."""
    scene = render_plate_scene("粤B12345", "blue", seed=2)
    frame = shaded(scene, 0.35, 80, at=0.5, width=0.1)
    edge = shadow_edge(frame)
    assert edge is not None and edge.far_x is not None
    assert sorted((round(edge.x, 2), round(edge.far_x, 2))) == pytest.approx([0.45, 0.55], abs=0.02)
    lit = unshadowed(frame, edge).astype(np.float32)
    w = scene.shape[1]
    beyond = np.r_[0 : int(0.3 * w), int(0.7 * w) : w]  # columns well outside the band
    assert np.abs(lit[:, beyond] - scene[:, beyond]).mean() < 1.0
    band = slice(int(0.48 * w), int(0.52 * w))
    assert (
        np.abs(lit[:, band] - scene[:, band]).mean()
        < 0.35 * np.abs(frame[:, band].astype(np.float32) - scene[:, band]).mean()
    )


def test_a_frame_lit_two_ways_must_read_one_plate(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shaded side is lit by an estimate of the shadow's factor, and once more by half of
    it: where the two lightings name different plates (an over-lit province read as another),
    the officer decides; where they agree, the plate stands."""
    empty = np.random.default_rng(0).integers(60, 180, (720, 1280, 3), dtype=np.uint8)  # reads nothing
    edge = ShadowEdge(80.0, 0.5, 1.0, True, 0.9)
    monkeypatch.setattr(plate_module, "shadow_edge", lambda f: edge)
    lightings = {
        1.0: render_plate_scene("粤B12345", "blue", seed=1),
        0.5: render_plate_scene("鄂B12345", "blue", seed=1),
    }
    monkeypatch.setattr(plate_module, "unshadowed", lambda f, e: lightings[round(e.step, 2)])
    assert PlateReader().read(empty).error is None  # read, not refused
    r = PlateReader().read(empty)
    assert not r.valid and r.text is None
    lightings[0.5] = lightings[1.0]
    r = PlateReader().read(empty)
    assert (r.text, r.valid) == ("粤B12345", True)
