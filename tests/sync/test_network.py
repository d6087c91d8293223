"""Presence and network management: online/offline at central, per-message status on both sides,
manual resend and manual full resync; MQTT 5 shared subscriptions over two central workers."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from argon2 import PasswordHasher
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select
from sync_harness import (
    CentralProc,
    EdgeProc,
    EdgeSubprocess,
    assert_exactly_once,
    central_and_edge,
    shared_ingest,
    trust_b64,
)

from kakou.broker import MosquittoBroker
from kakou.central import auth, network
from kakou.central.api import create_app
from kakou.central.tables_sync import NetworkMessageRow
from kakou.edge import sync_outbox
from kakou.sync.mqtt import BrokerConfig
from kakou.waiting import eventually


@pytest.fixture(autouse=True)
def _cheap_password_hashing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))


def _http(central: CentralProc) -> httpx.AsyncClient:
    """The central API as an administrator (resync is an admin action)."""
    if not any(u.username == "netadmin" for u in auth.list_users(central.central)):
        auth.add_user(central.central, "test-setup", "netadmin", auth.Role.ADMIN, "pw-netadmin-1234")
    token, _exp, _role = auth.login(central.central, "netadmin", "pw-netadmin-1234")
    app = create_app(central.central)
    app.state.bridge = central.bridge
    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://central", headers={"Authorization": f"Bearer {token}"}
    )


async def test_killed_edge_shows_offline_with_last_seen(
    mosquitto: MosquittoBroker, tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    cfg = BrokerConfig(port=mosquitto.port)
    central = await CentralProc.start(tmp_path / "central.db", cfg, key)
    edge = EdgeSubprocess("n1", tmp_path / "n1.db", cfg, [trust_b64(key)])
    try:
        async with _http(central) as http:

            async def node() -> dict | None:
                nodes = (await http.get("/api/v1/nodes")).json()
                return next((n for n in nodes if n["node"] == "n1"), None)

            await edge.start()
            online = await eventually(lambda: _when(node(), lambda n: n and n["online"]), 15, what="n1 online")
            await edge.kill9()  # no clean disconnect: the broker publishes the last will
            offline = await eventually(lambda: _when(node(), lambda n: n and not n["online"]), 15, what="n1 offline")
            assert offline["last_seen"] >= online["last_seen"]
    finally:
        await edge.stop()
        await central.stop()


async def _when(coro, pred):
    value = await coro
    return value if pred(value) else None


async def test_message_status_resend_and_full_resync(
    mosquitto: MosquittoBroker, tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    cfg = BrokerConfig(port=mosquitto.port)
    central = await CentralProc.start(tmp_path / "central.db", cfg, key)
    edge = EdgeProc.open("n1", tmp_path / "n1.db", cfg, [key], ack_timeout=0.3).start()
    start = datetime.now(UTC)
    try:
        async with _http(central) as http:
            central.add_order(1)
            central.add_order(2)
            edge.record(1, 5)
            await eventually(lambda: sync_outbox.counts(edge.store)["acknowledged"] == 5, 10, what="5 acked")
            got = (await http.get("/api/v1/network/messages", params={"node": "n1", "direction": "up"})).json()
            assert [(m["seq"], m["status"]) for m in got] == [(s, "stored") for s in range(1, 6)]
            later = (start + timedelta(hours=1)).isoformat()
            assert (await http.get("/api/v1/network/messages", params={"node": "n1", "since": later})).json() == []

            # Central away: the edge keeps sending (the broker queues), nothing is acked → failed.
            await central.stop()
            edge.record(6, 2)
            await eventually(
                lambda: sync_outbox.counts(edge.store)["failed"] == 2, 15, what="unacked messages reported failed"
            )
            assert {m.seq for m in sync_outbox.messages(edge.store, status=sync_outbox.MessageStatus.FAILED)} == {6, 7}
            central = await CentralProc.start(tmp_path / "central.db", cfg, key)
            await eventually(lambda: sync_outbox.counts(edge.store)["acknowledged"] == 7, 15, what="7 acked")

            # Manual resend from seq 3: central counts them as duplicates and stores nothing twice.
            assert edge.link.resend_from(3) == 5
            await eventually(lambda: sync_outbox.counts(edge.store)["acknowledged"] == 7, 15, what="re-acked")
        async with _http(central) as http:
            ups = (await http.get("/api/v1/network/messages", params={"node": "n1", "direction": "up"})).json()
            assert sum(1 for m in ups if m["status"] == "duplicate") >= 5  # logged before the ack went out
            assert central.count("n1") == 7

            # Manual full resync repairs a damaged cache without moving its version.
            await eventually(lambda: edge.store.knowledge_version == 2, 10, what="version 2")
            edge.store.query("DELETE FROM knowledge")
            resp = await http.post("/api/v1/nodes/n1/resync")
            assert resp.status_code == 202 and resp.json()["snapshot_version"] == 2
            await eventually(lambda: len(edge.store.knowledge_rows()) == 2, 10, what="the cache restored")

            async def last_down() -> dict | None:
                downs = (await http.get("/api/v1/network/messages", params={"node": "n1", "direction": "down"})).json()
                return downs[-1] if downs and downs[-1]["kind"] == "snapshot" else None

            last = await eventually(last_down, 10, what="the resync snapshot in central's network log")
            assert last["status"] == "acknowledged" and last["version"] == 2
    finally:
        await edge.stop()
        await central.stop()


async def test_two_central_workers_share_ingest_without_double_processing(
    tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    async with shared_ingest(tmp_path, key, nodes=4) as (workers, edges):
        for batch in range(5):
            for e in edges:
                e.record(batch * 40 + 1, 40)
            await asyncio.sleep(0.02)  # lanes keep their own pace
        await assert_exactly_once(workers[0], [e.store for e in edges], [e.node for e in edges])
        done = [w.bridge.processed for w in workers]
        assert all(n > 0 for n in done), done  # both workers took a share
        assert sum(workers[0].known_node(e.node).duplicates for e in edges) == sum(done) - 800


async def test_a_pass_central_cannot_accept_is_quarantined_and_does_not_block_the_rest(
    mosquitto: MosquittoBroker, tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    async with central_and_edge(mosquitto, tmp_path, key, start_edge=False) as (central, edge):
        edge.record(1, 4)
        # seq 2 no longer validates (say, written by a newer lane schema central does not know yet)
        edge.store.query('UPDATE outbox SET body = \'{"pass_id": "n1-L1-2", "future_field": 1}\' WHERE seq = 2')
        edge.store.query("UPDATE outbox SET body = 'not json at all' WHERE seq = 3")
        edge.start()
        await eventually(
            lambda: sync_outbox.counts(edge.store) == {"queued": 0, "sent": 0, "acknowledged": 2, "failed": 2},
            10,
            what="all settled",
        )
        assert central.pass_keys() == [("n1", 1), ("n1", 4)] and central.known_node("n1").high_water == 4
        failed = sync_outbox.messages(edge.store, status=sync_outbox.MessageStatus.FAILED)
        assert [m.seq for m in failed] == [2, 3] and all("quarantined" in (m.detail or "") for m in failed)
        held = [m for m in network.list_messages(central.central, node="n1", direction="up") if m.status == "rejected"]
        assert [m.seq for m in held] == [2, 3]
        with central.central.sessions() as s:
            payloads = list(
                s.scalars(
                    select(NetworkMessageRow.payload)
                    .where(NetworkMessageRow.status == "rejected")
                    .order_by(NetworkMessageRow.seq)
                )
            )
        assert "future_field" in payloads[0] and "not json at all" in payloads[1]  # kept verbatim
        assert edge.link.resends == 0


async def test_a_shared_ingest_worker_dying_mid_stream_loses_and_doubles_nothing(
    tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    async with shared_ingest(tmp_path, key, nodes=3, ack_timeout=1.0) as (workers, edges):
        for batch in range(6):
            if batch == 3:
                await workers[1].stop()  # whatever it had received but not committed is resent by the edges
            for e in edges:
                e.record(batch * 30 + 1, 30)
            await asyncio.sleep(0.02)
        await assert_exactly_once(workers[0], [e.store for e in edges], [e.node for e in edges])
        # One resend of what the dead worker held is enough: the broker hands it nothing more (a
        # persistent session in the share group went on taking its share, each resent again and again).
        assert all(e.link.resends <= 1 for e in edges), [e.link.resends for e in edges]
