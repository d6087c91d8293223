"""The command line: help everywhere, and bad input gives a clear message, not a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from kakou.cli import build_parser, main


def kakou(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kakou.cli", *args], capture_output=True, text=True, timeout=timeout)


def test_version_and_help_for_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert "kakou 0." in capsys.readouterr().out
    for argv in (
        ["demo"],
        ["central", "serve"],
        ["edge", "run"],
        ["edge", "replay"],
        ["edge", "decide"],
        ["edge", "hash-pin"],
        ["sim", "lane"],
        ["sim", "fleet"],
        ["recognize", "plate"],
        ["probe", "weighbridge"],
        ["probe", "io"],
        ["bench"],
        ["node", "enrol"],
        ["backup", "edge"],
        ["restore", "edge"],
        ["central", "audit"],
    ):
        with pytest.raises(SystemExit) as exc:
            build_parser().parse_args([*argv, "--help"])
        assert exc.value.code == 0
        assert "usage: kakou" in capsys.readouterr().out


def test_edge_run_with_missing_config_says_so(tmp_path: Path) -> None:
    r = kakou("edge", "run", "--config", str(tmp_path / "nope.toml"))
    assert r.returncode == 2
    assert "does not exist" in r.stderr and "Traceback" not in r.stderr


def test_edge_run_with_invalid_toml_says_so(tmp_path: Path) -> None:
    cfg = tmp_path / "edge.toml"
    cfg.write_text("[node\nid = 1\n")
    r = kakou("edge", "run", "--config", str(cfg))
    assert r.returncode == 2
    assert "is not valid TOML" in r.stderr and "Traceback" not in r.stderr


def test_edge_run_names_the_wrong_key(tmp_path: Path) -> None:
    text = Path("deploy/edge.example.toml").read_text()
    bad = tmp_path / "edge.toml"
    bad.write_text(text.replace('direction = "in"', 'direction = "sideways"\nbarrier_speed = 3'))
    r = kakou("edge", "run", "--config", str(bad))
    assert r.returncode == 2
    assert "lanes.0.direction" in r.stderr
    assert "lanes.0.barrier_speed: unknown key" in r.stderr
    assert "Traceback" not in r.stderr


def test_yaml_config_is_accepted_and_validated(tmp_path: Path) -> None:
    cfg = tmp_path / "edge.yaml"
    cfg.write_text("node: {id: 'bad id!', data_dir: x}\nlanes: []\n")
    r = kakou("edge", "run", "--config", str(cfg))
    assert r.returncode == 2
    assert "node.id" in r.stderr and "lanes" in r.stderr


def test_port_in_use_is_a_clear_message(tmp_path: Path) -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        r = kakou("central", "serve", "--data-dir", str(tmp_path), "--port", str(port))
    assert r.returncode == 2
    assert f"127.0.0.1:{port}" in r.stderr and "already in use" in r.stderr
    assert "Traceback" not in r.stderr


# -- kakou edge decide FILE -------------------------------------------------------------------


def _recorded_inputs() -> dict:
    """The inputs of a pass exactly as the lane stores them: a truck with 2×20' under two orders."""
    from datetime import UTC, datetime, timedelta

    from lane_inputs import observation

    from kakou.edge.decision import Knowledge, Parameters
    from kakou.sync.messages import ReleaseOrderData

    at = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
    orders = [
        ReleaseOrderData(
            order_no=no,
            plate="粤B12345",
            containers=[box],
            direction="out",
            valid_from=at - timedelta(hours=1),
            valid_until=at + timedelta(hours=1),
        )
        for no, box in (("HF1", "CSQU3054383"), ("HF2", "TGHU1234561"))
    ]
    obs = observation(
        pass_id="n1-L1-7",
        direction="out",
        at=at,
        plate_confidence=0.96,
        containers=["TGHU1234561", "CSQU3054383"],
        gross_kg=31_000,
    )
    return {
        "observation": obs.model_dump(mode="json"),
        "knowledge": Knowledge(version=12, release_orders=orders).model_dump(mode="json"),
        "parameters": Parameters(random_inspection_rate=0.0).model_dump(mode="json"),
    }


