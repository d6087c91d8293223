"""Central bridge and edge links in-process (and an edge link as a killable subprocess), on real
SQLite files and a real broker: the parts of the sync protocol without cameras or lanes."""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import sys
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import func, select

from kakou.broker import MosquittoBroker
from kakou.central import changelog, orders
from kakou.central.bridge import CentralBridge
from kakou.central.db import create_schema, make_engine, make_sessionmaker
from kakou.central.service import Central
from kakou.central.tables_sync import NodeRow, PassRow
from kakou.edge.link import EdgeLink
from kakou.edge.store import EdgeStore
from kakou.netutil import free_port
from kakou.sync.messages import ReleaseOrderData
from kakou.sync.mqtt import BrokerConfig
from kakou.sync.signing import key_id, public_b64
from kakou.waiting import eventually

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


async def _cancel(task: asyncio.Task | None) -> None:
    # Python 3.11's wait_for can swallow a cancellation that lands as its inner call completes:
    # cancel again until the task is really gone.
    while task is not None and not task.done():
        task.cancel()
        await asyncio.wait([task], timeout=1)


def new_central(db: Path) -> Central:
    engine = make_engine(f"sqlite:///{db}")
    create_schema(engine)
    return Central(make_sessionmaker(engine))


@dataclass
class CentralProc:
    """Central's MQTT bridge running as a task; stop() is a crash as far as the broker can tell."""

    central: Central
    bridge: CentralBridge
    task: asyncio.Task | None = None

    @classmethod
    async def start(cls, db: Path, broker: BrokerConfig, key: Ed25519PrivateKey, **kw: object) -> CentralProc:
        central = new_central(db)
        bridge = CentralBridge(central, broker, key, **kw)  # type: ignore[arg-type]
        proc = cls(central, bridge, asyncio.create_task(bridge.run()))
        await asyncio.wait_for(bridge.connected.wait(), 10)
        return proc

    async def stop(self) -> None:
        await _cancel(self.task)
        self.task = None

    def add_order(self, n: int) -> int:
        o = ReleaseOrderData(
            order_no=f"HF{n:06d}",
            plate=f"粤B{n:05d}",
            direction="in",
            valid_from=NOW - timedelta(hours=1),
            valid_until=NOW + timedelta(days=1),
        )
        return orders.create_release_order(self.central, o)

    def latest(self) -> int:
        return changelog.latest_version(self.central)

    def pass_keys(self) -> list[tuple[str, int]]:
        with self.central.sessions() as s:
            return [tuple(r) for r in s.execute(select(PassRow.node, PassRow.seq).order_by(PassRow.node, PassRow.seq))]

    def count(self, node: str | None = None) -> int:
        with self.central.sessions() as s:
            q = select(func.count()).select_from(PassRow)
            if node:
                q = q.where(PassRow.node == node)
            return s.scalar(q) or 0

    def node(self, node: str) -> NodeRow | None:
        with self.central.sessions() as s:
            return s.get(NodeRow, node)

    def known_node(self, node: str) -> NodeRow:
        """The row of a node central has seen (the test fails here, not later, if it has not)."""
        row = self.node(node)
        assert row is not None, f"central knows no node {node}"
        return row


@dataclass
class EdgeProc:
    """An edge node's store and link in-process."""

    node: str
    store: EdgeStore
    link: EdgeLink
    task: asyncio.Task | None = None

    @classmethod
    def open(cls, node: str, db: Path, broker: BrokerConfig, keys: list[Ed25519PrivateKey], **kw: object) -> EdgeProc:
        store = EdgeStore(db)
        trusted = {key_id(k.public_key()): k.public_key() for k in keys}
        return cls(node, store, EdgeLink(node, store, broker, trusted, **kw))  # type: ignore[arg-type]

    def start(self) -> EdgeProc:
        self.task = asyncio.create_task(self.link.run())
        return self

    async def stop(self) -> None:
        await _cancel(self.task)
        self.task = None

    def record(self, start: int, count: int) -> None:
        from kakou.edge.sync_runner import record_passes

        record_passes(self.store, self.node, start, count)
        self.link.wake()

    def seqs(self) -> list[int]:
        return [r[0] for r in self.store.query("SELECT seq FROM outbox ORDER BY seq")]


@dataclass
class EdgeSubprocess:
    """`python -m kakou.edge.sync_runner` on an SQLite file: a link we can SIGKILL."""

    node: str
    db: Path
    broker: BrokerConfig
    trust: list[str]
    proc: asyncio.subprocess.Process | None = None
    args: list[str] = field(default_factory=list)

    async def start(self, record: int = 0, record_interval: float = 0.0, ack_timeout: float = 5.0) -> None:
        cmd = [
            sys.executable,
            "-m",
            "kakou.edge.sync_runner",
            "--node",
            self.node,
            "--db",
            str(self.db),
            "--port",
            str(self.broker.port),
            "--record",
            str(record),
            "--record-interval",
            str(record_interval),
            "--ack-timeout",
            str(ack_timeout),
        ]
        if self.broker.username:
            cmd += ["--username", self.broker.username, "--password", self.broker.password or ""]
        for t in self.trust:
            cmd += ["--trust", t]
        self.proc = await asyncio.create_subprocess_exec(
            *cmd, stdout=asyncio.subprocess.PIPE, env={**os.environ, "PYTHONUNBUFFERED": "1"}
        )
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), 30)
        assert line.strip() == b"ready", line

    async def kill9(self) -> None:
        if self.proc and self.proc.returncode is None:
            self.proc.send_signal(signal.SIGKILL)
            await self.proc.wait()

    async def stop(self) -> None:
        if self.proc and self.proc.returncode is None:
            with contextlib.suppress(ProcessLookupError):
                self.proc.terminate()
            await self.proc.wait()


