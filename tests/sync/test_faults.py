"""Faults on a real Mosquitto (started by the test on the project's config) between real SQLite
stores: each ends with zero lost and zero duplicated passes at central, every pass acked at its
edge, and every edge at central's knowledge version with identical caches."""

from __future__ import annotations

import asyncio
import random
import sqlite3
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import aiomqtt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sync_harness import (
    CentralProc,
    EdgeProc,
    EdgeSubprocess,
    assert_exactly_once,
    assert_same_knowledge,
    trust_b64,
)

from kakou.broker import MosquittoBroker
from kakou.central import changelog
from kakou.sync import topics
from kakou.sync.messages import Envelope, PassRecord
from kakou.sync.mqtt import BrokerConfig
from kakou.sync.signing import sign
from kakou.waiting import eventually

NODES = ["gate1-edge1", "gate1-edge2"]


@pytest.fixture
async def world(
    mosquitto: MosquittoBroker, tmp_path: Path, key: Ed25519PrivateKey
) -> AsyncIterator[tuple[CentralProc, list[EdgeProc], BrokerConfig]]:
    cfg = BrokerConfig(port=mosquitto.port, keepalive=5)
    central = await CentralProc.start(tmp_path / "central.db", cfg, key)
    edges = [EdgeProc.open(n, tmp_path / f"{n}.db", cfg, [key], ack_timeout=1.5).start() for n in NODES]
    yield central, edges, cfg
    for e in edges:
        await e.stop()
    await central.stop()


async def _lanes_and_orders(
    central: CentralProc, edges: list[EdgeProc], passes: int, orders: int, midway: asyncio.Event | None = None
) -> None:
    """Passes keep coming at every lane and orders at central, whatever the network does."""
    for i in range(1, passes + 1):
        for e in edges:
            e.record(i, 1)
        if i <= orders:
            await asyncio.to_thread(central.add_order, i)
        if midway and i == passes // 2:
            midway.set()
        await asyncio.sleep(0.01)  # a lane's pace, not a wait for async work


async def _check(central: CentralProc, edges: list[EdgeProc]) -> None:
    await assert_exactly_once(central, [e.store for e in edges], [e.node for e in edges])
    await assert_same_knowledge(central, [e.store for e in edges])


@pytest.mark.parametrize("how", ["graceful", "crash"])
async def test_broker_restart_mid_stream(world, mosquitto: MosquittoBroker, how: str) -> None:
    central, edges, _cfg = world
    midway = asyncio.Event()
    lanes = asyncio.create_task(_lanes_and_orders(central, edges, 60, 8, midway))
    await midway.wait()
    await (mosquitto.stop() if how == "graceful" else mosquitto.kill())
    await mosquitto.start()
    await lanes
    await _check(central, edges)


async def test_partition_while_lanes_keep_recording(world, mosquitto: MosquittoBroker) -> None:
    central, edges, _cfg = world
    await eventually(lambda: all(e.link.online for e in edges), 10, what="edges online")
    await mosquitto.stop()
    await eventually(lambda: not any(e.link.online for e in edges), 10, what="edges to notice the partition")
    # Cut off: lanes record and central takes orders; nothing can flow.
    await _lanes_and_orders(central, edges, 40, 5)
    assert all(e.store.outbox_counts()["queued"] == 40 for e in edges) and central.count() == 0
    await mosquitto.start()
    await _check(central, edges)


async def test_central_restart_mid_stream(world, tmp_path: Path, key: Ed25519PrivateKey) -> None:
    central, edges, cfg = world
    midway = asyncio.Event()
    lanes = asyncio.create_task(_lanes_and_orders(central, edges, 60, 6, midway))
    await midway.wait()
    await central.stop()  # mid-ingest: some passes may be committed but never acked
    await asyncio.to_thread(central.add_order, 100)  # committed while the bridge is down
    restarted = await CentralProc.start(tmp_path / "central.db", cfg, key)
    world_central = restarted
    try:
        await lanes
        await _check(world_central, edges)
    finally:
        await restarted.stop()


def _outbox(db: Path, sql: str) -> int:
    with sqlite3.connect(db) as c:
        try:
            return int(c.execute(sql).fetchone()[0])
        except sqlite3.OperationalError:  # the link has not created its table yet
            return 0