def test_edge_decide_prints_the_decision_the_lane_would_make(tmp_path: Path) -> None:
    import json

    from lane_inputs import pass_record

    from kakou.edge.replay import replay
    from kakou.edge.store import EdgeStore

    inputs = _recorded_inputs()
    f = tmp_path / "pass.json"
    f.write_text(json.dumps(inputs, ensure_ascii=False), encoding="utf-8")
    r = kakou("edge", "decide", str(f))
    assert r.returncode == 0, r.stderr
    decision = json.loads(r.stdout)
    assert decision["outcome"] == "release" and decision["release_orders"] == ["HF1", "HF2"]
    assert decision["knowledge_version"] == 12 and len(decision["reasons"]) == 2

    # The same as `kakou edge replay` of the pass these inputs were recorded with.
    store = EdgeStore(tmp_path / "edge.db")
    obs = inputs["observation"]
    store.record_pass(
        pass_record(
            obs["at"],
            pass_id=obs["pass_id"],
            direction="out",
            plate=obs["plate"],
            plate_confidence=obs["plate_confidence"],
            reasons=decision["reasons"],
            knowledge_version=12,
        ),
        inputs,
    )
    replayed = replay(store, obs["pass_id"])
    store.close()
    assert replayed is not None and replayed["same"] and replayed["replayed"] == decision

    # The edge's GET /api/v1/passes/{id} answer works as it is, from standard input too.
    held = {**inputs, "knowledge": {**inputs["knowledge"], "release_orders": inputs["knowledge"]["release_orders"][:1]}}
    r = subprocess.run(
        [sys.executable, "-m", "kakou.cli", "edge", "decide", "-"],
        capture_output=True,
        text=True,
        timeout=60,
        input=json.dumps({"record": {}, "inputs": held}),
    )
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["outcome"] == "officer" and out["release_orders"] == []
    assert {"code": "release_order_containers_not_covered", "params": {"containers": "TGHU1234561"}} in out["reasons"]


def test_edge_decide_bad_input_says_what_is_wrong(tmp_path: Path) -> None:
    import json

    f = tmp_path / "in.json"
    cases = {
        "{not json": "is not JSON",
        "[1, 2]": "expected a JSON object",
        '{"knowledge": {"version": 1}}': "no observation",
        json.dumps({**_recorded_inputs(), "extra": 1}): "unknown part(s) extra",
        json.dumps(
            {**_recorded_inputs(), "parameters": {"weight_tolerance_pct": 900}}
        ): "parameters: weight_tolerance_pct",
        json.dumps({**_recorded_inputs(), "observation": {"pass_id": "x"}}): "observation: lane: Field required",
        json.dumps({"officer_command": {"action": "override"}}): "officer's decision",
    }
    for text, words in cases.items():
        f.write_text(text, encoding="utf-8")
        r = kakou("edge", "decide", str(f))
        assert r.returncode == 2 and words in r.stderr, (text, r.stderr)
        assert "Traceback" not in r.stderr
    r = kakou("edge", "decide", str(tmp_path / "missing.json"))
    assert r.returncode == 2 and "cannot read" in r.stderr


@pytest.mark.parametrize(
    ("option", "value", "setting"),
    [("--device-down-alert-minutes", "0", "device_down_alert_minutes"), ("--workers", "0", "workers")],
)
def test_central_serve_out_of_range_option_names_it(tmp_path: Path, option: str, value: str, setting: str) -> None:
    # Each range is the config model's; the device-down option once bypassed it (set after validation).
    r = kakou("central", "serve", "--data-dir", str(tmp_path), "--port", "0", option, value)
    assert r.returncode == 2
    assert f"error: {setting} ({option})" in r.stderr
    assert "Traceback" not in r.stderr
