"""Downlink scoped per site and node, on our Mosquitto with the production config (passwords + ACL).

A node follows three change streams — broadcast, its site's, its own — each numbered without gaps
(docs/protocol.md, "Scopes"). These tests check what reaches which node, that the broker refuses a
node another site's topic, and that gaps and snapshots work per stream.
"""

from __future__ import annotations

import argparse
import asyncio
import tomllib
from datetime import UTC, datetime, timedelta
from pathlib import Path

import aiomqtt
import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sync_harness import CentralProc, EdgeProc, new_central

from kakou import cli_node
from kakou.broker import MosquittoBroker, deploy_file
from kakou.central import changelog, control, network, orders, registry, risk
from kakou.central.routes import sync as sync_routes
from kakou.edge.store import EdgeStore, VersionGap
from kakou.enrol import EnrolError, central_user, enrol_node, set_site_access
from kakou.netutil import free_port
from kakou.sync import topics
from kakou.sync.knowledge import LaneParameters
from kakou.sync.messages import ChangeBatch
from kakou.sync.mqtt import BrokerConfig
from kakou.waiting import eventually

NOW = datetime.now(UTC)


def _order(no: str, **kw: object) -> orders.ReleaseOrderIn:
    return orders.ReleaseOrderIn(
        order_no=no,
        plate=f"粤B{no[-5:]}",
        direction="in",
        valid_from=NOW - timedelta(hours=1),
        valid_until=NOW + timedelta(days=1),
        **kw,
    )


def _register(central: CentralProc) -> None:
    c = central.central
    for site in ("A", "B"):
        registry.upsert(c, "admin", "site", {"code": site, "name": f"gate {site}"})
    registry.upsert(c, "admin", "lane", {"node": "a1", "lane": "L1", "site": "A", "direction": "in"})
    registry.upsert(c, "admin", "lane", {"node": "b1", "lane": "L1", "site": "B", "direction": "in"})


def _keys(store: EdgeStore) -> set[tuple[str, str]]:
    return {(k, key) for k, key, _v in store.knowledge_rows()}


def _node_cfg(port: int, config: Path) -> BrokerConfig:
    return BrokerConfig.model_validate({**tomllib.loads(config.read_text())["broker"], "port": port})


