"""Video camera sources through OpenCV: a video file written by cv2.VideoWriter, a live MJPEG stream
from the camera simulator, and an RTSP session (RTP/JPEG) from the RTSP camera simulator."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import cv2
import numpy as np
import pytest

from kakou.protocols.camera import CameraFault, HttpSnapshotCamera, open_camera
from kakou.protocols.camera_video import VideoCamera
from kakou.protocols.serial_link import Backoff
from kakou.sim.camera_rtsp_sim import NotRtpJpeg, RtspCameraSim, split_jpeg
from kakou.sim.camera_sim import CameraSim
from kakou.sim.render import encode_jpeg
from kakou.waiting import eventually


def write_video(path: Path, frames: int, fps: float = 20.0) -> None:
    """Frame i is a flat grey of level 20 + 10·i, so a test can tell which frame it got."""
    w = cv2.VideoWriter(str(path), cv2.VideoWriter.fourcc(*"MJPG"), fps, (160, 120))
    assert w.isOpened()
    for i in range(frames):
        w.write(np.full((120, 160, 3), 20 + 10 * i, np.uint8))
    w.release()


def level(img: np.ndarray) -> int:
    return round((float(img.mean()) - 20) / 10)


async def stale(cam: VideoCamera) -> str | None:
    try:
        await cam.snapshot()
    except CameraFault as exc:
        return str(exc) if "stale frame" in str(exc) else None
    return None


async def test_file_plays_in_real_time_then_goes_stale(tmp_path: Path) -> None:
    video = tmp_path / "lane.avi"
    write_video(video, frames=10)
    async with VideoCamera(video, max_age_s=0.3) as cam:
        a = await cam.snapshot()
        b = await cam.snapshot()
        assert a.image.shape == (120, 160, 3) and level(b.image) > level(a.image)  # distinct frames, in order
        decoded = cv2.imdecode(np.frombuffer(a.jpeg, np.uint8), cv2.IMREAD_COLOR)
        assert decoded is not None and decoded.shape == a.image.shape
        why = await eventually(lambda: stale(cam), timeout=5, what="stale frame after the file ended")
        assert "end of video file" in why
        assert cam.frames_read == 10


async def test_looping_file_stays_fresh(tmp_path: Path) -> None:
    video = tmp_path / "loop.avi"
    write_video(video, frames=4, fps=40)
    async with VideoCamera(video, max_age_s=0.3, loop=True) as cam:
        await eventually(lambda: cam.frames_read > 12, timeout=5, what="the file to replay several times")
        assert (await cam.snapshot()).image.shape == (120, 160, 3)
        assert cam.opens == 1  # rewound, not reopened


@pytest.mark.parametrize("content", [None, b"RIFF\x00\x00garbage" * 50])
async def test_missing_or_garbage_file_is_no_frame(tmp_path: Path, content: bytes | None) -> None:
    path = tmp_path / "cam.avi"
    if content is not None:
        path.write_bytes(content)
    async with VideoCamera(path, open_timeout=0.5, read_timeout=0.5) as cam:
        with pytest.raises(CameraFault, match=r"no frame within 1\.0s"):
            await cam.snapshot()
        assert cam.status.status.state == "faulted"


@pytest.fixture
async def camera_sim() -> AsyncIterator[CameraSim]:
    async with CameraSim(stream_fps=20) as sim:
        yield sim


async def test_mjpeg_stream_stall_is_stale_then_recovers(camera_sim: CameraSim) -> None:
    camera_sim.show(encode_jpeg(np.full((90, 120, 3), 200, np.uint8)))
    cam = VideoCamera(camera_sim.stream_url, read_timeout=0.5, max_age_s=0.4, backoff=Backoff(initial_s=0.1))
    async with cam:
        f = await cam.snapshot()
        assert f.image.shape == (90, 120, 3) and abs(float(f.image.mean()) - 200) < 3
        camera_sim.stalled = True
        await eventually(lambda: stale(cam), timeout=5, what="stale frame while the stream is stalled")
        await eventually(lambda: cam.status.status.state == "faulted", timeout=5, what="the read timeout")
        camera_sim.stalled = False
        camera_sim.show(encode_jpeg(np.full((90, 120, 3), 60, np.uint8)))

        async def fresh_dark() -> bool:
            try:
                return abs(float((await cam.snapshot()).image.mean()) - 60) < 3
            except CameraFault:
                return False

        await eventually(fresh_dark, timeout=10, what="the stream to be reopened")
        assert cam.opens >= 2 and cam.status.status.state == "online"


async def test_dead_stream_and_rtsp_are_no_frame(camera_sim: CameraSim) -> None:
    camera_sim.show(None)  # the camera is up but has no picture: the stream sends no frame at all
    for url in (camera_sim.stream_url, "rtsp://127.0.0.1:9/lane1"):
        async with VideoCamera(url, open_timeout=0.5, read_timeout=0.5) as cam:
            with pytest.raises(CameraFault, match="no frame"):
                await cam.snapshot()


async def test_open_camera_picks_the_source() -> None:
    assert isinstance(open_camera("http://cam/snapshot.jpg"), HttpSnapshotCamera)
    for url in ("rtsp://cam/h264", "http://cam/video.mjpg", "/var/lib/kakou/test.mp4"):
        assert isinstance(open_camera(url), VideoCamera)
    with pytest.raises(ValueError, match="unknown camera kind"):
        open_camera("x", kind="thermal")


async def test_rtsp_camera_session_stall_and_reconnect() -> None:
    """A real RTSP session (DESCRIBE/SETUP/PLAY, RTP/JPEG interleaved) decoded by FFmpeg inside OpenCV."""
    left_red = np.zeros((240, 320, 3), np.uint8)
    left_red[:, :160] = (0, 0, 255)
    left_red[:, 160:] = (200, 200, 200)
    async with RtspCameraSim(fps=20) as sim:
        sim.show(encode_jpeg(left_red))
        async with VideoCamera(
            sim.url, open_timeout=5, read_timeout=0.5, max_age_s=0.4, backoff=Backoff(initial_s=0.1)
        ) as cam:
            f = await cam.snapshot()
            assert f.image.shape == (240, 320, 3)
            assert f.image[120, 80].tolist()[2] > 240 and abs(int(f.image[120, 240, 0]) - 200) < 6
            sim.stalled = True
            why = await eventually(lambda: stale(cam), timeout=5, what="stale frame while RTP stops")
            assert "stale frame" in why
            sim.stalled = False
            await sim.disconnect()  # the camera reboots: the session is gone, the client must redial
            await eventually(
                lambda: cam.opens >= 2 and cam.status.status.state == "online", timeout=15, what="a new RTSP session"
            )
            assert (await cam.snapshot()).image.shape == (240, 320, 3)
            assert sim.sessions >= 2


def test_rtp_jpeg_refuses_what_rfc2435_cannot_carry() -> None:
    with pytest.raises(NotRtpJpeg):
        split_jpeg(b"GIF89a")
    with pytest.raises(NotRtpJpeg, match="multiple of 8"):
        split_jpeg(encode_jpeg(np.zeros((50, 50, 3), np.uint8)))
    ok = split_jpeg(encode_jpeg(np.zeros((48, 64, 3), np.uint8)))
    assert (ok.type, ok.width, ok.height, len(ok.qtables)) == (1, 64, 48, 128)
