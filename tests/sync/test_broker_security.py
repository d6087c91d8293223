"""Per-node broker credentials and ACL, on our own Mosquitto started with deploy/mosquitto/secure.conf."""

from __future__ import annotations

import argparse
import asyncio
import tomllib
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiomqtt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sync_harness import CentralProc, EdgeProc, both_ways

from kakou import cli_node
from kakou.broker import MosquittoBroker
from kakou.edge.sync_runner import sample_pass
from kakou.enrol import CENTRAL_USER, EnrolError, central_user, check_password, enrol_node
from kakou.netutil import free_port
from kakou.sync import topics
from kakou.sync.messages import Envelope
from kakou.sync.mqtt import BrokerConfig
from kakou.sync.signing import public_b64
from kakou.waiting import eventually


@pytest.fixture
async def secure(tmp_path: Path) -> AsyncIterator[tuple[MosquittoBroker, Path]]:
    pw = tmp_path / "passwd"
    central_user(pw, tmp_path / "central")
    broker = MosquittoBroker(free_port(), tmp_path / "broker", template="secure.conf", password_file=pw)
    await broker.start()
    yield broker, pw
    await broker.stop()


def _central_cfg(port: int, out: Path) -> BrokerConfig:
    user, password = (out / "central-broker.secret").read_text().strip().split(":", 1)
    assert user == CENTRAL_USER
    return BrokerConfig(port=port, username=user, password=password)


def _node_cfg(port: int, config: Path) -> BrokerConfig:
    broker = tomllib.loads(config.read_text())["broker"]
    return BrokerConfig.model_validate({**broker, "port": port})


def _envelope(node: str, seq: int, as_node: str | None = None) -> str:
    rec = sample_pass(as_node or node, seq)
    return Envelope(node=as_node or node, seq=seq, kind="pass", sent_at=datetime.now(UTC), body=rec).model_dump_json()


