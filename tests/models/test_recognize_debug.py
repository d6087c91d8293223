"""`kakou recognize --debug DIR`: what a technician gets to see why a frame failed."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from kakou.cli import main
from kakou.models.camera_variation import hazy, interlaced, shaded, smeared
from kakou.sim.render import encode_jpeg, render_container_scene, render_plate_scene


def test_plate_debug_writes_drawn_frame_and_candidates(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    frame = render_plate_scene("粤B12345", "blue")
    good = tmp_path / "in" / "gate.jpg"
    good.parent.mkdir()
    good.write_bytes(encode_jpeg(frame))
    same_name = tmp_path / "other" / "gate.jpg"  # two inputs with one name: neither is overwritten
    same_name.parent.mkdir()
    same_name.write_bytes(b"not an image")
    out = tmp_path / "debug"

    assert main(["recognize", "plate", "--debug", str(out), str(good), str(same_name)]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [ln["debug"] for ln in lines] == [str(out / "gate.json"), str(out / "gate-2.json")]

    doc = json.loads((out / "gate.json").read_text(encoding="utf-8"))
    assert (doc["read"]["text"], doc["read"]["valid"], doc["kind"]) == ("粤B12345", True, "plate")
    assert doc["read"]["raw"] and doc["threshold"] == 0.8 and doc["ms"] > 0
    assert doc["frame"] == {"width": 1280, "height": 720}
    assert doc["regions"] and all(len(r["box"]) == 4 for r in doc["regions"])
    found = [ln for st in doc["stages"] for ln in st["lines"]]
    assert any(ln["reads_as"] == "粤B12345" and len(ln["box"]) == 8 for ln in found)
    assert [ln["n"] for ln in found] == list(range(1, len(found) + 1))
    assert doc["candidates"][0]["reads_as"] == "粤B12345"

    drawn = cv2.imread(str(out / doc["image"]))
    assert drawn is not None
    assert drawn.shape == frame.shape
    assert float(np.abs(drawn.astype(int) - frame.astype(int)).mean()) > 0.5  # boxes and labels on it

    bad = json.loads((out / "gate-2.json").read_text(encoding="utf-8"))
    assert bad["read"]["text"] is None and "not a decodable image" in bad["read"]["error"]
    assert not (out / "gate-2.jpg").exists()


def test_container_debug_lists_the_code_lines(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    img = tmp_path / "door.jpg"
    img.write_bytes(encode_jpeg(render_container_scene("CSQU3054383")))
    out = tmp_path / "debug"
    assert main(["recognize", "container", "--debug", str(out), str(img)]) == 0
    assert json.loads(capsys.readouterr().out)["text"] == "CSQU3054383"
    doc = json.loads((out / "door.json").read_text(encoding="utf-8"))
    texts = " ".join(ln["text"] for st in doc["stages"] for ln in st["lines"])
    assert "CSQU" in texts and "45G1" in texts
    assert (out / "door.jpg").is_file()


def test_debug_folder_that_cannot_be_made(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    blocker = tmp_path / "file"
    blocker.write_text("x")
    assert main(["recognize", "plate", "--debug", str(blocker / "sub"), str(blocker)]) == 2
    assert "cannot create" in capsys.readouterr().err


def _debugged(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], **frames: np.ndarray
) -> tuple[list[dict[str, Any]], dict[str, dict[str, Any]]]:
    """`kakou recognize plate --debug` over the frames, saved as NAME.png: the JSON lines it
    printed and the debug document of each frame, by name."""
    for name, frame in frames.items():
        cv2.imwrite(str(tmp_path / f"{name}.png"), frame)
    out = tmp_path / "debug"
    assert main(["recognize", "plate", "--debug", str(out), *(str(tmp_path / f"{n}.png") for n in frames)]) == 0
    printed = [json.loads(ln) for ln in capsys.readouterr().out.splitlines()]
    return printed, {n: json.loads((out / f"{n}.json").read_text(encoding="utf-8")) for n in frames}


def test_debug_says_how_blurred_the_frame_is_and_how_dim_each_region(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A technician sees a camera exposing too long for the traffic as a blur length. (A hint:
    periodic paint, a grille or corrugation, can pass for a blur on a sharp frame.)"""
    frame = render_plate_scene("粤B12345", "blue")
    _, docs = _debugged(tmp_path, capsys, sharp=frame, moving=smeared(frame, 12))
    assert (docs["sharp"]["motion_blur"] or {}).get("along") != "rows"
    assert docs["moving"]["motion_blur"] == {"px": 12, "along": "rows"}
    assert all(0 <= r["light_span"][0] <= r["light_span"][1] <= 255 for r in docs["sharp"]["regions"])


