"""The broker refuses any message over 8 MiB (under the 9 MB one node once used to stall ingest,
issue 15), so central sends a large snapshot in signed parts and the edge applies it only whole."""

from __future__ import annotations

import asyncio
import random
import re
from datetime import UTC, datetime
from pathlib import Path

import aiomqtt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sync_harness import CentralProc, EdgeProc

from kakou.broker import MosquittoBroker
from kakou.central import changelog, network
from kakou.sync import limits
from kakou.sync.messages import Change, ChangeBatch, ChangeKind
from kakou.sync.mqtt import BrokerConfig
from kakou.sync.signing import sign, verify
from kakou.waiting import eventually

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "mosquitto"


def test_the_broker_configs_refuse_messages_over_8_mib() -> None:
    for conf in ("secure.conf", "dev.conf"):
        found = re.findall(r"^message_size_limit (\d+)$", (DEPLOY / conf).read_text(), re.M)
        assert found == [str(limits.BROKER_MESSAGE_BYTES)], conf
    assert limits.BROKER_MESSAGE_BYTES < 9_000_000
    assert limits.DOWNLINK_PART_BYTES * 2 < limits.BROKER_MESSAGE_BYTES  # a part and its signature fit


async def test_the_broker_drops_a_9_mb_message_and_delivers_the_next(mosquitto: MosquittoBroker) -> None:
    async with (
        aiomqtt.Client("127.0.0.1", mosquitto.port, identifier="sub") as sub,
        aiomqtt.Client("127.0.0.1", mosquitto.port, identifier="pub") as pub,
    ):
        await sub.subscribe("t/#", qos=1)
        await pub.publish("t/big", b"x" * 9_000_000, qos=1)
        await pub.publish("t/small", b"ok", qos=1)
        msg = await asyncio.wait_for(anext(sub.messages), 10)
        assert (str(msg.topic), msg.payload) == ("t/small", b"ok")


async def test_a_large_snapshot_reaches_a_far_behind_edge_in_signed_parts(
    mosquitto: MosquittoBroker, tmp_path: Path, key: Ed25519PrivateKey, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(limits, "DOWNLINK_PART_BYTES", 4096)  # parts of a small snapshot, as of a huge one
    cfg = BrokerConfig(port=mosquitto.port)
    central = await CentralProc.start(tmp_path / "central.db", cfg, key, snapshot_after=5)
    for i in range(1, 61):
        central.add_order(i)
    parts = changelog.in_parts(changelog.snapshot(central.central))
    assert len(parts) > 3 and all(len(p.wire().encode()) < 4096 + 1024 for p in parts)
    edge = EdgeProc.open("n1", tmp_path / "n1.db", cfg, [key]).start()  # 60 versions behind: a snapshot
    try:
        await eventually(lambda: edge.store.knowledge_version == 60, 15, what="the edge has the whole snapshot")
        assert len(edge.store.knowledge_rows()) == 60
        # central logs the send once the broker took it: possibly just after the edge applied it
        sent = await eventually(
            lambda: network.list_messages(central.central, node="n1", direction="down"),
            10,
            what="the snapshot in central's network log",
        )
        assert [m.kind for m in sent] == ["snapshot"]
        assert edge.store.rejected() == []
    finally:
        await edge.stop()
        await central.stop()


def test_the_edge_applies_a_snapshot_in_parts_only_whole(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    edge = EdgeProc.open("n1", tmp_path / "n1.db", BrokerConfig(port=1), [key])
    now = datetime.now(UTC)
    snap = ChangeBatch(
        after_version=0,
        to_version=30,
        issued_at=now,
        snapshot=True,
        stream="*",
        changes=[
            Change(version=v, kind=ChangeKind.CARRIER, key=f"C{v}", data={"code": f"C{v}", "name": "x" * 200})
            for v in range(1, 31)
        ],
    )
    parts = [sign(p.model_copy(update={"to_node": "n1"}), key) for p in changelog.in_parts(snap, 2000)]
    assert len(parts) >= 3
    for p in parts:
        verify(ChangeBatch.model_validate_json(p.wire()), edge.link.trusted)  # each part signed on its own
    order = list(parts)
    random.Random(7).shuffle(order)
    assert all(edge.link._assemble(p) is None for p in order[:-1])  # not yet: nothing to apply
    assert edge.store.knowledge_version == 0
    whole = edge.link._assemble(order[-1])
    assert whole is not None and whole.parts == 1 and [c.version for c in whole.changes] == list(range(1, 31))
    # A newer snapshot's part drops an unfinished older one: its remaining parts never complete it.
    newer = snap.model_copy(update={"to_version": 31, "issued_at": now.replace(microsecond=1)})
    new_parts = changelog.in_parts(newer, 2000)
    assert edge.link._assemble(parts[0]) is None
    assert edge.link._assemble(new_parts[0]) is None
    assert all(edge.link._assemble(p) is None for p in parts[1:])
    with pytest.raises(ValueError):
        edge.link._assemble(parts[0].model_copy(update={"snapshot": False}))
