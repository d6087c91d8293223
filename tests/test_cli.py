"""The command line: help everywhere, and bad input gives a clear message, not a traceback."""

from __future__ import annotations

import socket
import subprocess
import sys
from pathlib import Path

import pytest

from kakou.cli import build_parser, main


def kakou(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "kakou.cli", *args], capture_output=True, text=True,
                          timeout=timeout)


def test_version_and_help_for_every_command(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert "kakou 0." in capsys.readouterr().out
    for argv in (["demo"], ["central", "serve"], ["edge", "run"], ["edge", "replay"], ["edge", "hash-pin"],
                 ["sim", "lane"], ["sim", "fleet"], ["recognize", "plate"], ["probe", "weighbridge"], ["probe", "io"],
                 ["bench"], ["node", "enrol"], ["backup", "edge"], ["restore", "edge"], ["central", "audit"]):
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
