"""The hostile-node benchmark (`kakou bench --only hostile`): one enrolled node sends the catalogue
of bad messages of issue 15 as fast as it can while honest lanes send passes, all through a real
Mosquitto, to central's bridge running in a process of its own (on SQLite, and on PostgreSQL when
reachable at 127.0.0.1:5432).

Figures: whether central exited (goal 0), honest passes lost and duplicated (goal 0 / 0), the honest
pass delay p99 from publish to central's ack (goal ≤ 2 s), central's memory growth (goal ≤ 100 MB)
and central's log lines per second.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import math
import os
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import aiomqtt
from sqlalchemy import func, select

from kakou.broker import MosquittoBroker
from kakou.netutil import free_port
from kakou.sync import topics
from kakou.sync.messages import Envelope
from kakou.sync.samples import sample_record

HOSTILE = "hostile"


def envelope(node: str, seq: int, **body: object) -> dict:
    """A pass envelope as JSON-ready data, so a hostile node can put in it what a contract would refuse
    (tests/central/test_hostile_node.py sends the same ones)."""
    now = datetime.now(UTC)
    rec = sample_record(node, seq, now, reasons=["ok"])
    data = Envelope(node=node, seq=1, kind="pass", sent_at=now, body=rec).model_dump(mode="json")
    data["seq"] = seq
    data["body"].update(body)
    return data


def _catalogue() -> list[tuple[str, bytes]]:
    """(topic kind, payload): the bad messages of issue 15, items 1 and 2."""
    passes = topics.up(HOSTILE, topics.PASSES)
    line = lambda d: json.dumps(d, allow_nan=True).encode()  # noqa: E731
    out = [
        (passes, line(envelope(HOSTILE, 2**64))),
        (passes, line(envelope(HOSTILE, 2**31))),
        (passes, line(envelope(HOSTILE, 1, plate="A" * 17))),
        (passes, line(envelope(HOSTILE, 2, plate_confidence=math.nan))),
        (passes, line(envelope(HOSTILE, 3, gross_kg=math.inf))),
        (passes, line(envelope(HOSTILE, 4, pass_id="lane00-L1-1"))),  # an honest lane's pass_id
        (passes, b'{"v": 1}\n' * (9 * 1024 * 1024 // 9)),  # 9 MB of lines
        (passes, b"\n".join([b'{"v": 1}'] * 999)),
        (topics.up(HOSTILE, topics.SYNC_REQUEST), json.dumps({"v": 1, "node": HOSTILE, "after_version": 0}).encode()),
        (topics.status(HOSTILE), b'{"v": 1, "online": true, "knowledge_version": 99999999999}'),
    ]
    return out


@dataclass
class Result:
    database: str
    honest_sent: int = 0
    lost: int = 0
    duplicated: int = 0
    delays: list[float] = field(default_factory=list)
    central_exited: int = 0
    rss_growth_mb: float = 0.0
    log_lines_per_s: float = 0.0
    hostile_messages: int = 0

    @property
    def p99_s(self) -> float | None:
        if not self.delays:
            return None
        d = sorted(self.delays)
        return round(d[min(len(d) - 1, int(len(d) * 0.99))], 3)


def _rss_mb(pid: int) -> float:
    for ln in Path(f"/proc/{pid}/status").read_text().splitlines():
        if ln.startswith("VmRSS:"):
            return int(ln.split()[1]) / 1024
    return 0.0


async def _honest_lane(
    port: int,
    node: str,
    interval: float,
    until: float,
    sent: dict[tuple[str, int], float],
    acked: dict[tuple[str, int], float],
) -> None:
    async with aiomqtt.Client("127.0.0.1", port, identifier=f"bench-{node}", clean_session=True) as client:
        await client.subscribe(topics.down(node, topics.ACK), qos=1)

        all_acked = asyncio.Event()
        last = 0  # the lane's last seq, once it has stopped sending

        async def acks() -> None:
            async for m in client.messages:
                hw = json.loads(m.payload)["high_water"]
                now = time.perf_counter()
                for seq in range(1, hw + 1):
                    acked.setdefault((node, seq), now)
                if last and hw >= last:
                    all_acked.set()

        reader = asyncio.create_task(acks())
        seq = 0
        try:
            while time.perf_counter() < until:
                seq += 1
                sent[(node, seq)] = time.perf_counter()
                await client.publish(topics.up(node, topics.PASSES), json.dumps(envelope(node, seq)), qos=1)
                await asyncio.sleep(interval)
            last = seq
            if (node, seq) not in acked:
                with contextlib.suppress(TimeoutError):  # what is not acked by then counts as lost
                    await asyncio.wait_for(all_acked.wait(), 30)
        finally:
            reader.cancel()


async def _hostile(port: int, until: float) -> int:
    sent = 0
    catalogue = _catalogue()
    async with aiomqtt.Client("127.0.0.1", port, identifier=f"bench-{HOSTILE}", clean_session=True) as client:
        while time.perf_counter() < until:
            for topic, payload in catalogue:
                await client.publish(topic, payload, qos=1)
                sent += 1
                if time.perf_counter() >= until:
                    break
    return sent


async def _run(url: str, label: str, seconds: float, lanes: int, work: Path) -> Result:
    from kakou.central.db import create_schema, make_engine, make_sessionmaker
    from kakou.central.tables_sync import PassRow

    result = Result(label)
    broker = MosquittoBroker(free_port(), work / "broker")
    await broker.start()
    engine = make_engine(url)
    create_schema(engine)
    central = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kakou.bench.hostile",
        "central",
        url,
        str(broker.port),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert central.stdout is not None and central.stderr is not None
    log_lines = 0

    async def count_log() -> None:
        nonlocal log_lines
        assert central.stderr is not None
        while await central.stderr.readline():
            log_lines += 1

    counter = asyncio.create_task(count_log())
    try:
        await asyncio.wait_for(central.stdout.readline(), 30)  # "ready"
        rss0 = _rss_mb(central.pid)
        rss_peak = rss0
        t0 = time.perf_counter()
        until = t0 + seconds
        sent: dict[tuple[str, int], float] = {}
        acked: dict[tuple[str, int], float] = {}
        tasks = [
            asyncio.create_task(_honest_lane(broker.port, f"lane{i:02d}", 0.5, until, sent, acked))
            for i in range(lanes)
        ]
        # The hostile node in a process of its own: publishing 9 MB messages would stall the honest
        # lanes' event loop here and count against central's delay.
        hostile = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "kakou.bench.hostile",
            "hostile",
            str(broker.port),
            str(seconds),
            stdout=asyncio.subprocess.PIPE,
        )
        while time.perf_counter() < until:
            await asyncio.sleep(1)
            if central.returncode is not None:
                break
            rss_peak = max(rss_peak, _rss_mb(central.pid))
        out, _ = await hostile.communicate()
        result.hostile_messages = int(out.strip() or 0)
        await asyncio.gather(*tasks, return_exceptions=True)
        log_per_s = log_lines / max(0.001, time.perf_counter() - t0)
        result.central_exited = 0 if central.returncode is None else 1
        result.honest_sent = len(sent)
        result.delays = [acked[k] - t for k, t in sent.items() if k in acked]
        with make_sessionmaker(engine)() as s:
            rows = s.execute(
                select(PassRow.node, func.count(), func.count(func.distinct(PassRow.seq)))
                .where(PassRow.node.like("lane%"))
                .group_by(PassRow.node)
            ).all()
        stored = {node: n for node, n, _ in rows}
        result.duplicated = sum(n - d for _, n, d in rows)
        per_node: dict[str, int] = {}
        for node, _seq in sent:
            per_node[node] = per_node.get(node, 0) + 1
        result.lost = sum(max(0, n - stored.get(node, 0)) for node, n in per_node.items())
        result.rss_growth_mb = round(rss_peak - rss0, 1)
        result.log_lines_per_s = round(log_per_s, 1)
        return result
    finally:
        if central.returncode is None:
            central.terminate()
            await central.wait()
        counter.cancel()
        await broker.stop()
        engine.dispose()


def measure(seconds: float, lanes: int = 40, database: str = "sqlite") -> Result:
    with tempfile.TemporaryDirectory(prefix="kakou-bench-hostile-") as d:
        if database == "sqlite":
            return asyncio.run(_run(f"sqlite:///{Path(d) / 'central.db'}", "SQLite", seconds, lanes, Path(d)))
        from kakou.bench.central import pg_database, pg_problem

        problem = pg_problem()
        if problem:
            raise RuntimeError(problem)
        with pg_database() as url:
            return asyncio.run(_run(url, "PostgreSQL", seconds, lanes, Path(d)))


def metrics(quick: bool) -> list[dict[str, object]]:
    out: list[dict[str, object]] = []
    seconds = 15.0 if quick else 60.0
    for db, label in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL")):
        try:
            r = measure(seconds, database=db)
        except RuntimeError as exc:  # PostgreSQL not reachable here: say so in the table
            out.append(
                {
                    "name": f"hostile node ({label})",
                    "value": None,
                    "unit": "",
                    "goal": None,
                    "higher_is_better": False,
                    "note": str(exc),
                }
            )
            continue
        note = (
            f"{seconds:g} s; {r.hostile_messages:,} bad messages from one node, {r.honest_sent:,} honest passes "
            "from 40 lanes (2/s each), real Mosquitto"
        )
        out += [
            {
                "name": f"hostile node: central exits ({label})",
                "value": r.central_exited,
                "unit": "exits",
                "goal": 0,
                "higher_is_better": False,
                "note": note,
            },
            {
                "name": f"hostile node: honest passes lost ({label})",
                "value": r.lost,
                "unit": "passes",
                "goal": 0,
                "higher_is_better": False,
                "note": "",
            },
            {
                "name": f"hostile node: honest passes duplicated ({label})",
                "value": r.duplicated,
                "unit": "passes",
                "goal": 0,
                "higher_is_better": False,
                "note": "",
            },
            {
                "name": f"hostile node: honest pass delay p99 ({label})",
                "value": r.p99_s,
                "unit": "s",
                "goal": 2,
                "higher_is_better": False,
                "note": "publish → central's ack",
            },
            {
                "name": f"hostile node: central memory growth ({label})",
                "value": r.rss_growth_mb,
                "unit": "MB",
                "goal": 100,
                "higher_is_better": False,
                "note": "peak RSS minus RSS at start",
            },
            {
                "name": f"hostile node: central log lines ({label})",
                "value": r.log_lines_per_s,
                "unit": "lines/s",
                "goal": 5,
                "higher_is_better": False,
                "note": "WARNING and above",
            },
        ]
    return out


async def _serve_central(url: str, port: int) -> None:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

    from kakou.central.bridge import CentralBridge
    from kakou.central.db import create_schema, make_engine, make_sessionmaker
    from kakou.central.service import Central
    from kakou.sync.mqtt import BrokerConfig

    engine = make_engine(url)
    create_schema(engine)
    cfg = BrokerConfig(port=port, mqtt5=os.environ.get("KAKOU_BENCH_MQTT5") == "1")
    bridge = CentralBridge(Central(make_sessionmaker(engine)), cfg, Ed25519PrivateKey.generate())
    task = asyncio.create_task(bridge.run())
    await asyncio.wait_for(bridge.connected.wait(), 20)
    print("ready", flush=True)
    await task


if __name__ == "__main__":
    if sys.argv[1:2] == ["hostile"]:
        print(asyncio.run(_hostile(int(sys.argv[2]), time.perf_counter() + float(sys.argv[3]))), flush=True)
    elif sys.argv[1:2] == ["central"]:
        logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
        asyncio.run(_serve_central(sys.argv[2], int(sys.argv[3])))
    else:
        secs = float(sys.argv[1]) if len(sys.argv) > 1 else 15.0
        for db in sys.argv[2:] or ["sqlite"]:
            r = measure(secs, database=db)
            print(
                f"{r.database}: exited {r.central_exited}, {r.honest_sent} honest sent, lost {r.lost}, "
                f"duplicated {r.duplicated}, p99 {r.p99_s} s, RSS +{r.rss_growth_mb} MB, "
                f"{r.log_lines_per_s} log lines/s, {r.hostile_messages} bad messages",
                flush=True,
            )
        os._exit(0)