async def test_a_node_cannot_publish_as_another_and_a_wrong_password_cannot_connect(
    secure: tuple[MosquittoBroker, Path], tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    broker, pw = secure
    out = tmp_path / "nodes"
    pub = tmp_path / "central.pub"
    pub.write_text(public_b64(key.public_key()))
    n1 = enrol_node("n1", out, pw, broker_port=broker.port, central_public_key=pub)
    n2 = enrol_node("n2", out, pw, broker_port=broker.port)
    broker.reload()  # new logins without a restart
    central = await CentralProc.start(tmp_path / "central.db", _central_cfg(broker.port, tmp_path / "central"), key)
    # The enrolled node works end to end under the ACL with the config enrol wrote.
    edge = EdgeProc.open("n1", tmp_path / "n1.db", _node_cfg(broker.port, n1.config), [key]).start()
    try:
        await both_ways(central, edge, "through the secured broker")

        # n2 tries to pass off a record as n1's (both as topic and as payload), then sends its own.
        async with aiomqtt.Client(
            "127.0.0.1", broker.port, username="n2", password=n2.password, identifier="rogue-n2"
        ) as rogue:
            got: list[str] = []

            async def collect() -> None:
                async for m in rogue.messages:
                    got.append(str(m.topic))

            collector = asyncio.create_task(collect())
            await rogue.subscribe(topics.down("n1", "#"), qos=1)  # not its downlink: never delivered
            await rogue.subscribe(topics.down("n2", "#"), qos=1)
            await rogue.publish(topics.up("n1", topics.PASSES), _envelope("n2", 99, as_node="n1"), qos=1)
            await rogue.publish(topics.status("n1"), b'{"v":1,"online":false}', qos=1, retain=True)
            await rogue.publish(topics.up("n2", topics.PASSES), _envelope("n2", 1), qos=1)  # the marker
            # Same connection, so once the marker arrived, anything the broker let through had arrived too.
            await eventually(lambda: central.count("n2") == 1, 10, what="n2's own pass")
            edge.record(4, 1)  # n1's ack flows on down/n1/ack: n2 must not see it
            await eventually(lambda: edge.store.outbox_counts()["queued"] == 0, 10, what="n1's ack")
            await rogue.publish(topics.up("n2", topics.PASSES), _envelope("n2", 2), qos=1)
            await eventually(lambda: got.count(topics.down("n2", topics.ACK)) == 2, 10, what="n2's second ack")
            collector.cancel()
            assert not [t for t in got if "/n1/" in t]
        assert central.count("n1") == 4
        assert not any(k == ("n1", 99) for k in central.pass_keys())
        assert central.known_node("n1").online  # the forged "offline" status was refused

        for user, password in (("n1", "wrong"), ("n1", None), (None, None), ("nobody", "x")):
            with pytest.raises(aiomqtt.MqttError):
                async with aiomqtt.Client(
                    "127.0.0.1", broker.port, username=user, password=password, identifier=f"bad-{user}-{password}"
                ):
                    pass
    finally:
        await edge.stop()
        await central.stop()


def test_enrol_writes_mosquitto_hashes_and_refuses_reserved_or_bad_ids(tmp_path: Path) -> None:
    pw = tmp_path / "passwd"
    e = enrol_node("gate1-edge1", tmp_path / "out", pw)
    entry = pw.read_text().strip().split(":", 1)[1]
    assert entry.startswith("$7$101$") and check_password(entry, e.password) and not check_password(entry, "x")
    assert (pw.stat().st_mode & 0o777) == 0o600 and (e.config.stat().st_mode & 0o777) == 0o600
    again = enrol_node("gate1-edge1", tmp_path / "out", pw)  # re-enrol replaces the login
    assert len(pw.read_text().splitlines()) == 1 and again.password != e.password
    for bad in ("all", CENTRAL_USER, "kakou-alerts", "Kakou-Central", "kakou-anything", "a/b", "n+", "", "x" * 65):
        with pytest.raises(EnrolError):
            enrol_node(bad, tmp_path / "out", pw)


def test_cli_enrol_and_revoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    cli_node.register(parser.add_subparsers(dest="command"))
    args = parser.parse_args(["node", "enrol", "gate2-edge1", "--out", str(tmp_path), "--broker-port", "8883"])
    assert args.func(args) == 0
    cfg = tomllib.loads((tmp_path / "gate2-edge1" / "edge.toml").read_text())
    assert cfg["broker"]["username"] == "gate2-edge1" and cfg["broker"]["port"] == 8883
    args = parser.parse_args(["node", "enrol", "all", "--out", str(tmp_path)])
    assert args.func(args) == 2 and "reserved" in capsys.readouterr().err
    args = parser.parse_args(["node", "revoke", "gate2-edge1", "--password-file", str(tmp_path / "passwd")])
    assert args.func(args) == 0 and (tmp_path / "passwd").read_text() == ""


async def test_a_node_cannot_take_over_centrals_or_another_nodes_client_id(
    secure: tuple[MosquittoBroker, Path], tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    broker, pw = secure
    n1 = enrol_node("n1", tmp_path / "nodes", pw, broker_port=broker.port)
    n2 = enrol_node("n2", tmp_path / "nodes", pw, broker_port=broker.port)
    broker.reload()
    central = await CentralProc.start(tmp_path / "central.db", _central_cfg(broker.port, tmp_path / "central"), key)
    try:
        async with aiomqtt.Client(
            "127.0.0.1", broker.port, username="n2", password=n2.password, identifier="kakou-edge-n2"
        ) as victim:
            await victim.subscribe(topics.down("n2", topics.ACK), qos=1)
            # n1, with its own password, asks for central's and n2's client ids: the broker gives it "n1".
            for stolen in ("kakou-central", "kakou-edge-n2", "n2"):
                async with aiomqtt.Client(
                    "127.0.0.1", broker.port, username="n1", password=n1.password, identifier=stolen
                ) as thief:
                    await thief.publish(topics.up("n1", topics.PASSES), _envelope("n1", 1), qos=1)
            # Neither victim was dropped: central still stores, n2's connection still works.
            await eventually(lambda: central.count("n1") == 1, 10, what="central still ingesting")
            await victim.publish(topics.up("n2", topics.PASSES), _envelope("n2", 1), qos=1)
            async with asyncio.timeout(10):
                async for m in victim.messages:
                    assert m.topic.matches(topics.down("n2", topics.ACK))
                    break
            assert central.task is not None and not central.task.done()
            assert central.bridge.connected.is_set()
    finally:
        await central.stop()


def test_each_central_worker_gets_a_login_of_its_own(tmp_path: Path) -> None:
    pw, acl = tmp_path / "passwd", tmp_path / "kakou.acl"
    acl.write_text("user kakou-central\ntopic readwrite kakou/v1/#\n")
    password, secret = central_user(pw, tmp_path / "central", worker="2", acl_file=acl)
    assert secret.read_text().strip() == f"kakou-central-2:{password}"
    central_user(pw, tmp_path / "central", worker="2", acl_file=acl)  # again: the ACL block once
    assert acl.read_text().count("user kakou-central-2\ntopic readwrite kakou/v1/#") == 1
    with pytest.raises(EnrolError):
        central_user(pw, tmp_path / "central", worker="2")  # without the ACL it could not work
