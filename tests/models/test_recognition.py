"""End-to-end reads of simulator-rendered frames, bad images, voting and the CLI."""

import json
import subprocess
import sys
from pathlib import Path

import cv2
import numpy as np
import pytest

from kakou.cli import main
from kakou.models import container as container_module
from kakou.models.camera_variation import rotated
from kakou.models.container import ContainerRead, ContainerReader, make_code
from kakou.models.plate import PlateRead, PlateReader
from kakou.models.plate_grammar import EXAMPLE_LATIN_PATTERNS
from kakou.models.reading import vote
from kakou.sim.render import backlit, encode_jpeg, render_code_crop, render_container_scene, render_plate_scene


@pytest.fixture(scope="module")
def plates() -> PlateReader:
    return PlateReader(latin_patterns=EXAMPLE_LATIN_PATTERNS)


@pytest.fixture(scope="module")
def containers() -> ContainerReader:
    return ContainerReader()


@pytest.mark.parametrize(
    ("kind", "text", "seed"),
    [
        ("blue", "粤B12345", None),
        ("yellow", "京A8F3K2", 11),
        ("green", "沪AD12345", 12),
        ("double_yellow", "鲁Q7N521", 13),
        ("latin", "AB1234", 14),
    ],
)
def test_reads_each_plate_kind(plates: PlateReader, kind: str, text: str, seed: int | None) -> None:
    r = plates.read(render_plate_scene(text, kind, seed=seed))
    assert (r.text, r.valid) == (text, True)
    assert r.confidence >= plates.threshold


@pytest.mark.parametrize("seed", [60, 61, 62])
def test_backlit_plate_is_read_after_light_equalisation(plates: PlateReader, seed: int) -> None:
    r = plates.read(backlit(render_plate_scene("粤B12345", "blue", seed=seed)))
    assert (r.text, r.valid) == ("粤B12345", True)


def test_foreign_plate_is_not_valid_unless_the_site_configures_it() -> None:
    r = PlateReader().read(render_plate_scene("AB1234", "latin", seed=14))
    assert not r.valid and r.text is None  # the officer keys it; what OCR saw is kept
    assert r.raw is not None and "AB1234" in r.raw.replace(" ", "")


@pytest.mark.parametrize(("code", "seed"), [("CSQU3054383", None), ("MSKU1234565", 21)])
def test_reads_container_code_with_boxed_check_digit(containers: ContainerReader, code: str, seed: int | None) -> None:
    r = containers.read(render_container_scene(code, seed=seed))
    assert (r.text, r.valid, r.size_type) == (code, True, "45G1")


@pytest.mark.parametrize(("code", "seed"), [("TGHU8832010", None), ("MSKU1234565", 31), ("CXTU1125031", 33)])
def test_reads_owner_code_painted_above_the_serial(containers: ContainerReader, code: str, seed: int | None) -> None:
    # Three rows: owner code, serial with its boxed check digit, size/type.
    r = containers.read(render_container_scene(code, seed=seed, layout="two_row"))
    assert (r.text, r.valid) == (code, True)


@pytest.mark.parametrize(("code", "seed"), [("CPRU7775339", 200), ("MSKU1234565", 201), ("TGHU8832010", 202)])
def test_reads_a_vertical_code_one_character_per_row(containers: ContainerReader, code: str, seed: int) -> None:
    r = containers.read(render_container_scene(code, seed=seed, layout="vertical"))
    assert (r.text, r.valid) == (code, True)


