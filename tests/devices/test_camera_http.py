"""HTTP snapshot camera driver against the camera simulator's faults, over a real socket."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from pathlib import Path

import cv2
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kakou.edge.config import ConfigError, load_config
from kakou.models.container import ContainerReader
from kakou.models.plate import PlateReader
from kakou.protocols.camera import CameraFault, HttpSnapshotCamera, decode_snapshot, open_camera
from kakou.sim.camera_sim import CameraSim
from kakou.sim.render import encode_jpeg, render_container_scene, render_plate_scene
from kakou.waiting import eventually

PLATE = encode_jpeg(render_plate_scene("粤B12345", kind="blue", seed=3))


@pytest.fixture
async def cam() -> AsyncIterator[tuple[CameraSim, HttpSnapshotCamera]]:
    async with CameraSim() as sim:
        driver = HttpSnapshotCamera(sim.url, timeout=0.3)
        yield sim, driver
        await driver.aclose()


async def test_snapshot_is_the_shown_image(cam: tuple[CameraSim, HttpSnapshotCamera]) -> None:
    sim, driver = cam
    sim.show(PLATE)
    frame = await driver.snapshot()
    assert frame.jpeg == PLATE and frame.image.ndim == 3 and frame.image.shape[1] > 100


@pytest.mark.parametrize(
    ("fault", "message"),
    [
        ({"jpeg": None}, "answered HTTP 503 (no frame)"),
        ({"garbage": True}, "undecodable image"),
        ({"truncated": True}, "truncated JPEG"),
        ({"delay": 1.0}, "timed out after 0.3s"),
        ({"hang_up": True}, "unreachable"),
    ],
)
async def test_faults_are_camera_faults(cam: tuple[CameraSim, HttpSnapshotCamera], fault: dict, message: str) -> None:
    sim, driver = cam
    sim.show(PLATE)
    for k, v in fault.items():
        setattr(sim, k, v)
    with pytest.raises(CameraFault, match=re.escape(message)):
        await driver.snapshot()
    for k in fault:  # the fault clears: the very next snapshot works (no stuck state in the driver)
        setattr(sim, k, CameraSim.__dataclass_fields__[k].default)
    sim.show(PLATE)
    assert (await driver.snapshot()).jpeg == PLATE


async def test_wrong_path_and_dead_camera() -> None:
    async with CameraSim() as sim:
        sim.show(PLATE)
        wrong = HttpSnapshotCamera(sim.url.replace("snapshot.jpg", "snap.jpg"), timeout=0.5)
        with pytest.raises(CameraFault, match="HTTP 404"):
            await wrong.snapshot()
        await wrong.aclose()
        url = sim.url
    dead = HttpSnapshotCamera(url, timeout=0.5)
    with pytest.raises(CameraFault, match="unreachable"):
        await dead.snapshot()
    await dead.aclose()


async def test_frozen_camera_is_a_stale_frame(cam: tuple[CameraSim, HttpSnapshotCamera]) -> None:
    sim, _ = cam
    driver = HttpSnapshotCamera(sim.url, frozen_after_s=0.2)
    sim.show(PLATE)
    await driver.snapshot()

    async def frozen() -> bool:
        try:
            await driver.snapshot()
        except CameraFault as exc:
            return "stale frame" in str(exc)
        return False

    await eventually(frozen, timeout=5, what="identical images to be reported as stale")
    sim.show(encode_jpeg(np.full((64, 64, 3), 99, np.uint8)))  # the picture changes: healthy again
    assert (await driver.snapshot()).image.shape == (64, 64, 3)
    await driver.aclose()


@settings(max_examples=150, deadline=None)
@given(
    st.one_of(
        st.binary(max_size=2000),
        st.integers(0, len(PLATE) - 1).map(lambda n: PLATE[:n]),
        st.binary(max_size=64).map(lambda b: PLATE[:200] + b + b"\xff\xd9"),
    )
)
def test_any_bytes_give_an_image_or_a_camera_fault(data: bytes) -> None:
    """Random bytes, every truncation of a real JPEG, and a corrupted one: never a crash, never half a plate."""
    try:
        image = decode_snapshot(data, "test")
    except CameraFault:
        return
    assert image.ndim == 3 and image.size > 0
    assert data != PLATE[: len(data)] or data == PLATE  # a cut-short JPEG is never accepted


@pytest.mark.parametrize(("plate", "share"), [("京A8F3K2", 0.14), ("苏E35791", 0.16)])
async def test_a_camera_sending_one_field_per_frame_has_its_rows_doubled(plate: str, share: float) -> None:
    """A DVR set to 2CIF sends 704 x 288 frames, every row of one field: the picture squashed to
    half its height. Its rows doubled, a double-row plate reads at its own shape; as sent, its
    squashed upper row is not read. The JPEG on record is the camera's own."""
    scene = render_plate_scene(plate, kind="double_yellow", seed=3, plate_width=share, width=704, height=576)
    field = encode_jpeg(cv2.resize(scene, (704, 288), interpolation=cv2.INTER_AREA))
    async with CameraSim() as sim:
        sim.show(field)
        plain, doubled = open_camera(sim.url), open_camera(sim.url, one_field=True)
        try:
            as_sent, frame = await plain.snapshot(), await doubled.snapshot()
        finally:
            await plain.aclose()
            await doubled.aclose()
    assert frame.image.shape == (576, 704, 3) and frame.jpeg == field
    reader = PlateReader()
    assert (reader.read(frame.image).text, reader.read(as_sent.image).text) == (plate, None)