async def test_a_node_gets_broadcast_its_site_and_its_own_changes_only(tmp_path: Path, key: Ed25519PrivateKey) -> None:
    pw, acl, out = tmp_path / "passwd", tmp_path / "kakou.acl", tmp_path / "nodes"
    acl.write_text(deploy_file("kakou.acl"))
    _pw, secret = central_user(pw, tmp_path / "central")
    a1 = enrol_node("a1", out, pw, site="A", acl_file=acl)
    b1 = enrol_node("b1", out, pw, site="B", acl_file=acl)
    # The spy: a node of site B (its own login: one login is one connection, use_username_as_clientid).
    b2 = enrol_node("b2", out, pw, site="B", acl_file=acl)
    broker = MosquittoBroker(free_port(), tmp_path / "broker", template="secure.conf", password_file=pw, acl_file=acl)
    await broker.start()
    user, password = secret.read_text().strip().split(":", 1)
    central = await CentralProc.start(
        tmp_path / "central.db", BrokerConfig(port=broker.port, username=user, password=password), key
    )
    c = central.central
    _register(central)
    # Before the nodes first connect: central tells each its streams in the answer to its first request.
    orders.create_release_order(c, _order("HF00001", site="A"))
    orders.create_release_order(c, _order("HF00002", lane="b1/L1"))
    orders.create_release_order(c, _order("HF00003"))  # no site: every lane
    hold = control.create(
        c,
        "officer",
        control.ControlOrderIn(
            target_kind="vehicle", target_value="粤B99999", action="hold", emergency=True, reason="smuggling tip"
        ),
    )
    risk.set_parameters(c, "admin", LaneParameters(scope="a1/L1", weight_tolerance_kg=300))
    # resync_interval 1 s (60 s in production): how soon a node learns that its site changed.
    edges = {
        n: EdgeProc.open(n, tmp_path / f"{n}.db", _node_cfg(broker.port, e.config), [key], resync_interval=1.0).start()
        for n, e in (("a1", a1), ("b1", b1))
    }
    # A raw client logged in as a site B node that tries to listen to site A and to a1's topics.
    spy: list[str] = []
    # The broker stops only after the rogue client has left: stopped under a connected client, it
    # leaves aiomqtt a disconnection error that nobody awaits (logged by asyncio at a later test).
    try:
        async with aiomqtt.Client(
            "127.0.0.1", broker.port, username="b2", password=b2.password, identifier="b2-spy"
        ) as rogue:
            for t in (topics.down_site("A", "#"), topics.down("a1", "#"), topics.down_all("#")):
                await rogue.subscribe(t, qos=1)

            async def listen() -> None:
                async for m in rogue.messages:
                    spy.append(str(m.topic))

            listener = asyncio.create_task(listen())
            try:

                def caught_up() -> bool:
                    return all(
                        e.store.stream_versions() == changelog.expected_knowledge(c, n) for n, e in edges.items()
                    )

                await eventually(caught_up, 20, what="each node at central's view of its streams")
                assert _keys(edges["a1"].store) == {
                    ("release_order", "HF00001"),
                    ("release_order", "HF00003"),
                    ("control_order", hold.order_no),
                    ("parameters", "L1"),
                    ("lane", "L1"),
                }  # its lane's settings, on its own stream
                assert _keys(edges["b1"].store) == {
                    ("release_order", "HF00002"),
                    ("release_order", "HF00003"),
                    ("control_order", hold.order_no),
                    ("lane", "L1"),
                }
                assert edges["a1"].store.stream_versions() == {"*": 2, "site:A": 1, "node:a1": 2}
                assert edges["b1"].store.stream_versions() == {"*": 2, "site:B": 1, "node:b1": 1}

                # Live: a site A change reaches a1 (now subscribed to site A's topic) and not b1; a later
                # broadcast reaches both. The spy gets the broadcast, nothing of site A or of a1.
                orders.create_release_order(c, _order("HF00004", site="A"))
                await eventually(
                    lambda: ("release_order", "HF00004") in _keys(edges["a1"].store), 10, what="the site A order at a1"
                )
                orders.create_release_order(c, _order("HF00005"))
                await eventually(
                    lambda: all(("release_order", "HF00005") in _keys(e.store) for e in edges.values()),
                    10,
                    what="the broadcast order at both nodes",
                )
                await eventually(lambda: topics.down_all("changes") in spy, 10, what="the broadcast at the spy")
                assert ("release_order", "HF00004") not in _keys(edges["b1"].store)
                assert [t for t in spy if t != topics.down_all("changes")] == []

                # Central's view of each node (its reported streams) agrees with the node's own.
                await eventually(caught_up, 10, what="both nodes caught up")
                for n, e in edges.items():

                    def agrees(n: str = n, e: EdgeProc = e) -> bool:
                        row = central.node(n)
                        return (
                            row is not None
                            and row.knowledge_streams == e.store.stream_versions()
                            and row.knowledge_version == e.store.knowledge_version
                        )

                    await eventually(agrees, 10, what=f"central's view of {n}")
                # Its knowledge version counts its changes: broadcast 3, site A 2, its own 2 (lane settings,
                # parameters).
                assert edges["a1"].store.knowledge_version == 3 + 2 + 2
                # GET /api/v1/nodes shows each node's knowledge next to where it should be.
                shown = {n.node: n for n in sync_routes.list_nodes(c)}
                assert (shown["a1"].knowledge_version, shown["a1"].expected_knowledge_version) == (7, 7)
                assert (
                    shown["b1"].expected_streams == {"*": 3, "site:B": 1, "node:b1": 1} == shown["b1"].knowledge_streams
                )

                # a1's lane moves to site B: a1 drops site A's orders (it must never release on them)
                # and takes site B's; its grant in the ACL moves too.
                registry.upsert(c, "admin", "lane", {"node": "a1", "lane": "L1", "site": "B", "direction": "in"})
                set_site_access(acl, "a1", "B")
                broker.reload()
                await eventually(
                    lambda: edges["a1"].store.stream_versions() == {"*": 3, "site:B": 1, "node:a1": 3},
                    15,
                    what="a1 to follow site B instead of site A",
                )
                assert {key for k, key in _keys(edges["a1"].store) if k == "release_order"} == {
                    "HF00002",
                    "HF00003",
                    "HF00005",
                }
                orders.create_release_order(c, _order("HF00006", site="B"))
                await eventually(
                    lambda: all(("release_order", "HF00006") in _keys(e.store) for e in edges.values()),
                    10,
                    what="the next site B order at both nodes",
                )
            finally:
                listener.cancel()
                for e in edges.values():
                    await e.stop()
                await central.stop()
    finally:
        await broker.stop()


