"""`kakou sim fleet`: many simulated edge nodes in one process against a real broker and central.

Each simulated edge is what a real node is on the uplink: its own EdgeStore (SQLite, fsync'd pass +
outbox transaction) and its own EdgeLink (MQTT client, window, acks, resends) under its own node id.
Lanes write PassRecords at a fixed rate and wake the link, as `Lane` does. At the end every pass is
accounted for: sent by the edge (written to its outbox), stored at central (central's API, per node) and acknowledged
back to the edge (its outbox).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
import time
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import httpx
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from kakou.edge.link import EdgeLink
from kakou.edge.store import EdgeStore
from kakou.edge.sync_runner import sample_pass
from kakou.sync.mqtt import BrokerConfig
from kakou.sync.signing import key_id, load_public_b64

STALE_READS_S = 2.0  # how long a count at central may lag a commit made by another central process


@dataclass
class FleetConfig:
    edges: int
    lanes_per_edge: int
    rate: float  # passes per second per lane
    seconds: float
    broker: BrokerConfig
    central_url: str
    username: str
    password: str
    work_dir: Path | None = None  # default: a temporary directory, removed at the end
    drain_timeout: float = 120.0  # after traffic stops: how long to wait for every ack
    node_prefix: str = "fleet"
    central_keys: list[str] = field(default_factory=list)  # central's public keys (base64), as edges trust them


@dataclass
class NodeReport:
    node: str
    sent: int
    acknowledged: int
    stored: int

    @property
    def ok(self) -> bool:
        return self.sent == self.acknowledged == self.stored


@dataclass
class FleetReport:
    edges: int
    lanes: int
    rate_per_lane: float
    traffic_s: float
    drain_s: float  # from the end of traffic to the last ack (or the drain timeout)
    late_s: float  # how far the lanes' last writes fell behind their schedule (the fleet host's own load)
    sent: int
    acknowledged: int
    stored: int
    resends: int  # times a link resent for lack of acks (each is a recovery, not a loss)
    nodes: list[NodeReport] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return all(n.ok for n in self.nodes)

    @property
    def lost(self) -> int:
        return sum(max(0, n.sent - n.stored) for n in self.nodes)

    def text(self) -> str:
        bad = [n for n in self.nodes if not n.ok]
        lines = [
            f"fleet: {self.edges} edges × {self.lanes // max(self.edges, 1)} lanes at {self.rate_per_lane:g} "
            f"passes/s/lane for {self.traffic_s:.1f}s",
            f"  sent by the edges      {self.sent}  (offered {self.rate_per_lane * self.lanes:g} passes/s)",
            f"  stored at central      {self.stored}",
            f"  acknowledged to edges  {self.acknowledged}  (drained {self.drain_s:.1f}s after traffic stopped)",
            f"  link resends           {self.resends}",
            f"  lanes behind schedule  {self.late_s:.1f}s at the end (the fleet host's load, not central's)",
            f"  lost                   {self.lost}",
            "  every pass accounted for" if self.ok else f"  {len(bad)} node(s) NOT fully accounted for:",
        ]
        lines += [f"    {n.node}: sent {n.sent}, stored {n.stored}, acknowledged {n.acknowledged}" for n in bad[:20]]
        return "\n".join(lines)

    def as_json(self) -> str:
        return json.dumps({**asdict(self), "ok": self.ok, "lost": self.lost}, indent=2)


class SimEdge:
    def __init__(
        self, node: str, lanes: int, data_dir: Path, broker: BrokerConfig, trusted: dict[str, Ed25519PublicKey]
    ) -> None:
        self.node = node
        self.lanes = [f"L{i + 1}" for i in range(lanes)]
        self.store = EdgeStore(data_dir / "edge.db")
        # Without central's key the downlink's batches are rejected (and logged): the uplink still works.
        self.link = EdgeLink(node, self.store, broker, trusted=trusted)
        self.sent = 0

    async def lane(self, lane: str, rate: float, until: float) -> None:
        interval, n = 1.0 / rate, 0
        start = time.monotonic()
        while (due := start + n * interval) < until:
            # Pacing of simulated traffic (the trucks' arrivals), not a wait for async work.
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            await asyncio.to_thread(
                self.store.record_pass, sample_pass(self.node, n, lane, at=datetime.now(UTC)), {"fleet": True}
            )
            self.sent += 1
            self.link.wake()
            n += 1

    def drained(self) -> bool:
        return self.store.outbox_counts()["queued"] == 0


async def _stored(http: httpx.AsyncClient, node: str, limit: asyncio.Semaphore) -> int:
    async with limit:  # a few at a time: a thousand concurrent counts would only queue at central
        r = await http.get("/api/v1/passes", params={"node": node, "limit": 1})
    r.raise_for_status()
    return int(r.json()["total"])


async def _login(http: httpx.AsyncClient, username: str, password: str) -> None:
    r = await http.post("/api/v1/auth/login", json={"username": username, "password": password})
    if r.status_code != 200:
        raise RuntimeError(f"central login as {username} failed ({r.status_code}): {r.text[:200]}")
    http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"


async def run_fleet(cfg: FleetConfig) -> FleetReport:
    tmp = None if cfg.work_dir else tempfile.mkdtemp(prefix="kakou-fleet-")
    work = cfg.work_dir or Path(tmp or ".")
    keys = [load_public_b64(k) for k in cfg.central_keys]
    trusted = {key_id(k): k for k in keys}
    edges = [
        SimEdge(f"{cfg.node_prefix}-{i + 1:04d}", cfg.lanes_per_edge, work / f"edge-{i + 1:04d}", cfg.broker, trusted)
        for i in range(cfg.edges)
    ]
    links = [asyncio.create_task(e.link.run(), name=f"link-{e.node}") for e in edges]
    try:
        async with httpx.AsyncClient(base_url=cfg.central_url, timeout=60) as http:
            await _login(http, cfg.username, cfg.password)  # fail early, before any traffic
            t0 = time.monotonic()
            until = t0 + cfg.seconds
            await asyncio.gather(*(e.lane(lane, cfg.rate, until) for e in edges for lane in e.lanes))
            t1 = time.monotonic()
            late = max(0.0, t1 - until)
            deadline = t1 + cfg.drain_timeout
            pending = list(edges)
            while pending and time.monotonic() < deadline:
                pending = [e for e in pending if not e.drained()]
                if pending:
                    await asyncio.sleep(0.1)  # polling the outboxes of many nodes; each ack is async
            drain = time.monotonic() - t1
            limit = asyncio.Semaphore(8)
            stored = await asyncio.gather(*(_stored(http, e.node, limit) for e in edges))
            # Acknowledged means committed at central, but with several central processes a count
            # may come from another process's read cache, which sees a write within 0.5 s: count
            # again for a short while before calling an acknowledged pass lost.
            settle = time.monotonic() + STALE_READS_S
            while time.monotonic() < settle and any(
                s < e.store.outbox_counts()["acknowledged"] for e, s in zip(edges, stored, strict=True)
            ):
                await asyncio.sleep(0.25)
                stored = await asyncio.gather(*(_stored(http, e.node, limit) for e in edges))
    finally:
        for t in links:
            t.cancel()
        await asyncio.gather(*links, return_exceptions=True)
    nodes = [
        NodeReport(e.node, e.sent, e.store.outbox_counts()["acknowledged"], s)
        for e, s in zip(edges, stored, strict=True)
    ]
    resends = sum(e.link.resends for e in edges)
    for e in edges:
        e.store.close()
    if tmp:
        shutil.rmtree(tmp, ignore_errors=True)
    return FleetReport(
        edges=cfg.edges,
        lanes=cfg.edges * cfg.lanes_per_edge,
        rate_per_lane=cfg.rate,
        traffic_s=cfg.seconds,
        drain_s=drain,
        late_s=late,
        sent=sum(n.sent for n in nodes),
        acknowledged=sum(n.acknowledged for n in nodes),
        stored=sum(n.stored for n in nodes),
        resends=resends,
        nodes=nodes,
    )


def cmd_sim_fleet(args: argparse.Namespace) -> int:
    from kakou.cli import run_command

    password = args.password or os.environ.get("KAKOU_PASSWORD")
    if not password:
        print("error: central's API needs a login: --username and --password (or $KAKOU_PASSWORD)", file=sys.stderr)
        return 2
    try:
        keys = [Path(k).read_text() for k in args.central_key]
    except OSError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    cfg = FleetConfig(
        edges=args.edges,
        lanes_per_edge=args.lanes_per_edge,
        rate=args.rate,
        seconds=args.seconds,
        broker=BrokerConfig(host=args.mqtt_host, port=args.mqtt_port),
        central_url=args.central,
        username=args.username,
        password=password,
        work_dir=Path(args.work_dir) if args.work_dir else None,
        drain_timeout=args.drain_timeout,
        node_prefix=args.node_prefix,
        central_keys=keys,
    )
    result: dict[str, FleetReport] = {}

    async def go() -> None:
        result["r"] = await run_fleet(cfg)

    try:
        code = run_command(go())
    except (httpx.HTTPError, RuntimeError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if "r" not in result:
        return code or 1
    report = result["r"]
    print(report.as_json() if args.json else report.text())
    return 0 if report.ok else 1


def _positive(kind: type) -> object:
    def parse(text: str) -> object:
        value = kind(text)
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be positive, got {text}")
        return value

    return parse


def register_sim_fleet(sim: argparse._SubParsersAction) -> None:
    f = sim.add_parser("fleet", help="N simulated edge nodes against a broker and central; accounts for every pass")
    f.add_argument("--edges", type=_positive(int), default=10)
    f.add_argument("--lanes-per-edge", type=_positive(int), default=4)
    f.add_argument("--rate", type=_positive(float), default=0.2, help="passes per second per lane")
    f.add_argument("--seconds", type=_positive(float), default=30.0, help="how long traffic runs")
    f.add_argument(
        "--drain-timeout", type=_positive(float), default=120.0, help="after traffic: seconds to wait for every ack"
    )
    f.add_argument("--mqtt-host", default="127.0.0.1")
    f.add_argument("--mqtt-port", type=int, default=1883)
    f.add_argument("--central", default="http://127.0.0.1:8080", help="central's base URL")
    f.add_argument("--username", default="admin", help="a central user that may read passes")
    f.add_argument("--password", default=None, help="default: $KAKOU_PASSWORD")
    f.add_argument(
        "--central-key",
        action="append",
        default=[],
        help="central's public key file (DATA_DIR/keys/central-signing.pub), so edges accept its batches",
    )
    f.add_argument("--node-prefix", default="fleet", help="node ids are PREFIX-0001 …")
    f.add_argument("--work-dir", default=None, help="keep the edges' stores here (default: a temp dir, removed)")
    f.add_argument("--json", action="store_true")
    f.set_defaults(func=cmd_sim_fleet)