@pytest.mark.parametrize(("mounted", "turn"), [(cv2.ROTATE_90_COUNTERCLOCKWISE, 90), (cv2.ROTATE_180, 180)])
async def test_a_camera_mounted_turned_gives_upright_frames(mounted: int, turn: int) -> None:
    """A side camera on its side (to see a container's full height) or a roof camera upside down:
    set with the turn that sets its picture upright, its frames read as an upright camera's,
    without the reader's failed first reading; the JPEG on record is the camera's own."""
    scene = render_container_scene("CSQU3054383", seed=1)
    sent = encode_jpeg(cv2.rotate(scene, mounted))
    async with CameraSim() as sim:
        sim.show(sent)
        cam = open_camera(sim.url, turn=turn)
        try:
            frame = await cam.snapshot()
        finally:
            await cam.aclose()
    assert frame.image.shape == scene.shape and frame.jpeg == sent
    r = ContainerReader().read(frame.image)
    assert (r.text, r.valid) == ("CSQU3054383", True)


def test_a_camera_turns_only_by_quarters() -> None:
    with pytest.raises(ValueError, match="90, 180 or 270"):
        open_camera("http://127.0.0.1:1/snapshot.jpg", turn=45)


def test_the_node_config_takes_a_one_field_camera(tmp_path: Path) -> None:
    example = Path(__file__).resolve().parents[2] / "deploy" / "edge.example.toml"
    text = example.read_text(encoding="utf-8").replace("# one_field = true", "one_field = true")
    (tmp_path / "edge.toml").write_text(text, encoding="utf-8")
    (lane,) = load_config(tmp_path / "edge.toml").lanes
    assert lane.plate_camera is not None and lane.plate_camera.one_field
    turned = example.read_text(encoding="utf-8").replace("# turn = 90", "turn = 90")
    (tmp_path / "edge.toml").write_text(turned, encoding="utf-8")
    (lane,) = load_config(tmp_path / "edge.toml").lanes
    assert lane.plate_camera is not None and lane.plate_camera.turn == 90
    (tmp_path / "edge.toml").write_text(turned.replace("turn = 90", "turn = 45"), encoding="utf-8")
    with pytest.raises(ConfigError, match="turn"):
        load_config(tmp_path / "edge.toml")
    example_lane = load_config(example).lanes[0]
    assert example_lane.plate_camera is not None and not example_lane.plate_camera.one_field