@contextlib.asynccontextmanager
async def central_and_edge(
    broker: MosquittoBroker,
    tmp_path: Path,
    key: Ed25519PrivateKey,
    trusted: list[Ed25519PrivateKey] | None = None,
    *,
    start_edge: bool = True,
) -> AsyncIterator[tuple[CentralProc, EdgeProc]]:
    """Central signing with `key` and node n1 trusting `trusted` (default: `key`) on `broker`, with
    their databases in `tmp_path`; the node's link runs unless `start_edge` is False (the test
    prepares its store, then starts it). Both stopped on leaving."""
    cfg = BrokerConfig(port=broker.port)
    central = await CentralProc.start(tmp_path / "central.db", cfg, key)
    edge = EdgeProc.open("n1", tmp_path / "n1.db", cfg, trusted or [key])
    if start_edge:
        edge.start()
    try:
        yield central, edge
    finally:
        await edge.stop()
        await central.stop()


@contextlib.asynccontextmanager
async def shared_ingest(
    tmp_path: Path, key: Ed25519PrivateKey, nodes: int, **edge_kw: object
) -> AsyncIterator[tuple[list[CentralProc], list[EdgeProc]]]:
    """Two central workers sharing ingest (an MQTT 5 shared subscription on one database) and
    `nodes` running edge nodes n0.., on a broker of their own; all stopped on leaving."""
    broker = MosquittoBroker(free_port(), tmp_path / "broker")
    await broker.start()
    cfg = BrokerConfig(port=broker.port, mqtt5=True)
    db = tmp_path / "central.db"
    workers = [
        await CentralProc.start(db, cfg, key, client_id=f"kakou-central-{i}", share_group="ingest") for i in range(2)
    ]
    edges = [
        EdgeProc.open(f"n{i}", tmp_path / f"n{i}.db", BrokerConfig(port=broker.port), [key], **edge_kw).start()
        for i in range(nodes)
    ]
    try:
        yield workers, edges
    finally:
        for e in edges:
            await e.stop()
        for w in workers:
            await w.stop()
        await broker.stop()


async def both_ways(central: CentralProc, edge: EdgeProc, how: str) -> None:
    """A fresh node works end to end: three passes up, stored at central and acked, and one signed
    order down, applied (`how`: over what, for the failure messages)."""
    central.add_order(1)
    edge.record(1, 3)
    await eventually(
        lambda: central.count(edge.node) == 3 and edge.store.outbox_counts()["queued"] == 0,
        20,
        what=f"{edge.node}'s passes stored at central and acked, {how}",
    )
    await eventually(lambda: edge.store.knowledge_version == 1, 10, what=f"the signed change at {edge.node} {how}")


def trust_b64(key: Ed25519PrivateKey) -> str:
    return public_b64(key.public_key())


async def assert_exactly_once(
    central: CentralProc, edges: list[EdgeStore], nodes: list[str], timeout: float = 30
) -> None:
    """Every pass each edge recorded is at central exactly once, and every edge saw its ack."""
    expected = sorted(
        (n, seq) for n, st in zip(nodes, edges, strict=True) for (seq,) in st.query("SELECT seq FROM outbox")
    )

    def done() -> bool:
        return central.pass_keys() == expected and all(st.outbox_counts()["queued"] == 0 for st in edges)

    await eventually(done, timeout, what=f"{len(expected)} passes exactly once at central and acked")
    keys = central.pass_keys()
    assert len(keys) == len(set(keys)) == len(expected)


async def assert_same_knowledge(central: CentralProc, edges: list[EdgeStore], timeout: float = 30) -> None:
    latest = central.latest()
    await eventually(
        lambda: all(st.knowledge_version == latest for st in edges),
        timeout,
        what=f"every edge at knowledge version {latest}",
    )
    rows = {tuple(st.knowledge_rows()) for st in edges}
    assert len(rows) == 1 and len(next(iter(rows))) == latest


class PartitionProxy:
    """A TCP hop between edges and the broker that can be cut like a network partition.

    Cut: bytes both ways are dropped and nothing is closed — the edges find out only by their
    keepalive, the broker by its own (and publishes their last wills); new connections are
    accepted and then hear nothing. Healed: the connections that lived through the cut are closed
    (as dead TCP sessions would be) and new ones go through.
    """

    def __init__(self, broker_port: int) -> None:
        self.broker_port = broker_port
        self.port = 0
        self.cut = False
        self._server: asyncio.Server | None = None
        self._conns: set[asyncio.StreamWriter] = set()

    async def start(self) -> PartitionProxy:
        self._server = await asyncio.start_server(self._serve, "127.0.0.1", 0)
        self.port = self._server.sockets[0].getsockname()[1]
        return self

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self._conns.add(writer)
        up_w: asyncio.StreamWriter | None = None
        try:
            up_r, up_w = await asyncio.open_connection("127.0.0.1", self.broker_port)
            self._conns.add(up_w)
            await asyncio.gather(self._pump(reader, up_w), self._pump(up_r, writer))
        except OSError:
            pass
        finally:
            for w in (writer, up_w):
                if w is not None:
                    self._conns.discard(w)
                    w.close()

    async def _pump(self, src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
        born_cut = self.cut
        while data := await src.read(65536):
            if self.cut or born_cut:
                continue  # dropped on the floor, like packets into a dead link
            dst.write(data)
            await dst.drain()
        dst.close()

    def partition(self) -> None:
        self.cut = True

    def heal(self) -> None:
        self.cut = False
        for w in list(self._conns):
            w.close()  # connections that lived through the cut are dead; the clients reconnect
        self._conns.clear()

    async def stop(self) -> None:
        self.heal()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
