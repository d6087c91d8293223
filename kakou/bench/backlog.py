"""Benchmarks of the sync protocol on real parts: our own Mosquitto, SQLite at both ends.

`measure_backlog_drain(n)`: an edge node comes back after a partition with n passes queued in its
outbox; how many passes per second reach central's database (stored, deduplicated, acked)?
The edge link runs in its own process (`kakou.edge.sync_runner`), as on a real edge box.
"""

from __future__ import annotations

import asyncio
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import TypedDict

from sqlalchemy import func, select

from kakou.bench.stack import central_on_broker
from kakou.central.tables_sync import PassRow
from kakou.edge.store import EdgeStore

NODE = "bench-edge1"


def _queue_backlog(db: Path, n: int) -> None:
    """n passes queued as the lane writes them, but in one transaction: setup time is not measured."""
    from kakou.edge.sync_runner import sample_pass

    store = EdgeStore(db)
    with store.tx() as tx:
        for i in range(1, n + 1):
            rec = sample_pass(NODE, i)
            body = rec.model_dump_json()
            tx.execute(
                "INSERT INTO passes(pass_id, lane, decided_at, record, inputs) VALUES(?, ?, ?, ?, '{}')",
                (rec.pass_id, rec.lane, rec.decided_at.isoformat(), body),
            )
            tx.execute(
                "INSERT INTO outbox(kind, body, created_at) VALUES('pass', ?, ?)", (body, rec.decided_at.isoformat())
            )
    store.close()


async def _drain(n: int, work: Path, timeout: float, url: str) -> float:
    async with central_on_broker(work, url) as c:
        edge: asyncio.subprocess.Process | None = None
        try:
            await asyncio.to_thread(_queue_backlog, work / "edge.db", n)

            def stored() -> int:
                with c.central.sessions() as s:
                    return s.scalar(select(func.count()).select_from(PassRow)) or 0

            edge = await asyncio.create_subprocess_exec(
                sys.executable,
                "-m",
                "kakou.edge.sync_runner",
                "--node",
                NODE,
                "--db",
                str(work / "edge.db"),
                "--port",
                str(c.port),
                "--trust",
                c.trust,
                stdout=asyncio.subprocess.PIPE,
            )
            assert edge.stdout is not None
            await edge.stdout.readline()  # "ready": the link starts now
            t0 = time.perf_counter()
            while c.bridge.processed < n:  # polling a counter, not the database: cheap for the bridge
                if time.perf_counter() - t0 > timeout:
                    raise TimeoutError(f"only {c.bridge.processed} of {n} passes in {timeout}s")
                await asyncio.sleep(0.01)
            elapsed = time.perf_counter() - t0
            if stored() != n:
                raise AssertionError(f"{stored()} passes stored for {n} sent")
            return n / elapsed
        finally:
            if edge and edge.returncode is None:
                edge.terminate()
                await edge.wait()


def measure_backlog_drain(n: int, timeout: float = 600.0, database: str = "sqlite") -> float:
    """Passes per second into central while an edge drains a backlog of n queued passes.

    `database` "postgresql": central on a throwaway database at 127.0.0.1:5432 (dropped afterwards).
    """
    with tempfile.TemporaryDirectory(prefix="kakou-bench-") as d:
        if database == "sqlite":
            return asyncio.run(_drain(n, Path(d), timeout, f"sqlite:///{Path(d) / 'central.db'}"))
        from kakou.bench.central import pg_database, pg_problem

        problem = pg_problem()
        if problem:
            raise RuntimeError(problem)
        with pg_database() as url:
            return asyncio.run(_drain(n, Path(d), timeout, url))


def load_average() -> float:
    """The 1-minute load average now (other jobs on the machine slow every figure down)."""
    return round(os.getloadavg()[0], 1)


class MetricFields(TypedDict):  # kakou.bench.Metric's fields
    name: str
    value: float | None
    unit: str
    goal: float | None
    higher_is_better: bool
    note: str


def backlog_drain_metrics(n: int) -> list[MetricFields]:
    """`kakou bench --only sync`: the drain into central on SQLite and on PostgreSQL (if reachable)."""
    out: list[MetricFields] = []
    for db, label in (("sqlite", "SQLite"), ("postgresql", "PostgreSQL")):
        before = load_average()
        try:
            rate: float | None = round(measure_backlog_drain(n, database=db))
            note = f"{n:,} passes queued at one edge while offline; load average {before} → {load_average()}"
        except RuntimeError as exc:  # PostgreSQL not reachable here: say so in the table
            rate, note = None, str(exc)
        out.append(
            {
                "name": f"backlog drain into central ({label}, real Mosquitto)",
                "value": rate,
                "unit": "passes/s",
                "goal": 5000,
                "higher_is_better": True,
                "note": note,
            }
        )
    return out


if __name__ == "__main__":
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20000
    for db in sys.argv[2:] or ["sqlite"]:
        before = load_average()
        rate = measure_backlog_drain(count, database=db)
        print(
            f"backlog drain ({db}): {rate:.0f} passes/s for {count} queued passes; "
            f"load average {before} before, {load_average()} after",
            flush=True,
        )