def test_gaps_and_snapshots_are_per_stream(tmp_path: Path) -> None:
    """A node behind in its site stream gets that stream's log or snapshot, never another site's."""
    central = new_central(tmp_path / "central.db")
    _register(CentralProc(central, None))  # type: ignore[arg-type]
    for i in range(5):
        orders.create_release_order(central, _order(f"HFA{i:05d}", site="A"))
        orders.create_release_order(central, _order(f"HFB{i:05d}", site="B"))
    orders.create_release_order(central, _order("HF00009"))
    answer = network.answer_sync_request(central, "a1", {"*": 0, "site:A": 2, "node:a1": 1}, snapshot_after=100)
    assert [(b.stream, b.after_version, b.to_version, b.snapshot) for b in answer] == [
        ("*", 0, 1, False),
        ("site:A", 2, 5, False),
    ]
    # Far behind in site A only: a snapshot of site A (its five orders), the broadcast as log.
    answer = network.answer_sync_request(central, "a1", {"*": 0}, snapshot_after=3)
    snap = answer[1]
    assert snap.stream == "site:A" and snap.snapshot and snap.to_version == 5
    assert sorted(ch.key for ch in snap.changes) == [f"HFA{i:05d}" for i in range(5)]
    # A node that names site B's stream gets only its own streams answered, and is told to drop B.
    answer = network.answer_sync_request(central, "a1", {"*": 1, "site:A": 5, "site:B": 3, "node:a1": 1})
    assert [(b.stream, b.retired, b.changes) for b in answer] == [("site:B", True, [])]

    store = EdgeStore(tmp_path / "edge.db")
    now = datetime.now(UTC)
    a = changelog.changes_after(central, 0, stream="site:A")
    store.apply_batch(ChangeBatch(**{**a.model_dump(), "changes": a.changes[:2], "to_version": 2}), now)
    later = changelog.changes_after(central, 3, stream="site:A")
    with pytest.raises(VersionGap) as gap:  # version 3 of site A is missing
        store.apply_batch(later, now)
    assert gap.value.stream == "site:A" and gap.value.have == 2
    # The broadcast stream is unaffected by the site's gap.
    assert store.apply_batch(changelog.changes_after(central, 0), now) == 1
    assert store.stream_versions() == {"*": 1, "site:A": 2}
    assert store.apply_batch(changelog.changes_after(central, 2, stream="site:A"), now) == 3
    assert store.knowledge_version == 6
    retire = network.answer_sync_request(central, "b1", store.stream_versions())[0]
    assert retire.retired and retire.stream == "site:A"
    assert store.apply_batch(retire, now) == 5  # site A's five orders dropped with its position
    assert store.stream_versions() == {"*": 1} and store.knowledge_version == 1


def test_enrol_grants_one_site_and_refuses_reserved_ids(tmp_path: Path) -> None:
    acl = tmp_path / "kakou.acl"
    acl.write_text(deploy_file("kakou.acl"))
    set_site_access(acl, "a1", "A")
    set_site_access(acl, "a1", "C")  # moved: the old grant goes
    set_site_access(acl, "b1", "B")
    text = acl.read_text()
    assert "kakou/v1/down/site/A/#" not in text
    assert text.count("user a1\ntopic read kakou/v1/down/site/C/#") == 1
    assert "user b1\ntopic read kakou/v1/down/site/B/#" in text
    set_site_access(acl, "a1", None)
    assert "user a1" not in acl.read_text() and "user b1" in acl.read_text()
    for bad in ("site", "all"):
        with pytest.raises(EnrolError):
            enrol_node(bad, tmp_path / "out", tmp_path / "passwd")
    with pytest.raises(EnrolError):
        set_site_access(acl, "a1", "A/#")
    # The CLI: `kakou node site NODE --site S --acl-file F`.
    parser = argparse.ArgumentParser()
    cli_node.register(parser.add_subparsers())
    args = parser.parse_args(["node", "site", "c1", "--site", "C", "--acl-file", str(acl)])
    assert args.func(args) == 0 and "user c1\ntopic read kakou/v1/down/site/C/#" in acl.read_text()
    args = parser.parse_args(["node", "site", "c1", "--site", "+", "--acl-file", str(acl)])
    assert args.func(args) == 2
