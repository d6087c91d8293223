"""A partition of a minute or more between the edges and the broker while the lanes keep recording.

Central stays connected to the broker; the edges reach it through a TCP hop the test cuts the way
a dead link is cut (bytes dropped, nothing closed). The partition lasts for ATTEMPTS failed
reconnection attempts at each edge — waited on as events, not slept — and ends with every pass
at central exactly once, every edge at central's knowledge, and the control order issued during
the cut at every lane. KAKOU_PARTITION_ATTEMPTS=8 makes it the ~2-minute soak it was (the back-off
at its cap for the last three attempts); the default run keeps to ~1 minute.
"""

from __future__ import annotations

import asyncio
import os
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sync_harness import CentralProc, EdgeProc, PartitionProxy, assert_exactly_once, assert_same_knowledge

from kakou.broker import MosquittoBroker
from kakou.central import control
from kakou.sync.mqtt import BrokerConfig
from kakou.waiting import eventually

NODES = ["gate1-edge1", "gate2-edge1"]
# Each failed attempt costs the connect timeout (10 s) plus the back-off (0.2 s doubling up to
# 10 s): 4 attempts after the edge noticed the cut are ~45 s of partition, 8 ~2 minutes.
ATTEMPTS = int(os.environ.get("KAKOU_PARTITION_ATTEMPTS", "4"))
PER_ATTEMPT = 15  # passes each lane records while its link makes one more attempt


async def _lane(edge: EdgeProc, first: int, partitioned: asyncio.Event) -> int:
    """The lane keeps recording while its link is down; returns the next pass number."""
    n = first
    while partitioned.is_set():
        edge.link.state_changed.clear()
        await edge.link.state_changed.wait()
        edge.record(n, PER_ATTEMPT)
        n += PER_ATTEMPT
    return n


async def test_a_long_partition_loses_nothing_and_the_order_issued_meanwhile_arrives(
    mosquitto: MosquittoBroker, tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    proxy = await PartitionProxy(mosquitto.port).start()
    central = await CentralProc.start(tmp_path / "central.db", BrokerConfig(port=mosquitto.port), key)
    edge_cfg = BrokerConfig(port=proxy.port, keepalive=5)  # a dead link is noticed after 1.5 × 5 s
    edges = [EdgeProc.open(n, tmp_path / f"{n}.db", edge_cfg, [key], ack_timeout=1.5).start() for n in NODES]
    stores = [e.store for e in edges]
    try:
        central.add_order(1)
        for e in edges:
            e.record(1, 20)
        await assert_exactly_once(central, stores, NODES)
        await assert_same_knowledge(central, stores)

        proxy.partition()
        partitioned = asyncio.Event()
        partitioned.set()
        for e in edges:  # these go out into the dead link before the edges can tell
            e.record(21, 30)
        await eventually(lambda: not any(e.link.online for e in edges), 30, what="the edges to notice the cut")
        # The broker gives up on them too and publishes their last wills: central shows them offline.
        await eventually(
            lambda: all(not central.known_node(n).online for n in NODES),
            30,
            what="central to see both edges offline",
        )
        lanes = [asyncio.create_task(_lane(e, 51, partitioned)) for e in edges]
        hold = control.create(
            central.central,
            "officer",
            control.ControlOrderIn(
                target_kind="container",
                target_value="MSCU1234565",
                action="hold",
                emergency=True,
                reason="issued during the partition",
            ),
        )
        central.add_order(2)
        start = [e.link.disconnects for e in edges]
        await eventually(
            lambda: all(e.link.disconnects - s >= ATTEMPTS for e, s in zip(edges, start, strict=True)),
            ATTEMPTS * 25,
            interval=1.0,
            what=f"{ATTEMPTS} failed reconnection attempts at each edge",
        )
        partitioned.clear()
        for e in edges:
            e.link.state_changed.set()  # let each lane task see the end of the partition
        recorded = await asyncio.gather(*lanes)
        assert all(n >= 51 + ATTEMPTS * PER_ATTEMPT for n in recorded)
        # Nothing crossed the cut: central has only what was acked before it.
        assert central.count() == 2 * 20
        assert all(
            ("control_order", hold.order_no) not in {(k, key) for k, key, _v in st.knowledge_rows()} for st in stores
        )

        proxy.heal()
        await assert_exactly_once(central, stores, NODES, timeout=120)
        await assert_same_knowledge(central, stores, timeout=60)
        for st in stores:
            assert ("control_order", hold.order_no) in {(k, key) for k, key, _v in st.knowledge_rows()}
        await eventually(
            lambda: all(
                central.known_node(n).online and central.known_node(n).knowledge_version == central.latest()
                for n in NODES
            ),
            30,
            what="central to see both edges back, caught up",
        )
    finally:
        for e in edges:
            await e.stop()
        await central.stop()
        await proxy.stop()