async def test_edge_kill9_between_write_and_ack_then_restart_on_same_file(
    mosquitto: MosquittoBroker, tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    cfg = BrokerConfig(port=mosquitto.port)
    db = tmp_path / "edge.db"
    central = await CentralProc.start(tmp_path / "central.db", cfg, key)
    await central.stop()  # central's persistent session stays subscribed at the broker
    edge = EdgeSubprocess("n1", db, cfg, [trust_b64(key)])
    await edge.start(record=20)
    await eventually(
        lambda: _outbox(db, "SELECT COUNT(*) FROM outbox_sent") == 20, 15, what="all 20 published to the broker"
    )
    await edge.kill9()
    # Written and sent, never acknowledged: exactly the window a crash must not lose or double.
    assert _outbox(db, "SELECT COUNT(*) FROM outbox WHERE acked = 0") == 20
    central = await CentralProc.start(tmp_path / "central.db", cfg, key)
    try:
        await eventually(lambda: central.count() == 20, 15, what="the broker's queued copies at central")
        await edge.start()  # same SQLite file: resends all 20, central counts them as duplicates
        await eventually(
            lambda: _outbox(db, "SELECT COUNT(*) FROM outbox WHERE acked = 0") == 0,
            15,
            what="the restarted edge to get its ack",
        )
        assert central.pass_keys() == [("n1", s) for s in range(1, 21)]

        # And a kill at whatever moment the stream happens to be in.
        await edge.stop()
        await edge.start(record=150, record_interval=0.004, ack_timeout=1.5)
        await eventually(lambda: central.count() >= 20 + random.randint(10, 60), 20, what="streaming")
        await edge.kill9()
        await edge.start(ack_timeout=1.5)
        recorded = _outbox(db, "SELECT COUNT(*) FROM outbox")
        assert 20 < recorded < 170
        await eventually(
            lambda: _outbox(db, "SELECT COUNT(*) FROM outbox WHERE acked = 0") == 0,
            20,
            what="every recorded pass acked",
        )
        assert central.pass_keys() == [("n1", s) for s in range(1, recorded + 1)]
    finally:
        await edge.stop()
        await central.stop()


async def test_injected_duplicate_and_reordered_deliveries(world) -> None:
    """A second publisher replays and reorders real messages both ways while the real ones flow."""
    central, edges, cfg = world
    rnd = random.Random(5)
    for i in range(1, 13):
        await asyncio.to_thread(central.add_order, i)
    for e in edges:
        e.record(1, 40)
    await assert_exactly_once(central, [e.store for e in edges], [e.node for e in edges])
    signed = [
        sign(changelog.changes_after(central.central, v, limit=rnd.randint(1, 3)), central.bridge.key)
        for v in range(0, 12)
    ]
    async with aiomqtt.Client("127.0.0.1", cfg.port, identifier="injector") as inj:
        # Uplink: copies of every pass already stored, shuffled, some twice, plus new passes' copies
        # published before the edge itself sends them (they arrive out of order and early).
        for e in edges:
            e.record(41, 20)
        envs = []
        for e in edges:
            for seq, _kind, body in e.store.query("SELECT seq, kind, body FROM outbox"):
                envs.append(
                    Envelope(
                        node=e.node,
                        seq=seq,
                        kind="pass",
                        sent_at=datetime.now(UTC),
                        body=PassRecord.model_validate_json(body),
                    )
                )
        envs += rnd.sample(envs, 30)
        rnd.shuffle(envs)
        # Downlink: old batches again, out of order, plus the edges' node topics.
        batches = signed + rnd.sample(signed, 6)
        rnd.shuffle(batches)
        for env in envs:
            await inj.publish(topics.up(env.node, topics.PASSES), env.model_dump_json(), qos=1)
        for b in batches:
            await inj.publish(topics.down_all(topics.CHANGES), b.model_dump_json(), qos=1)
            await inj.publish(topics.down(rnd.choice(NODES), topics.CHANGES), b.model_dump_json(), qos=1)
    await asyncio.to_thread(central.add_order, 13)
    await _check(central, edges)
    assert sum(central.node(n).duplicates for n in NODES) >= 40