@pytest.mark.parametrize(("code", "seed", "degrees"), [("CPRU7775339", 200, -8), ("MSKU1234565", 201, -12)])
def test_reads_a_vertical_code_leaning_in_a_rolled_camera(
    containers: ContainerReader, code: str, seed: int, degrees: float, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A camera rolled on its mount: the column leans and drifts across its strip; it is read
    # with the frame turned upright around it (vertical.upright). Without the turn, no read
    # (the whole frame turned a quarter, the last attempt, reads the rolled column of seed 200
    # too: orientation.turn_to_read, not asked here).
    frame = rotated(render_container_scene(code, seed=seed, layout="vertical"), degrees)
    r = containers.read(frame)
    assert (r.text, r.valid) == (code, True)
    monkeypatch.setattr(container_module, "MIN_TILT", 90.0)
    monkeypatch.setattr(container_module, "turn_to_read", lambda _engine, _frame: None)
    assert not containers.read(frame).valid


@pytest.mark.parametrize(("code", "seed", "side"), [("RUAU8079406", 500, 266), ("EQTU2345104", 504, 248)])
def test_reads_a_vertical_code_on_a_light_sticker_in_a_small_crop(
    containers: ContainerReader, code: str, seed: int, side: int
) -> None:
    # Black print on a light strip on a dark door, ~10-14 px characters: the detector finds
    # nothing until the crop is enlarged, and the cells are laid out on the sticker's paper.
    r = containers.read(render_code_crop(code, seed=seed, layout="vertical_sticker", side=side))
    assert (r.text, r.valid) == (code, True)


@pytest.mark.parametrize(("code", "seed", "side"), [("WEBU3739068", 509, 240), ("RUAU8079406", 500, 445)])
def test_reads_a_small_fisheye_crop_of_a_vertical_code(
    containers: ContainerReader, code: str, seed: int, side: int
) -> None:
    # Thin strokes through a soft wide-angle lens: character rows are cut from the ink profile
    # (240 px), and two letters joined into one row twice as tall are cut apart (445 px: R+U).
    r = containers.read(render_code_crop(code, seed=seed, side=side, lens=0.4))
    assert (r.text, r.valid) == (code, True)


@pytest.mark.parametrize(
    ("code", "seed"), [("RWWL4564317", None), ("RWWL4564317", 21), ("TRLB0012343", 23), ("WYHL1143590", 700)]
)
def test_reads_a_code_whose_category_letter_is_not_u_j_or_z(
    containers: ContainerReader, code: str, seed: int | None
) -> None:
    # Some owners paint another category letter (RWWL: L). Read sure and with its check digit;
    # WYHL: the recogniser drops the boxed digit, which is then read from the box alone.
    r = containers.read(render_container_scene(code, seed=seed))
    assert (r.text, r.valid) == (code, True)


@pytest.mark.parametrize("seed", [None, 71, 76])
def test_reads_the_container_in_the_lane_not_the_one_behind(containers: ContainerReader, seed: int | None) -> None:
    # Both codes are valid; the nearer container's is the larger marking.
    r = containers.read(render_container_scene("MSKU1234565", seed=seed, behind="GATU0407931"))
    assert (r.text, r.valid) == ("MSKU1234565", True)
    assert set(r.also_seen) <= {"GATU0407931"}  # said so when the other code was read too
    if seed is None:
        assert r.also_seen == ("GATU0407931",)


@pytest.mark.parametrize("seed", [None, 301, 303])
def test_two_containers_on_one_chassis_give_two_codes(containers: ContainerReader, seed: int | None) -> None:
    frame = render_container_scene("MSKU1234565", seed=seed, beside="TGHU8832010")
    assert {r.text for r in containers.read_all(frame)} == {"MSKU1234565", "TGHU8832010"}


@pytest.mark.parametrize(("layout", "seed"), [("vertical", 0), ("vertical", 3), ("vertical_sticker", 2)])
def test_a_far_cameras_vertical_code_is_read_enlarged(containers: ContainerReader, layout: str, seed: int) -> None:
    """A 480 px frame of a door whose code runs down the corner post: one character per row,
    8-9 px high, which the detector (it never enlarges) does not find; enlarged, it reads."""
    frame = render_container_scene("MSKU1234565", seed=seed, layout=layout)
    small = cv2.GaussianBlur(cv2.resize(frame, (480, 270), interpolation=cv2.INTER_AREA), (3, 3), 0)
    r = containers.read(small)
    assert (r.text, r.valid) == ("MSKU1234565", True)


@pytest.mark.parametrize("seed", [None, 303])
def test_two_codes_as_large_as_each_other_are_not_read_as_either(containers: ContainerReader, seed: int | None) -> None:
    """Size tells the lane's container from one further away; two codes of one size (side by
    side, or a tilted camera) leave `read` nothing to choose by: the officer sees both, and
    the lane (read_codes) takes both where both belong to the vehicle."""
    r = containers.read(render_container_scene("MSKU1234565", seed=seed, beside="TGHU8832010"))
    assert (r.text, r.valid) == (None, False) and r.confidence < containers.threshold
    assert r.also_seen == ("MSKU1234565", "TGHU8832010")


@pytest.mark.parametrize(
    ("left", "right", "seed"),
    [("GLDU0237570", "CXTU3141875", 103), ("POCU0712711", "CLHU9425610", 109), ("TTNU0633521", "YMMU8378329", 108)],
)
def test_side_by_side_codes_whose_check_box_outline_is_faint_are_both_read(
    containers: ContainerReader, left: str, right: str, seed: int
) -> None:
    # At this scale the boxes' thin edges break under a global threshold (no closed contour):
    # the box is found by its sides or its top and bottom bars, and read without its outline.
    frame = render_container_scene(left, seed=seed, beside=right)
    assert {r.text for r in containers.read_all(frame)} == {left, right}


def test_side_by_side_codes_with_runs_of_one_digit_are_both_read(containers: ContainerReader) -> None:
    # "000000" read at the line's own width merges into fewer zeros (CTC); the group is read
    # again 2.5 times as wide when it has fewer characters than the plain reading had.
    frame = render_container_scene("MSKU0000006", beside="TGHU0000008")
    assert {r.text for r in containers.read_all(frame)} == {"MSKU0000006", "TGHU0000008"}


def test_a_character_the_reach_over_the_box_reads_worse_is_taken_from_the_fitted_crop(
    containers: ContainerReader,
) -> None:
    # Read over the box, MEDU's "0" came out 0.52 beside "1" (officer); the crop fitted to the
    # detector's box reads it sure, and the box's digit is read on its own.
    frame = render_container_scene("CPWU0554338", seed=107, beside="MEDU7331030")
    assert {r.text for r in containers.read_all(frame)} == {"CPWU0554338", "MEDU7331030"}


def test_read_all_leaves_out_a_container_further_away(containers: ContainerReader) -> None:
    frame = render_container_scene("MSKU1234565", seed=71, behind="GATU0407931")
    assert [r.text for r in containers.read_all(frame)] == ["MSKU1234565"]


def test_codes_vote_across_frames_and_cameras(containers: ContainerReader) -> None:
    side = [render_container_scene("MSKU1234565", seed=s, beside="TGHU8832010") for s in (301, 303)]
    rear = [render_container_scene("MSKU1234565", seed=21)]
    # The rear camera sees one container; the side camera both: the union, each at its best camera.
    assert {r.text for r in containers.read_codes([rear, side])} == {"MSKU1234565", "TGHU8832010"}
    # Within one camera, a code in one frame of three is below the threshold (1/3 of its confidence).
    codes = containers.read_codes([[*rear, *rear, side[0]]])
    assert [r.text for r in codes] == ["MSKU1234565"]
    assert containers.read_codes([]) == [] and containers.read_codes([[]]) == []


def test_a_wrong_check_digit_is_never_read_as_a_code(containers: ContainerReader) -> None:
    code = "MSKU1234565"
    painted = code[:10] + "7"  # a misprinted (or misread) check digit fails ISO 6346
    for layout in ("one_row", "two_row"):
        r = containers.read(render_container_scene(painted, seed=None, layout=layout))
        assert r.text is None and not r.valid


@pytest.mark.parametrize(
    "image",
    [
        np.zeros((720, 1280, 3), np.uint8),  # lens cap
        np.full((720, 1280), 200, np.uint8),  # blank grey, single channel
        np.zeros((4, 4, 3), np.uint8),  # tiny
        np.zeros((0, 0, 3), np.uint8),  # empty
        np.zeros((10, 10, 10, 3), np.uint8),  # wrong shape
        "not an image",
    ],
)
def test_bad_images_give_a_reason_not_an_exception(
    plates: PlateReader, containers: ContainerReader, image: object
) -> None:
    for reader in (plates, containers):
        r = reader.read(image)  # type: ignore[arg-type]
        assert r.text is None and not r.valid and r.error


def test_noise_frame_is_not_a_valid_read(containers: ContainerReader) -> None:
    noise = np.random.default_rng(0).integers(0, 256, (360, 640, 3), dtype=np.uint8)
    r = containers.read(noise)
    assert not r.valid and r.text is None


def test_huge_frame_is_downscaled_and_read(plates: PlateReader) -> None:
    r = plates.read(render_plate_scene("浙A12345", "blue", width=3840, height=2160))
    assert r.text == "浙A12345"


def test_vote_prefers_agreement_and_sends_disagreement_to_officer() -> None:
    a = PlateRead(text="粤B12345", confidence=0.95, valid=True)
    b = PlateRead(text="粤B12346", confidence=0.9, valid=True)
    none = PlateRead(text=None, confidence=0.0, valid=False, error="blank image")
    assert vote([a, a, none], 0.8, PlateRead).text == "粤B12345"
    split = vote([a, b], 0.8, PlateRead)
    assert split.text is None and split.raw == "粤B12345"
    assert vote([none], 0.8, PlateRead).error == "blank image"
    assert vote([], 0.8, ContainerRead).text is None


def test_read_many(plates: PlateReader) -> None:
    frames = [render_plate_scene("皖K9M321", "yellow", seed=s) for s in (31, 32)]
    frames.append(np.zeros((8, 8, 3), np.uint8))  # a broken frame does not spoil the vote
    r = plates.read_many(frames)
    assert r.text == "皖K9M321" and r.valid


def test_cli_prints_one_json_line_per_file(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "c.jpg"
    good.write_bytes(encode_jpeg(render_container_scene("CSQU3054383")))
    bad = tmp_path / "bad.jpg"
    bad.write_bytes(b"\xff\xd8 truncated")
    assert main(["recognize", "container", str(good), str(bad), str(tmp_path / "missing.jpg")]) == 0
    lines = [json.loads(x) for x in capsys.readouterr().out.splitlines()]
    assert [x["file"] for x in lines] == [str(good), str(bad), str(tmp_path / "missing.jpg")]
    assert lines[0]["text"] == "CSQU3054383" and lines[0]["valid"] is True
    assert all("error" in x and x["text"] is None for x in lines[1:])


def test_cli_reads_foreign_plates_only_when_asked(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    img = tmp_path / "hk.jpg"
    img.write_bytes(encode_jpeg(render_plate_scene("AB1234", "latin", seed=14)))
    assert main(["recognize", "plate", str(img)]) == 0
    assert json.loads(capsys.readouterr().out)["valid"] is False
    assert main(["recognize", "plate", "--latin", r"[A-Z]{2}\d{1,4}", str(img)]) == 0
    assert json.loads(capsys.readouterr().out)["text"] == "AB1234"
    assert main(["recognize", "plate", "--latin", "[A-Z", str(img)]) == 2
    assert "not a regular expression" in capsys.readouterr().err


def test_cli_doubles_the_rows_of_one_field_images_when_asked(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """A still saved by a DVR at 2CIF (704 x 288, one field): a technician reads it as the lane
    would with its camera set one_field."""
    scene = render_plate_scene("苏E35791", "double_yellow", seed=3, plate_width=0.16, width=704, height=576)
    img = tmp_path / "2cif.jpg"
    img.write_bytes(encode_jpeg(cv2.resize(scene, (704, 288), interpolation=cv2.INTER_AREA)))
    assert main(["recognize", "plate", str(img)]) == 0
    assert json.loads(capsys.readouterr().out)["text"] is None
    assert main(["recognize", "plate", "--one-field", str(img)]) == 0
    assert json.loads(capsys.readouterr().out)["text"] == "苏E35791"


def test_edge_config_refuses_a_broken_foreign_plate_pattern(tmp_path: Path) -> None:
    from kakou.edge.config import ConfigError, load_config

    cfg = tmp_path / "edge.toml"
    cfg.write_text(
        'latin_plate_patterns = ["[A-Z"]\n[node]\nid = "n1"\nsite = "s"\n'
        'data_dir = "d"\n[[lanes]]\nid = "L1"\ndirection = "in"\n',
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match="not a regular expression"):
        load_config(cfg)


def test_cli_fails_only_when_every_file_fails(tmp_path: Path) -> None:
    bad = tmp_path / "x.png"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n garbage")
    proc = subprocess.run(
        [sys.executable, "-m", "kakou.cli", "recognize", "plate", str(bad)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 1
    line = json.loads(proc.stdout)
    assert line["file"] == str(bad) and line["text"] is None and "error" in line


def _file_bytes(img: object, fmt: str, mode: str | None = None) -> bytes:
    import io

    from PIL import Image

    pil = Image.fromarray(img)  # type: ignore[arg-type]
    if mode:
        pil = pil.convert(mode)
    buf = io.BytesIO()
    pil.save(buf, format=fmt)
    return buf.getvalue()


@pytest.mark.parametrize("variant", ["grey", "cmyk", "uint16", "float", "rgba"])
def test_odd_image_formats_are_read_like_the_camera_frame(plates: PlateReader, variant: str) -> None:
    from kakou.models.imageio import decode_image

    frame = render_plate_scene("粤B12345", "blue", seed=None)
    rgb = np.ascontiguousarray(frame[:, :, ::-1])
    if variant == "grey":
        image = decode_image(_file_bytes(rgb, "PNG", "L"))
    elif variant == "cmyk":
        image = decode_image(_file_bytes(rgb, "JPEG", "CMYK"))
    elif variant == "uint16":
        image = frame.astype(np.uint16) * 257
    elif variant == "float":
        image = frame.astype(np.float32) / 255.0
    else:
        image = np.dstack([frame, np.full(frame.shape[:2], 255, np.uint8)])
    r = plates.read(image)
    assert (r.text, r.valid, r.error) == ("粤B12345", True, None)


def test_a_frame_with_no_vehicle_is_no_read_with_nothing_reported_valid(
    plates: PlateReader, containers: ContainerReader
) -> None:
    rng = np.random.default_rng(3)
    yard = cv2.GaussianBlur(rng.integers(60, 200, (720, 1280, 3), dtype=np.uint8), (31, 31), 0)
    for reader in (plates, containers):
        r = reader.read(yard)
        assert r.text is None and not r.valid


def test_remembered_recognitions_follow_the_pixels(plates: PlateReader) -> None:
    # recognise_chars remembers results by crop content: a crop changed in place (same array,
    # same shape) must be read again, not answered from memory.
    frame = render_plate_scene("粤B12345", "blue", seed=None)
    line = plates.engine.lines(frame, 480)[0]
    x0, y0, x1, y1 = (int(v) for v in (line.x0, line.y0, line.x1, line.y1))
    crop = np.ascontiguousarray(frame[y0:y1, x0:x1])
    first = "".join(s[0][0] for s in plates.engine.recognise_chars(crop))
    assert "12345" in first
    assert "".join(s[0][0] for s in plates.engine.recognise_chars(crop)) == first
    crop[:] = 255  # blanked in place
    assert "12345" not in "".join(s[0][0] for s in plates.engine.recognise_chars(crop))


@pytest.mark.parametrize(("kind", "text", "seed"), [("blue", "粤B12345", 3), ("green", "沪AD12345", 12)])
def test_plate_is_read_beside_a_burned_in_timestamp(plates: PlateReader, kind: str, text: str, seed: int) -> None:
    # Gate cameras burn the date and time into the frame: the timestamp line (far longer than a
    # plate) is not recognised as a plate candidate, and the plate beside it still reads.
    frame = render_plate_scene(text, kind, seed=seed).copy()
    cv2.putText(frame, "2026-12-05 01:53:09", (20, 50), cv2.FONT_HERSHEY_SIMPLEX, 1.4, (255, 255, 255), 3)
    r = plates.read(frame)
    assert (r.text, r.valid) == (text, True)


@pytest.mark.parametrize(("owner", "seed"), [("JJMU", None), ("JJMU", 3), ("JJMU", 8)])
def test_repeated_narrow_letters_in_the_owner_code_are_read(
    containers: ContainerReader, owner: str, seed: int | None
) -> None:
    # The recogniser merges JJ at its time resolution (JJMU -> JMU); the stretched re-reading of a
    # code-shaped line keeps both letters. Weight lines are not re-read that way.
    code = make_code(owner, "123456")
    r = containers.read(render_container_scene(code, seed=seed))
    assert (r.text, r.valid) == (code, True)
