"""Downlink: snapshots for edges far behind, no rollback on replays, key rotation."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import aiomqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sync_harness import CentralProc, EdgeProc, central_and_edge

from kakou.broker import MosquittoBroker
from kakou.central import changelog, network
from kakou.sync import topics
from kakou.sync.messages import Change, ChangeBatch, ChangeKind
from kakou.sync.mqtt import BrokerConfig
from kakou.sync.signing import sign
from kakou.waiting import eventually


def _forged_order(version: int, order_no: str, plate: str) -> ChangeBatch:
    """A release order as change `version`, the next after version - 1, that central never made."""
    return ChangeBatch(
        after_version=version - 1,
        to_version=version,
        issued_at=datetime.now(UTC),
        changes=[Change(version=version, kind=ChangeKind.RELEASE_ORDER, key=order_no, data={"plate": plate})],
    )


async def test_far_behind_edge_gets_a_snapshot_and_old_batches_never_roll_it_back(
    mosquitto: MosquittoBroker, tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    cfg = BrokerConfig(port=mosquitto.port)
    central = await CentralProc.start(tmp_path / "central.db", cfg, key, snapshot_after=5)
    old = [sign(changelog.changes_after(central.central, 0), key)]  # (0, 0]: nothing yet
    for i in range(1, 4):
        central.add_order(i)
    old += [sign(changelog.changes_after(central.central, 0), key), sign(changelog.snapshot(central.central), key)]
    for i in range(4, 21):
        central.add_order(i)
    edge = EdgeProc.open("n1", tmp_path / "n1.db", cfg, [key]).start()  # joins 20 versions behind
    try:
        await eventually(lambda: edge.store.knowledge_version == 20, 15, what="the edge caught up")
        # central logs the send once the broker took it: possibly just after the edge applied it
        sent = await eventually(
            lambda: network.list_messages(central.central, node="n1", direction="down"),
            10,
            what="the snapshot in central's network log",
        )
        assert [m.kind for m in sent] == ["snapshot"] and sent[0].version == 20
        assert len(edge.store.knowledge_rows()) == 20
        await eventually(
            lambda: network.list_messages(central.central, node="n1", direction="down")[0].status == "acknowledged",
            10,
            what="central to see the node at the snapshot's version",
        )

        forged = _forged_order(21, "EVIL", "粤B00001")
        async with aiomqtt.Client("127.0.0.1", mosquitto.port, identifier="replayer") as r:
            for b in old:  # genuine, correctly signed, but old
                for topic in (topics.down_all(topics.CHANGES), topics.down("n1", topics.CHANGES)):
                    await r.publish(topic, b.model_dump_json(), qos=1)
            await r.publish(
                topics.down_all(topics.CHANGES), sign(forged, Ed25519PrivateKey.generate()).model_dump_json(), qos=1
            )
            await r.publish(topics.down_all(topics.CHANGES), forged.model_dump_json(), qos=1)
        central.add_order(21)  # published after the replays: once it is applied, they were handled
        await eventually(lambda: edge.store.knowledge_version == 21, 10, what="order 21")
        rows = edge.store.knowledge_rows()
        assert len(rows) == 21 and "EVIL" not in {k for _kind, k, _v in rows}
        reasons = [r[2] for r in edge.store.rejected()]
        assert any("unknown key" in r for r in reasons) and any("unsigned" in r for r in reasons)
    finally:
        await edge.stop()
        await central.stop()


async def test_key_rotation(mosquitto: MosquittoBroker, tmp_path: Path, key: Ed25519PrivateKey) -> None:
    new_key = Ed25519PrivateKey.generate()
    # step 1: the node trusts both keys
    async with central_and_edge(mosquitto, tmp_path, key, trusted=[key, new_key]) as (central, edge):
        central.add_order(1)
        await eventually(lambda: edge.store.knowledge_version == 1, 10, what="order 1 signed by the old key")
        central.bridge.rotate_key(new_key)  # step 2: central signs with the new key
        central.add_order(2)
        await eventually(lambda: edge.store.knowledge_version == 2, 10, what="order 2 signed by the new key")
        edge.link.trust(
            {
                k: v
                for k, v in edge.link.trusted.items()
                if v.public_bytes_raw() == new_key.public_key().public_bytes_raw()
            }
        )  # step 3
        stale = sign(changelog.changes_after(central.central, 2), key)  # nothing yet: an empty batch
        forged = _forged_order(3, "OLDKEY", "粤B00002")
        async with aiomqtt.Client("127.0.0.1", mosquitto.port, identifier="old-key-holder") as r:
            await r.publish(topics.down_all(topics.CHANGES), sign(forged, key).model_dump_json(), qos=1)
        central.add_order(3)
        await eventually(lambda: edge.store.knowledge_version == 3, 10, what="order 3 signed by the new key")
        assert "OLDKEY" not in {k for _kind, k, _v in edge.store.knowledge_rows()}
        assert any("unknown key" in r[2] for r in edge.store.rejected())
        assert stale.key_id != sign(stale, new_key).key_id


async def test_a_node_applies_only_its_own_streams_even_when_correctly_signed(
    mosquitto: MosquittoBroker, tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    async with central_and_edge(mosquitto, tmp_path, key) as (central, edge):
        central.add_order(1)
        await eventually(lambda: edge.store.knowledge_version == 1, 10, what="order 1 at n1")

        def batch(stream: str, key_name: str, to_node: str = "") -> ChangeBatch:
            return sign(
                ChangeBatch(
                    after_version=0,
                    to_version=1,
                    issued_at=datetime.now(UTC),
                    stream=stream,
                    to_node=to_node,
                    changes=[
                        Change(version=1, kind=ChangeKind.RELEASE_ORDER, key=key_name, data={"plate": "粤B00001"})
                    ],
                ),
                key,
            )

        foreign = [
            batch("node:n2", "N2-PARAMS"),  # another node's own stream (its lane parameters)
            batch("node:n2", "N2-FOR-N1", to_node="n1"),
            batch("site:B", "SITE-B"),  # a site this node is not at
            batch("site:B", "SITE-B-N2", to_node="n2"),
        ]  # central's answer to another node
        async with aiomqtt.Client("127.0.0.1", mosquitto.port, identifier="replayer") as r:
            for b in foreign:
                await r.publish(topics.down("n1", topics.CHANGES), b.wire(), qos=1)
        central.add_order(2)  # published after them: once it is applied, they were handled
        await eventually(lambda: edge.store.knowledge_version == 2, 10, what="order 2")
        assert edge.store.stream_versions() == {"*": 2}
        assert {k for _kind, k, _v in edge.store.knowledge_rows()} == {"HF000001", "HF000002"}
        reasons = [r[2] for r in edge.store.rejected()]
        assert sum("another node's stream 'node:n2'" in r for r in reasons) == 2
        assert sum("a batch for node 'n2'" in r for r in reasons) == 1
        assert sum("'site:B' is not one of this node's" in r for r in reasons) == 1
        # Central naming the node: its site, applied (this is how a node learns its site).
        async with aiomqtt.Client("127.0.0.1", mosquitto.port, identifier="central-like") as r:
            await r.publish(topics.down("n1", topics.CHANGES), batch("site:B", "SITE-B-N1", to_node="n1").wire(), qos=1)
        await eventually(lambda: edge.store.stream_versions().get("site:B") == 1, 10, what="site B at n1")
