"""deploy/: the files an operator installs are well-formed and call commands that exist.

No Docker engine or EMQX here: the compose files are checked as YAML and for references that
resolve, not run. systemd units are checked with `systemd-analyze verify` where it is installed.
"""

from __future__ import annotations

import argparse
import configparser
import re
import shlex
import shutil
import subprocess
from pathlib import Path

import pytest
import yaml

from kakou import cli_ops
from kakou.cli import build_parser
from kakou.fleet import register_sim_fleet

ROOT = Path(__file__).resolve().parents[2]
DEPLOY = ROOT / "deploy"
UNITS = sorted((DEPLOY / "systemd").glob("*.service"))


def _parser() -> argparse.ArgumentParser:
    """The `kakou` parser with the ops commands, whether or not cli.py registers them yet."""
    p = build_parser()
    sub = next(a for a in p._actions if isinstance(a, argparse._SubParsersAction))
    if "backup" not in sub.choices:
        cli_ops.register(sub)
    sim = next(a for a in sub.choices["sim"]._actions if isinstance(a, argparse._SubParsersAction))
    if "fleet" not in sim.choices:
        register_sim_fleet(sim)
    return p


def _unit(path: Path) -> configparser.ConfigParser:
    cp = configparser.ConfigParser(strict=False, interpolation=None)  # DeviceAllow= repeats
    cp.optionxform = str  # type: ignore[assignment,method-assign]
    cp.read_string(path.read_text().replace("\\\n", " "))
    return cp


def _kakou_args(exec_start: str) -> list[str]:
    """The arguments of the kakou command in an ExecStart= line (through `sh -c '…'` too)."""
    words = shlex.split(exec_start)
    if words[0] == "/bin/sh":
        words = shlex.split(re.sub(r"\$\(.*?\)", "9", words[words.index("-c") + 1]))  # $(date …)
    words = [re.sub(r"\$\{?\w+\}?|%i", "9", w) for w in words]  # environment variables, instance name
    start = next(i for i, w in enumerate(words) if w.endswith("/kakou"))
    return words[start + 1 :]


@pytest.mark.parametrize("unit", UNITS, ids=lambda p: p.name)
def test_units_run_as_kakou_hardened_and_call_real_commands(unit: Path) -> None:
    svc = _unit(unit)["Service"]
    assert svc["User"] == "kakou"
    assert svc["ProtectSystem"] == "strict" and svc["NoNewPrivileges"] == "yes"
    assert svc.get("ReadWritePaths"), "the data directory must be writable under ProtectSystem=strict"
    if svc.get("Type") != "oneshot":
        assert svc["Restart"] == "always"
    # A watchdog only works if the service pings it; kakou does not call sd_notify yet.
    pings = any("WATCHDOG=1" in p.read_text() for p in ROOT.glob("**/*.py") if ".venv" not in p.parts)
    assert "WatchdogSec" not in svc or pings
    for key in ("ExecStartPre", "ExecStart"):
        if key in svc:
            args = _parser().parse_args(_kakou_args(svc[key]))
            assert callable(args.func)


def test_edge_unit_can_write_its_data_dir_and_serial_lines() -> None:
    svc = _unit(DEPLOY / "systemd" / "kakou-edge.service")["Service"]
    assert "/var/lib/kakou/edge" in svc["ReadWritePaths"]
    assert svc["SupplementaryGroups"] == "dialout"
    args = _parser().parse_args(_kakou_args(svc["ExecStart"]))
    assert args.config == "/etc/kakou/edge.toml"


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze is not installed")
def test_systemd_analyze_verify_finds_nothing_but_the_missing_install(tmp_path: Path) -> None:
    for f in (DEPLOY / "systemd").iterdir():
        if f.suffix in (".service", ".timer"):
            shutil.copy(f, tmp_path / f.name)
    for f in sorted(tmp_path.iterdir()):
        out = subprocess.run(
            ["systemd-analyze", "verify", "--man=no", str(f)], capture_output=True, text=True, timeout=60, check=False
        )
        problems = [
            ln
            for ln in (out.stdout + out.stderr).splitlines()
            if ln.strip() and "/opt/kakou/venv/bin/kakou is not executable" not in ln
        ]
        assert not problems, f"{f.name}: {problems}"


@pytest.mark.parametrize(
    "compose", [DEPLOY / "docker-compose.yml", DEPLOY / "emqx" / "docker-compose.emqx.yml"], ids=lambda p: p.name
)
def test_compose_files_parse_and_their_references_resolve(compose: Path) -> None:
    doc = yaml.safe_load(compose.read_text())
    services = doc["services"]
    for name, svc in services.items():
        assert "image" in svc, f"{name} has no image"
        for dep in svc.get("depends_on", {}):
            assert dep in services, f"{name} depends on unknown {dep}"
        for vol in svc.get("volumes", []):
            src = vol.split(":")[0]
            if src.startswith("."):
                assert (compose.parent / src).resolve().exists(), f"{name} mounts missing {src}"
            else:
                assert src in doc.get("volumes", {}), f"{name} uses undeclared volume {src}"
        for cfg in svc.get("configs", []):
            assert cfg["source"] in doc["configs"]
        mode = svc.get("network_mode", "")
        if mode.startswith("service:"):
            assert mode.split(":", 1)[1] in services


def test_compose_edge_config_is_a_valid_node_config(tmp_path: Path) -> None:
    from kakou.edge.config import load_config

    doc = yaml.safe_load((DEPLOY / "docker-compose.yml").read_text())
    (tmp_path / "edge.toml").write_text(doc["configs"]["edge-toml"]["content"])
    cfg = load_config(tmp_path / "edge.toml")
    assert cfg.broker.host == "mosquitto" and cfg.node.data_dir == Path("/var/lib/kakou/edge")
    assert services_command_mentions(doc, "edge", "kakou edge run --config /etc/kakou/edge.toml")


def services_command_mentions(doc: dict, service: str, text: str) -> bool:
    return text in " ".join(doc["services"][service]["command"])


def test_emqx_acl_gives_nodes_the_rights_of_the_mosquitto_acl() -> None:
    acl = (DEPLOY / "emqx" / "kakou-acl.conf").read_text()
    rules = [ln for ln in acl.splitlines() if ln.startswith("{")]
    assert rules[-1] == "{deny, all}."
    assert '"kakou/v1/up/${username}/#"' in acl and '"kakou/v1/down/${username}/#"' in acl
    conf = (DEPLOY / "emqx" / "emqx.conf").read_text()
    assert "/opt/emqx/etc/kakou-acl.conf" in conf and "no_match = deny" in conf


@pytest.mark.skipif(shutil.which("logrotate") is None, reason="logrotate is not installed")
def test_logrotate_snippet_is_accepted_by_logrotate(tmp_path: Path) -> None:
    text = (DEPLOY / "logrotate" / "kakou").read_text()
    assert "copytruncate" in text  # systemd keeps the file open
    # `su kakou kakou` needs the user, which this machine does not have; the rest is checked as is.
    (tmp_path / "kakou").write_text(text.replace("su kakou kakou", "su root root"))
    out = subprocess.run(
        ["logrotate", "-d", "-s", str(tmp_path / "state"), str(tmp_path / "kakou")],
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    assert out.returncode == 0 and "error" not in out.stderr.lower(), out.stderr
