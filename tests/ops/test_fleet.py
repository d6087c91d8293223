"""`kakou sim fleet` against our own Mosquitto and an in-process central: every pass accounted for."""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from argon2 import PasswordHasher

from kakou.broker import MosquittoBroker
from kakou.central import auth, ingest
from kakou.central.server import CentralConfig, CentralServer
from kakou.fleet import FleetConfig, register_sim_fleet, run_fleet
from kakou.netutil import free_port
from kakou.sync.mqtt import BrokerConfig
from kakou.waiting import eventually

PASSWORD = "fleet-test-password-1"


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


@pytest.fixture
async def central(mosquitto: MosquittoBroker, tmp_path: Path) -> AsyncIterator[CentralServer]:
    """A running central on the test's broker, with user "ops" (an admin)."""
    server = CentralServer(
        CentralConfig(data_dir=tmp_path / "central", http_port=0, broker=BrokerConfig(port=mosquitto.port))
    )
    auth.add_user(server.central, "test", "ops", auth.Role.ADMIN, PASSWORD)
    task = asyncio.create_task(server.run())
    yield server
    task.cancel()
    await asyncio.gather(task, return_exceptions=True)


def _fleet(
    central: CentralServer, mosquitto: MosquittoBroker, work_dir: Path, username: str, password: str, **kw: Any
) -> FleetConfig:
    """A fleet against this central and broker, logging in as `username`: one edge of one lane
    sending one pass a second for a second unless `kw` says otherwise."""
    size: dict[str, Any] = {"edges": 1, "lanes_per_edge": 1, "rate": 1, "seconds": 1}
    return FleetConfig(
        **{**size, **kw},
        broker=BrokerConfig(port=mosquitto.port),
        central_url=central.url,
        username=username,
        password=password,
        work_dir=work_dir,
    )


async def test_five_edges_two_lanes_lose_nothing(
    central: CentralServer, mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    keys = [central.cfg.public_key_path.read_text()]
    size = {"edges": 5, "lanes_per_edge": 2, "rate": 5.0, "seconds": 3.0}
    report = await run_fleet(
        _fleet(central, mosquitto, tmp_path / "edges", "ops", PASSWORD, **size, drain_timeout=60, central_keys=keys)
    )
    assert report.ok, report.text()
    assert report.lost == 0
    assert len(report.nodes) == 5 and all(n.sent >= 20 for n in report.nodes)  # ~15 per lane, 2 lanes
    assert report.sent == report.stored == report.acknowledged
    assert report.resends == 0
    assert "every pass accounted for" in report.text()


async def test_wrong_login_fails_before_any_traffic(
    central: CentralServer, mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    with pytest.raises(RuntimeError, match="login as nobody failed"):
        await run_fleet(_fleet(central, mosquitto, tmp_path / "e", "nobody", "wrong-password"))
    assert ingest.list_passes(central.central, 1, 0)[0] == 0  # no traffic was generated


def test_cli_rejects_nonsense_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    p = argparse.ArgumentParser()
    register_sim_fleet(p.add_subparsers(dest="sub", required=True))
    with pytest.raises(SystemExit):
        p.parse_args(["fleet", "--edges", "0"])
    assert "must be positive" in capsys.readouterr().err
    args = p.parse_args(["fleet", "--edges", "3", "--lanes-per-edge", "2", "--rate", "0.5"])
    assert (args.edges, args.lanes_per_edge, args.rate) == (3, 2, 0.5)


async def test_two_central_workers_share_ingest_and_lose_nothing(mosquitto: MosquittoBroker, tmp_path: Path) -> None:
    # The scale-out of deploy/emqx: `kakou central serve --share-group ingest` twice on one database.
    # Each worker must get its own MQTT client id, or the broker would keep dropping one for the other.
    broker = BrokerConfig(port=mosquitto.port, mqtt5=True)
    workers = [
        CentralServer(
            CentralConfig(data_dir=tmp_path / "central", http_port=free_port(), broker=broker, share_group="ingest")
        )
        for _ in range(2)
    ]
    assert workers[0].bridge.client_id != workers[1].bridge.client_id
    auth.add_user(workers[0].central, "test", "ops", auth.Role.ADMIN, PASSWORD)
    tasks = [asyncio.create_task(w.run()) for w in workers]
    try:
        await eventually(lambda: all(w.bridge.connected.is_set() for w in workers), 20, what="both workers subscribed")
        report = await run_fleet(
            FleetConfig(
                edges=4,
                lanes_per_edge=2,
                rate=5.0,
                seconds=2.0,
                broker=BrokerConfig(port=mosquitto.port),
                central_url=workers[1].url,
                username="ops",
                password=PASSWORD,
                work_dir=tmp_path / "edges",
                central_keys=[workers[0].cfg.public_key_path.read_text()],
            )
        )
        assert all(w.bridge.connected.is_set() for w in workers)
    finally:
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
    assert report.ok, report.text()
    assert all(w.bridge.processed > 0 for w in workers), "ingest was not shared"


async def test_kakou_sim_fleet_command_reports_and_exits_zero(mosquitto: MosquittoBroker, tmp_path: Path) -> None:
    central = CentralServer(
        CentralConfig(data_dir=tmp_path / "central", http_port=0, broker=BrokerConfig(port=mosquitto.port))
    )
    auth.add_user(central.central, "test", "ops", auth.Role.ADMIN, PASSWORD)
    task = asyncio.create_task(central.run())
    try:
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "kakou.cli",
            "sim",
            "fleet",
            "--edges",
            "2",
            "--lanes-per-edge",
            "2",
            "--rate",
            "4",
            "--seconds",
            "1",
            "--mqtt-port",
            str(mosquitto.port),
            "--central",
            central.url,
            "--username",
            "ops",
            "--central-key",
            str(central.cfg.public_key_path),
            "--json",
            env={**os.environ, "KAKOU_PASSWORD": PASSWORD},
            stdout=asyncio.subprocess.PIPE,
        )
        out, _ = await asyncio.wait_for(proc.communicate(), 60)
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    report = json.loads(out)
    assert proc.returncode == 0 and report["ok"] and report["lost"] == 0
    assert report["sent"] == report["stored"] == report["acknowledged"] == 16  # 2 × 2 lanes × 4 passes
