"""The field evaluation on a tiny folder in the fielddata format, built from our own renders
(real photos never enter the repository): figures, failures, problems, and `kakou bench`."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from kakou import bench
from kakou.cli import main
from kakou.models.camera_variation import MAX_SIDE, MILD_VARIATIONS, VARIATIONS, variation
from kakou.models.container import ContainerRead
from kakou.models.field_eval import (
    FieldReport,
    LabelRow,
    categorise,
    evaluate,
    failure_lines,
    load_labels,
    quick_subset,
)
from kakou.models.field_eval import main as field_main
from kakou.models.plate import PlateRead, PlateReader
from kakou.sim.render import encode_jpeg, render_container_scene, render_plate_scene
from kakou.sim.render_plates import plate_crop

LABELS = [
    "kind\tfile\tlabel\tnotes",
    "plate\tplate/good.jpg\t粤B12345\tday,blue",
    "plate\tplate/mislabelled.jpg\t京A8F3K3\tyellow",  # the image shows 京A8F3K2
    "plate-crop\tcrop/c.png\t沪A52913\tcrop",
    "container\tcontainer/d.jpg\tCSQU 305438 3\tnormal",  # spaces in a code label are fine
    "plate\tplate/missing.jpg\t粤B00001\tday",
    "plate\tplate/corrupt.jpg\t粤B00002\tday",
    "plate\tonly-two-columns",
    "truck\tplate/good.jpg\t粤B12345\t",
    "# a comment line",
]


@pytest.fixture(scope="module")
def field_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("fielddata")
    for sub in ("plate", "crop", "container"):
        (root / sub).mkdir()
    (root / "plate/good.jpg").write_bytes(encode_jpeg(render_plate_scene("粤B12345", "blue")))
    (root / "plate/mislabelled.jpg").write_bytes(encode_jpeg(render_plate_scene("京A8F3K2", "yellow", seed=11)))
    cv2.imwrite(str(root / "crop/c.png"), plate_crop("沪A52913"))
    (root / "container/d.jpg").write_bytes(encode_jpeg(render_container_scene("CSQU3054383")))
    (root / "plate/corrupt.jpg").write_bytes(b"\xff\xd8 this is not a JPEG")
    (root / "labels.tsv").write_text("\n".join(LABELS) + "\n", encoding="utf-8")
    return root


@pytest.fixture(scope="module")
def report(field_dir: Path) -> FieldReport:
    return evaluate(field_dir)


def test_figures_per_kind(report: FieldReport) -> None:
    plate, crop, box = (report.figure(k) for k in ("plate", "plate-crop", "container"))
    assert plate is not None and crop is not None and box is not None
    # The missing and the corrupt plate are not frames: two plates were evaluated.
    assert (plate.n, plate.exact, plate.wrong_valid, plate.no_read) == (2, 1, 1, 0)
    assert (plate.exact_pct, plate.wrong_valid_pct) == (50.0, 50.0)
    assert (crop.n, crop.exact_pct) == (1, 100.0)
    assert (box.n, box.exact_pct, box.wrong_valid) == (1, 100.0, 0)
    for fig in (plate, crop, box):
        assert fig.mean_ms is not None and fig.p95_ms is not None and 0 < fig.mean_ms <= fig.p95_ms
        # The process's CPU time: the recogniser ran, on at most two intra-op threads (ocr.default_threads).
        assert fig.mean_cpu_ms is not None and fig.p95_cpu_ms is not None
        assert 0 < fig.mean_cpu_ms <= fig.mean_ms * 2.2 + 1


def test_figures_per_tag(report: FieldReport) -> None:
    tags = {(f.kind, f.tag): f for f in report.tags}
    assert set(tags) == {
        ("plate", "day"),
        ("plate", "blue"),
        ("plate", "yellow"),
        ("plate-crop", "crop"),
        ("container", "normal"),
    }
    assert (tags["plate", "yellow"].n, tags["plate", "yellow"].wrong_valid) == (1, 1)
    assert (tags["plate", "day"].n, tags["plate", "day"].exact) == (1, 1)


def test_failures_list_the_wrong_read(report: FieldReport) -> None:
    assert [(f.file, f.label, f.text, f.category) for f in report.failures] == [
        ("plate/mislabelled.jpg", "京A8F3K3", "京A8F3K2", "wrong_valid")
    ]
    (fail,) = report.failures
    assert fail.valid and fail.raw and fail.confidence >= 0.8 and fail.notes == ["yellow"]
    assert fail.extra["kind"] == "standard"  # the reader's own extra fields come along
    (line,) = failure_lines(report)
    assert "plate/mislabelled.jpg" in line and "京A8F3K3" in line and "wrong_valid" in line


def test_bad_rows_and_files_are_reported_not_fatal(report: FieldReport) -> None:
    problems = {(p.line, p.file): p.reason for p in report.problems}
    assert problems.keys() == {(6, "plate/missing.jpg"), (7, "plate/corrupt.jpg"), (8, None), (9, "plate/good.jpg")}
    assert problems[6, "plate/missing.jpg"] == "file not found"
    assert problems[7, "plate/corrupt.jpg"].startswith("unreadable image")
    assert "columns" in problems[8, None] and "unknown kind 'truck'" in problems[9, "plate/good.jpg"]


def test_report_round_trips_through_json(report: FieldReport) -> None:
    doc = json.loads(report.model_dump_json())
    assert [f["file"] for f in doc["failures"]] == ["plate/mislabelled.jpg"]
    again = FieldReport.model_validate(doc)
    assert again.kinds == report.kinds and again.failures == report.failures


def test_missing_labels_file_is_a_problem(tmp_path: Path) -> None:
    rows, problems = load_labels(tmp_path)
    assert rows == [] and len(problems) == 1 and "labels.tsv" in problems[0].reason
    assert evaluate(tmp_path).frames == []


def test_threshold_catches_wrong_and_loses_right_reads(field_dir: Path) -> None:
    """A threshold above every confidence: the mislabelled frame's read no longer reaches the
    lane (caught), the correctly labelled one is lost to it."""
    strict = PlateReader(threshold=1.01)
    r = evaluate(field_dir, kinds=["plate"], readers={"plate": strict})
    plate = r.figure("plate")
    assert plate is not None
    assert (plate.n, plate.no_read, plate.caught_by_threshold, plate.lost_by_threshold) == (2, 2, 1, 1)
    effects = {f.file: f.threshold_effect for f in r.frames}
    assert effects == {"plate/good.jpg": "lost", "plate/mislabelled.jpg": "caught"}


def test_categories() -> None:
    t, label = 0.8, "粤B12345"
    assert categorise("plate", label, PlateRead(text="粤B12345", confidence=0.9, valid=True), t) == ("exact", None)
    assert categorise("plate", label, PlateRead(text="粤B12845", confidence=0.9, valid=True), t)[0] == "wrong_valid"
    assert categorise("plate", label, PlateRead(text="B12345", confidence=0.9, valid=False), t)[0] == "text_invalid"
    # A check-digit failure is caught by the check digit, not by the threshold.
    bad_check = ContainerRead(text=None, confidence=0.95, valid=False, raw="CSQU3054384")
    assert categorise("container", "CSQU3054383", bad_check, t) == ("no_read", None)
    low = ContainerRead(text=None, confidence=0.5, valid=False, raw="CSQU 305438 [3]")
    assert categorise("container", "CSQU3054383", low, t) == ("no_read", "lost")
    assert categorise("container", "MSKU1234565", low, t) == ("no_read", "caught")
    nothing = ContainerRead(text=None, confidence=0.0, valid=False, error="blank image")
    assert categorise("container", "CSQU3054383", nothing, t) == ("no_read", None)


def test_quick_subset_spreads_over_each_kind() -> None:
    rows = [LabelRow(line=i, kind="plate" if i < 100 else "container", file=f"{i}.jpg", label="x") for i in range(130)]
    picked = quick_subset(rows, per_kind=10)
    plates = [r.line for r in picked if r.kind == "plate"]
    assert plates == list(range(0, 100, 10))
    assert len([r for r in picked if r.kind == "container"]) == 10


def test_bench_prints_field_figures_next_to_goals(field_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--only", "field", "--field", str(field_dir), "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    rows = {m["name"]: m for m in doc["metrics"]}
    exact = rows["field plates (whole scene) exact reads"]
    assert (exact["value"], exact["goal"], exact["met"]) == (50.0, 97.0, False)
    wrong = rows["field plates (whole scene) wrong-but-valid reads"]
    assert (wrong["value"], wrong["goal"], wrong["met"]) == (50.0, 0.5, False)
    assert rows["field containers exact reads"]["met"] is True
    assert rows["field containers read per frame p95"]["goal"] == 250
    # Both plate scenes are rendered at 1280 x 720, a gate camera's size; the crop is not one.
    gate = rows["field plates (whole scene) read per gate-camera frame p95"]
    assert gate["goal"] == 150 and gate["value"] is not None and "the 2 frames of 1280-1920 px" in gate["note"]
    assert "field plate crops read per gate-camera frame p95" not in rows  # crops have no frame-time goal
    assert rows["field plate [yellow] exact reads"]["value"] == 0.0
    assert rows["field set rows not evaluated"]["value"] == 4
    assert not any(name.startswith("plate exact") for name in rows)  # --only field: no rendered sets
    assert [f["file"] for f in doc["field"]["failures"]] == ["plate/mislabelled.jpg"]

    assert main(["bench", "--only", "field", "--field", str(field_dir)]) == 0
    out = capsys.readouterr().out
    assert "field failures (1 of 4 frames" in out and "plate/mislabelled.jpg" in out
    assert "plate/missing.jpg: file not found" in out


def test_bench_field_folder_must_exist(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--only", "field", "--field", str(tmp_path / "nowhere")]) == 2
    assert "labels.tsv" in capsys.readouterr().err


def test_bench_says_when_the_default_folder_is_missing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(bench, "DEFAULT_FIELD", Path("..") / "no-such-fielddata")
    field = bench.resolve_field(None)
    assert field.folder is None
    (row,) = bench.bench_field(True, field)
    assert row.value is None and "not found" in row.note and "rendered sets" in row.note


@pytest.mark.parametrize("name", [*VARIATIONS, *MILD_VARIATIONS])
def test_each_camera_variation_gives_a_frame_of_the_same_kind_the_same_way_twice(name: str) -> None:
    frame = render_plate_scene("粤B12345", "blue", seed=3)
    a, b = variation(name)(frame), variation(name)(frame)
    assert a.dtype == np.uint8 and a.ndim == 3 and a.shape[2] == 3
    assert np.array_equal(a, b)  # a run can be repeated frame for frame
    assert not np.array_equal(a, frame)  # and it does change the frame
    assert max(a.shape[:2]) <= MAX_SIDE


def test_nearer_stops_at_the_largest_frame_side() -> None:
    big = np.zeros((1080, 1900, 3), np.uint8)
    assert VARIATIONS["near"](big).shape[1] == MAX_SIDE


def test_a_camera_from_the_side_sees_the_scene_narrower_and_its_far_side_smaller() -> None:
    frame = np.zeros((400, 600, 3), np.uint8)
    frame[150:250, 200:400] = 255  # a plate-shaped board in the middle
    seen = VARIATIONS["yaw30"](frame)[..., 0] > 127
    cols = np.flatnonzero(seen.any(axis=0))
    assert 150 < cols[-1] - cols[0] < 200  # foreshortened
    assert seen[:, cols[-1] - 3].sum() < seen[:, cols[0] + 3].sum() - 4  # the far side is shorter


def test_field_set_read_under_a_variation(field_dir: Path, capsys: pytest.CaptureFixture[str]) -> None:
    report = evaluate(field_dir, kinds=["plate"], vary="far")
    assert report.variation == "far"
    good = next(f for f in report.frames if f.file == "plate/good.jpg")
    assert (good.category, good.text) == ("exact", "粤B12345")  # a plate 0.7x as large still reads
    with pytest.raises(ValueError, match="known: far"):
        evaluate(field_dir, vary="sideways")

    assert field_main([str(field_dir), "--kind", "plate", "--vary", "far", "--vary", "tilt+4"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split()[:2] for ln in lines[:2]] == [["far", "plate"], ["tilt+4", "plate"]]
    assert "wrong-but-valid 1" in lines[0] and "mislabelled=京A8F3K2" in lines[0]  # the label is wrong
    # Last, per kind, the frames that read under every variation run, and those read wrong under any.
    assert lines[2:] == ["every one plate      read under all 2: 1/2 frames | wrong-but-valid under some: mislabelled"]


def test_the_mild_group_reads_the_set_under_each_small_difference_between_two_frames(
    field_dir: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert field_main([str(field_dir), "--kind", "plate-crop", "--vary", "mild", "--vary", "jpeg70"]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert [ln.split()[0] for ln in lines[:-1]] == list(MILD_VARIATIONS)  # each once, in order
    assert lines[-1].startswith(f"every one plate-crop read under all {len(MILD_VARIATIONS)}: ")


def test_a_wider_view_keeps_the_frame_as_it_is_inside_a_larger_one() -> None:
    frame = cv2.resize(render_plate_scene("粤B12345", "blue", seed=3), (640, 360), interpolation=cv2.INTER_AREA)
    wide = VARIATIONS["wide"](frame)
    assert wide.shape[:2] == (720, 1280)
    y, x = int(360 * 0.2), int(640 * 0.1)
    assert np.array_equal(wide[y : y + 360, x : x + 640], frame)  # the plate keeps its pixels
    assert PlateReader().read(wide).text == "粤B12345"
    # Around it the scene is out of focus: nothing there reads.
    around = wide.copy()
    around[y : y + 360, x : x + 640] = wide[0, 0]
    assert PlateReader().read(around).text is None
    # A frame at the largest side, or a cut-out (a plate crop), has no wider view.
    assert VARIATIONS["wide"](np.zeros((1080, 1920, 3), np.uint8)).shape == (1080, 1920, 3)
    crop = plate_crop("沪A52913")
    assert np.array_equal(VARIATIONS["wide"](crop), crop)