def test_debug_says_how_an_interlaced_frame_was_put_right(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A technician sees an analogue camera's combed fields and how far the odd one was slid
    back; a progressive frame says nothing of it."""
    frame = render_plate_scene("粤B12345", "blue")
    printed, docs = _debugged(tmp_path, capsys, still=frame, passing=interlaced(frame, 6))
    assert [ln["text"] for ln in printed] == ["粤B12345", "粤B12345"]
    assert docs["still"]["interlaced"] is None
    seen = docs["passing"]["interlaced"]
    assert seen["slide_px"] == [6, 0] and 0.01 <= seen["combed_share"] <= 1


def test_debug_says_when_a_veil_was_lifted(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """Fog or a dirty window: the technician sees the lightness span the frame was stretched
    from; a clear frame says nothing of it."""
    frame = render_plate_scene("粤B12345", "blue")
    printed, docs = _debugged(tmp_path, capsys, clear=frame, fog=hazy(frame, 0.6))
    assert [ln["text"] for ln in printed] == ["粤B12345", "粤B12345"]
    assert docs["clear"]["veiled"] is None
    low, high = docs["fog"]["veiled"]["light_span"]
    assert 70 <= low < high <= 255 and high - low <= 170


def test_debug_shows_a_shadow_edge(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A canopy's shadow across the frame: the technician sees where its edge runs, which side
    is shaded and how much light that side has; a frame in even light says nothing of it."""
    frame = render_plate_scene("粤B12345", "blue")
    _, docs = _debugged(tmp_path, capsys, even=frame, shade=shaded(frame, 0.3, 80, at=0.4))
    assert docs["even"]["shadow"] is None
    shadow = docs["shade"]["shadow"]
    assert abs(shadow["angle"] - 80) <= 4 and abs(shadow["x_at_middle"] - 0.4) <= 0.02
    assert shadow["shaded"] == "left" and 0.2 <= shadow["light_share"] <= 0.4


def test_debug_shows_which_way_a_container_frame_must_turn(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """A roof seen from above, upside down: the technician sees the turn the reader tried."""
    scene = render_container_scene("CSQU3054383", seed=1)
    for name, frame in (("upright", scene), ("roof", cv2.rotate(scene, cv2.ROTATE_180))):
        cv2.imwrite(str(tmp_path / f"{name}.png"), frame)
    out = tmp_path / "debug"
    args = ["recognize", "container", "--debug", str(out), str(tmp_path / "upright.png"), str(tmp_path / "roof.png")]
    assert main(args) == 0
    assert [json.loads(ln)["text"] for ln in capsys.readouterr().out.splitlines()] == ["CSQU3054383"] * 2
    turns = [json.loads((out / f"{n}.json").read_text(encoding="utf-8"))["upright_turn"] for n in ("upright", "roof")]
    assert turns == [None, 180]


def test_debug_shows_the_plate_networks_reading_of_a_crop(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    """On a plate crop, what the second recogniser reads and whether it is sure enough to count;
    on a scene, nothing (the reader does not ask it there)."""
    from kakou.sim.render_plates import plate_crop

    crop, scene = tmp_path / "crop.png", tmp_path / "scene.png"
    cv2.imwrite(str(crop), plate_crop("粤B8D0T5"))
    cv2.imwrite(str(scene), render_plate_scene("粤B12345", "blue"))
    out = tmp_path / "debug"
    assert main(["recognize", "plate", "--debug", str(out), str(crop), str(scene)]) == 0
    capsys.readouterr()
    net = json.loads((out / "crop.json").read_text(encoding="utf-8"))["plate_net"]
    assert net["text"][1:] == "B8D0T5" and net["body_sure"] is True
    assert [c for c, _ in net["chars"]] == list(net["text"])
    assert json.loads((out / "scene.json").read_text(encoding="utf-8"))["plate_net"] is None
