"""Central's figures for `kakou bench` (issue 6): pass ingest rate, traceability query latency over
a large pass table, and API latency under 200 concurrent clients.

Everything runs the real code: `ingest.ingest_passes` in the batches the MQTT bridge hands it,
`trace.timeline` as the API calls it, and a real `kakou central serve` process for the API. Each
PostgreSQL figure runs in a throwaway database on 127.0.0.1:5432 that is dropped afterwards; when
PostgreSQL is not there the figure is reported as missing, with the reason.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import random
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import quote

import numpy as np
from sqlalchemy import text

from kakou.central.service import open_central
from kakou.netutil import free_port

PG = "host=127.0.0.1 port=5432 user=postgres"
PG_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/{db}"
BATCH = 500  # the bridge's max_batch: what one ingest transaction holds under load
PASSWORD = "bench-password-1"
# `kakou central serve --workers N` for the API figures (KAKOU_BENCH_API_WORKERS overrides).
API_WORKERS = int(os.environ.get("KAKOU_BENCH_API_WORKERS", "2"))


def _m(name: str, value: float | None, unit: str, goal: float | None, higher: bool, note: str = "") -> dict[str, Any]:
    return {"name": name, "value": value, "unit": unit, "goal": goal, "higher_is_better": higher, "note": note}


def _p95(xs: list[float]) -> float | None:
    return round(float(np.percentile(xs, 95)), 2) if xs else None


def pg_problem() -> str | None:
    try:
        import psycopg
    except ImportError:
        return "psycopg is not installed"
    try:
        psycopg.connect(f"{PG} dbname=postgres", connect_timeout=2).close()
    except Exception as exc:  # any failure means: not available here
        return f"PostgreSQL not reachable at 127.0.0.1:5432: {str(exc).splitlines()[0]}"
    return None


@contextmanager
def pg_database() -> Iterator[str]:
    """A throwaway database, dropped afterwards (even when the bench fails)."""
    import psycopg

    name = f"kakou_bench_{secrets.token_hex(4)}"
    with psycopg.connect(f"{PG} dbname=postgres", autocommit=True) as conn:
        conn.execute(f"CREATE DATABASE {name}")
    try:
        yield PG_URL.format(db=name)
    finally:
        with psycopg.connect(f"{PG} dbname=postgres", autocommit=True) as conn:
            conn.execute(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")


# -- (a) pass ingest ----------------------------------------------------------------------------
def _envelopes(n: int, nodes: int = 8) -> list[Any]:
    from kakou.sync.checks import CheckCode, check, finding
    from kakou.sync.messages import Envelope
    from kakou.sync.samples import sample_record

    t0 = datetime.now(UTC)
    envs = []
    for i in range(n):
        node, seq = f"n{i % nodes}", i // nodes + 1
        at = t0 + timedelta(milliseconds=i)
        plate = f"粤B{i % 5000:05d}"
        rec = sample_record(
            node,
            seq,
            at,
            plate=plate,
            plate_confidence=0.97,
            containers=[f"MSKU{i % 90000:06d}"],
            gross_kg=30_000.0 + i % 999,
            reasons=[finding(CheckCode.RELEASE_ORDER_VALID, order_no="HF1", plate=plate)],
            checks=[
                check(
                    CheckCode.WEIGHT_WITHIN,
                    True,
                    gross_kg=30_000.0 + i % 999,
                    expected_kg=30_000,
                    diff_kg=i % 999,
                    tolerance_kg=900,
                )
            ],
            images=[secrets.token_hex(32)],
        )
        envs.append(Envelope(node=node, seq=seq, kind="pass", sent_at=at, body=rec))
    return envs


def _ingest_rate(url: str, envs: list[Any]) -> float:
    from kakou.central import ingest

    central, engine = open_central(url)
    try:
        t0 = time.perf_counter()
        for i in range(0, len(envs), BATCH):
            ingest.ingest_passes(central, envs[i : i + BATCH])
        return len(envs) / (time.perf_counter() - t0)
    finally:
        engine.dispose()


def bench_ingest(quick: bool, pg_problem: str | None) -> list[dict[str, Any]]:
    n = 10_000 if quick else 50_000
    envs = _envelopes(n)
    note = f"{n:,} passes from 8 nodes, ingest.ingest_passes in batches of {BATCH} (as the MQTT bridge)"
    out = []
    if pg_problem:
        out.append(_m("pass ingest (PostgreSQL)", None, "passes/s", 5000, True, pg_problem))
    else:
        with pg_database() as url:
            out.append(_m("pass ingest (PostgreSQL)", round(_ingest_rate(url, envs)), "passes/s", 5000, True, note))
    with tempfile.TemporaryDirectory() as tmp:
        rate = _ingest_rate(f"sqlite:///{Path(tmp) / 'central.db'}", envs)
    out.append(_m("pass ingest (SQLite)", round(rate), "passes/s", 5000, True, note))
    return out


# -- (b) traceability over a large pass table -----------------------------------------------------
# Rows are generated inside PostgreSQL (generate_series), a chunk at a time, into the real schema
# with its secondary indexes dropped and rebuilt afterwards (the bulk-load path); generation stops
# at the target or when the time budget runs out.
_PASSES_SQL = """
INSERT INTO passes (id, node, seq, pass_id, lane, plate, outcome, decided_at, record, received_at)
SELECT g, 'n' || (g % 40), g, 'p' || g, 'L' || (g % 4), 'B' || lpad(((g * 7919) % :plates)::text, 7, '0'),
       'release', timestamptz '2025-01-01' + g * interval '3 seconds',
       json_build_object('pass_id', 'p' || g, 'direction', 'in', 'reasons', json_build_array('ok'),
                         'containers', json_build_array('C' || lpad(((g * 104729) % :boxes)::text, 8, '0')),
                         'gross_kg', 20000 + g % 9000, 'images', json_build_array(md5(g::text))),
       timestamptz '2025-01-01' + g * interval '3 seconds'
FROM generate_series(CAST(:a AS bigint), CAST(:b AS bigint)) g
"""
_SUBJECTS_SQL = """
INSERT INTO pass_subjects (pass_row, subject_kind, subject, at)
SELECT g, 'plate', 'B' || lpad(((g * 7919) % :plates)::text, 7, '0'),
       timestamptz '2025-01-01' + g * interval '3 seconds'
FROM generate_series(CAST(:a AS bigint), CAST(:b AS bigint)) g
UNION ALL
SELECT g, 'container', 'C' || lpad(((g * 104729) % :boxes)::text, 8, '0'),
       timestamptz '2025-01-01' + g * interval '3 seconds'
FROM generate_series(CAST(:a AS bigint), CAST(:b AS bigint)) g
"""


def _drop_secondary_indexes(engine: Any) -> list[str]:
    """Drop the unique constraints and indexes (not primary keys) of passes and pass_subjects;
    returns the DDL that puts every one of them back."""
    tables = "('passes'::regclass, 'pass_subjects'::regclass)"
    with engine.begin() as conn:
        constraints = conn.execute(
            text(
                f"SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                f"WHERE conrelid IN {tables} AND contype = 'u'"
            )
        ).all()
        indexes = conn.execute(
            text(
                "SELECT indexname, indexdef FROM pg_indexes WHERE tablename IN ('passes', 'pass_subjects') "
                "AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE contype IN ('p', 'u'))"
            )
        ).all()
        for table, name, _ in constraints:
            conn.execute(text(f'ALTER TABLE {table} DROP CONSTRAINT "{name}"'))
        for name, _ in indexes:
            conn.execute(text(f'DROP INDEX "{name}"'))
    return [d for _, d in indexes] + [
        f'ALTER TABLE {table} ADD CONSTRAINT "{name}" {d}' for table, name, d in constraints
    ]


def bench_trace(quick: bool, pg_problem: str | None) -> list[dict[str, Any]]:
    names = ("traceability by plate p95 (PostgreSQL)", "traceability by container p95 (PostgreSQL)")
    if pg_problem:
        return [_m(n, None, "ms", 50, False, pg_problem) for n in names]
    from kakou.central import trace

    target, budget = (200_000, 60.0) if quick else (10_000_000, 240.0)
    plates, boxes = max(target // 50, 100), max(target // 5, 100)  # ~50 passes per plate, ~5 per container
    chunk = 100_000 if quick else 500_000
    with pg_database() as url:
        central, engine = open_central(url)
        try:
            t0, n = time.perf_counter(), 0
            rebuild = _drop_secondary_indexes(engine)  # bulk load first, index after: far faster
            while n < target and time.perf_counter() - t0 < budget:
                a, b = n + 1, min(n + chunk, target)
                with engine.begin() as conn:
                    args = {"a": a, "b": b, "plates": plates, "boxes": boxes}
                    conn.execute(text(_PASSES_SQL), args)
                    conn.execute(text(_SUBJECTS_SQL), args)
                n = b
            load_s = time.perf_counter() - t0
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("SET maintenance_work_mem = '256MB'"))
                for ddl in rebuild:
                    conn.execute(text(ddl))
            fill_s = time.perf_counter() - t0
            with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
                conn.execute(text("SELECT setval(pg_get_serial_sequence('passes', 'id'), :n)"), {"n": n})
                conn.execute(text("VACUUM ANALYZE passes"))
                conn.execute(text("VACUUM ANALYZE pass_subjects"))
            rng = random.Random(6)
            queries = 100 if quick else 300
            out = []
            for name, kind, fmt, count in (
                (names[0], "plate", "B{:07d}", plates),
                (names[1], "container", "C{:08d}", boxes),
            ):
                lat, rows = [], 0
                for _ in range(queries):
                    value = fmt.format(rng.randrange(count))
                    q0 = time.perf_counter()
                    rows += len(trace.timeline(central, kind, value))  # type: ignore[arg-type]
                    lat.append((time.perf_counter() - q0) * 1000)
                short = "" if n == target else f" (time budget {budget:.0f} s reached before {target:,})"
                out.append(
                    _m(
                        name,
                        _p95(lat),
                        "ms",
                        50,
                        False,
                        f"{n:,} passes{short}, generated in {load_s:.0f} s + indexed in "
                        f"{fill_s - load_s:.0f} s; {queries} random "
                        f"{kind}s, trace.timeline, {rows / queries:.0f} events each on average, "
                        f"p50 {np.percentile(lat, 50):.1f} ms",
                    )
                )
            return out
        finally:
            engine.dispose()


# -- (c) 200 concurrent API clients -------------------------------------------------------------------
def _seed_api(url: str, passes: int, orders_n: int) -> list[str]:
    from kakou.central import auth, ingest, orders, projections
    from kakou.central.auth import Role

    central, engine = open_central(url)
    try:
        auth.add_user(central, "bench", "bench", Role.ADMIN, PASSWORD)
        now = datetime.now(UTC)
        order_nos = []
        for i in range(orders_n):
            no = f"HF{i:06d}"
            orders.create_release_order(
                central,
                orders.ReleaseOrderIn(
                    order_no=no,
                    plate=f"粤B{i % 5000:05d}",
                    containers=[f"MSKU{i:06d}"],
                    direction="in",
                    valid_from=now - timedelta(hours=1),
                    valid_until=now + timedelta(days=1),
                ),
                "bench",
            )
            order_nos.append(no)
        envs = _envelopes(passes)
        for i in range(0, len(envs), BATCH):
            ingest.ingest_passes(central, envs[i : i + BATCH])
        # Derive from the seeded passes now, as a live central has long done for its stored passes:
        # else the server's housekeeping works through the whole backlog during the measurement,
        # and each of its writes makes the read cache's answers stale.
        projections.run_all(central)
        return order_nos
    finally:
        engine.dispose()


def _kakou_exe() -> list[str]:
    exe = Path(sys.executable).with_name("kakou")
    if exe.exists():
        return [str(exe)]
    found = shutil.which("kakou")
    return [found] if found else [sys.executable, "-m", "kakou.cli"]


class _Http:
    """A minimal HTTP/1.1 keep-alive GET client: the load generator shares the machine's two cores
    with the server, so it must cost far less per request than the server does (httpx did not)."""

    def __init__(self, host: str, port: int, token: str) -> None:
        self.host, self.port = host, port
        self.head = f"Host: {host}:{port}\r\nAuthorization: Bearer {token}\r\n\r\n"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def get(self, path: str) -> int:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        assert self.reader is not None
        self.writer.write(f"GET {quote(path, safe='/?&=')} HTTP/1.1\r\n{self.head}".encode())
        header = await self.reader.readuntil(b"\r\n\r\n")
        status = int(header.split(b" ", 2)[1])
        length = re.search(rb"(?i)content-length: *(\d+)", header)
        if length is None:
            raise RuntimeError(f"response without content-length: {header[:200]!r}")
        await self.reader.readexactly(int(length.group(1)))
        return status

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            with contextlib.suppress(OSError):
                await self.writer.wait_closed()


async def _clients(
    port: int, token: str, order_nos: list[str], clients: int, seconds: float, every: float | None
) -> tuple[dict[str, list[float]], int, int]:
    """Each client alternates list and detail requests, back to back (`every` None) or one request
    every `every` seconds (a console polling); returns latencies, requests and non-200 answers."""
    lat: dict[str, list[float]] = {"list": [], "detail": []}
    errors = requests = 0
    deadline = time.monotonic() + seconds

    async def client(k: int) -> None:
        nonlocal errors, requests
        rng = random.Random(k)
        http = _Http("127.0.0.1", port, token)
        try:
            if every:  # spread the clients over the period instead of starting them in lockstep
                await asyncio.sleep(rng.uniform(0, every))
            i = 0
            while time.monotonic() < deadline:
                i += 1
                if i % 2:
                    kind, path = (
                        "list",
                        rng.choice(
                            [
                                "/api/v1/passes?limit=50",
                                "/api/v1/release-orders?limit=50",
                                f"/api/v1/passes?limit=20&plate=粤B{rng.randrange(5000):05d}",
                            ]
                        ),
                    )
                else:
                    kind, path = "detail", f"/api/v1/release-orders/{rng.choice(order_nos)}"
                t0 = time.perf_counter()
                status = await http.get(path)
                took = time.perf_counter() - t0
                lat[kind].append(took * 1000)
                requests += 1
                errors += status != 200
                if every:  # pacing, not waiting for work: a client's think time between requests
                    await asyncio.sleep(max(0.0, every - took))
        finally:
            await http.close()

    await asyncio.gather(*(client(k) for k in range(clients)))
    return lat, requests, errors


# The back-to-back load with wrk when it is installed (deploy/setup-system.sh installs it): its C
# client costs a fraction of the CPU per request of any Python client, and at ~1,000+ requests/s
# the load generator would otherwise take a good part of the two cores the server needs. Two wrk
# processes of 100 keep-alive connections each, one on the list endpoints and one on the detail
# one, make the same 200 clients and the same half-and-half mix; KAKOU_BENCH_LOADGEN=python uses
# the asyncio client instead. No `response` hook: it makes wrk parse every answer's headers in Lua,
# which costs its one thread enough that answers wait in its socket buffer (measured against the
# same cached server: p95 16 ms without the hook, 100-125 ms with it). The cache's share comes from
# the server (`GET /api/v1/health`).
_WRK_LUA = """
local kind, orders, plates = nil, 0, 5000
local reqs = {}
function init(args)
  kind, orders = args[1], tonumber(args[2])
  wrk.headers["Authorization"] = "Bearer " .. args[3]
  if kind == "list" then
    table.insert(reqs, wrk.format("GET", "/api/v1/passes?limit=50"))
    table.insert(reqs, wrk.format("GET", "/api/v1/release-orders?limit=50"))
    for i = 0, plates - 1 do  -- 粤B%05d, percent-encoded
      table.insert(reqs, wrk.format("GET", string.format("/api/v1/passes?limit=20&plate=%%E7%%B2%%A4B%05d", i)))
    end
  else
    for i = 0, orders - 1 do
      table.insert(reqs, wrk.format("GET", string.format("/api/v1/release-orders/HF%06d", i)))
    end
  end
end
function request()
  if kind == "list" then  -- the passes page, the order list and a plate, one third each
    local r = math.random(3)
    if r < 3 then return reqs[r] end
    return reqs[2 + math.random(plates)]
  end
  return reqs[math.random(#reqs)]
end
function done(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("KAKOU %d %d %d\\n", latency:percentile(95), summary.requests,
                         e.status + e.connect + e.read + e.write + e.timeout))
end
"""


def _wrk_back_to_back(
    port: int, token: str, orders_n: int, clients: int, seconds: float
) -> tuple[dict[str, float | None], int, int]:
    """p95 (ms) of each kind, requests and errors from two concurrent wrk runs."""
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as f:
        f.write(_WRK_LUA)
    try:
        procs = {
            kind: subprocess.Popen(
                [
                    "wrk",
                    "-t1",
                    f"-c{clients // 2}",
                    f"-d{seconds:.0f}s",
                    "--timeout",
                    "10s",
                    "-s",
                    f.name,
                    f"http://127.0.0.1:{port}",
                    "--",
                    kind,
                    str(orders_n),
                    token,
                ],
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                text=True,
            )
            for kind in ("list", "detail")
        }
        p95: dict[str, float | None] = {}
        requests, errors = 0, 0
        for kind, proc in procs.items():
            out = proc.communicate(timeout=seconds + 60)[0]
            found = re.search(r"KAKOU (\d+) (\d+) (\d+)", out)
            if found is None:
                raise RuntimeError(f"wrk gave no figures: {out[-500:]!r}")
            us, n, e = map(int, found.groups())
            p95[kind], requests, errors = us / 1000, requests + n, errors + e
        return p95, requests, errors
    finally:
        os.unlink(f.name)


# Lanes sending passes while the clients read: 10 edges × 4 lanes, one truck per lane every 4 s,
# 10 passes/s — several times a busy port's gates. They run in `kakou sim fleet` through a real
# Mosquitto into the serve's MQTT bridge, so every pass is an ingest write as in production, and
# each write empties the read cache.
FLEET = {"edges": 10, "lanes_per_edge": 4, "rate": 0.25}


@contextmanager
def _mosquitto(data_dir: Path) -> Iterator[int | None]:
    """A Mosquitto of our own on the project's config; its port, or None when it is not installed."""
    from kakou.broker import MosquittoBroker, mosquitto_binary, wait_listening

    binary = mosquitto_binary()
    if binary is None:
        yield None
        return
    broker = MosquittoBroker(free_port(), data_dir)
    proc = subprocess.Popen(
        [binary, "-c", str(broker.write_config())], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        asyncio.run(wait_listening("127.0.0.1", broker.port))
        yield broker.port
    finally:
        proc.terminate()
        proc.wait(10)


def _start_fleet(data_dir: str, port: int, mqtt_port: int, seconds: float) -> subprocess.Popen[str]:
    args = [f"--{k.replace('_', '-')}={v}" for k, v in FLEET.items()]
    return subprocess.Popen(
        [
            *_kakou_exe(),
            "sim",
            "fleet",
            *args,
            f"--seconds={seconds:.0f}",
            f"--mqtt-port={mqtt_port}",
            f"--central=http://127.0.0.1:{port}",
            "--username=bench",
            f"--central-key={Path(data_dir) / 'keys' / 'central-signing.pub'}",
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, "KAKOU_PASSWORD": PASSWORD},
    )


def _fleet_report(fleet: subprocess.Popen[str], seconds: float) -> dict[str, Any]:
    out, err = fleet.communicate(timeout=seconds + 300)  # its traffic, then up to 120 s for the last acks
    try:
        return dict(json.loads(out))
    except ValueError:
        raise RuntimeError(f"kakou sim fleet gave no report (exit {fleet.returncode}): {err[-500:]!r}") from None


def _wait_listening(port: int, sockets: int, proc: subprocess.Popen[str], timeout: float = 60) -> None:
    """Until `sockets` sockets listen on `port` (each API process of a serve has its own; it listens
    once its app is built), from the kernel's table (Linux)."""
    deadline = time.monotonic() + timeout
    while True:
        table = Path("/proc/net/tcp").read_text().splitlines()[1:]
        listening = sum(1 for row in table if row.split()[1].endswith(f":{port:04X}") and row.split()[3] == "0A")
        if listening >= sockets:
            return
        if proc.poll() is not None or time.monotonic() > deadline:
            raise RuntimeError(f"{listening} of {sockets} API processes listening on port {port}")
        time.sleep(0.05)  # polling the kernel's table for other processes' sockets


def bench_api(quick: bool, pg_problem: str | None, seconds: float | None = None) -> list[dict[str, Any]]:
    """`seconds`: how long each mode runs (default 10 s quick, 30 s in full); the test asks for
    less, since it checks that every figure is measured and nothing lost, not the figures."""
    lanes = FLEET["edges"] * FLEET["lanes_per_edge"]
    modes = (
        ("back to back", None, False),
        ("each polling every 2 s", 2.0, False),
        (f"back to back while {lanes} lanes send passes", None, True),
    )
    names = [f"API {kind} p95, 200 clients {mode} (PostgreSQL)" for mode, _, _ in modes for kind in ("list", "detail")]
    if pg_problem:
        return [_m(n, None, "ms", 200, False, pg_problem) for n in names]
    import httpx

    clients = 200
    seconds = seconds or (10.0 if quick else 30.0)
    passes, orders_n = (5_000, 200) if quick else (50_000, 1_000)
    out = []
    use_wrk = shutil.which("wrk") is not None and os.environ.get("KAKOU_BENCH_LOADGEN", "wrk") != "python"
    cache_note = " (read cache off)" if os.environ.get("KAKOU_CENTRAL_READ_CACHE") == "0" else ""
    with pg_database() as url, tempfile.TemporaryDirectory() as tmp, _mosquitto(Path(tmp) / "broker") as mqtt:
        order_nos = _seed_api(url, passes, orders_n)
        port = free_port()
        # Without a broker the bridge keeps retrying in the background and the API serves.
        proc = subprocess.Popen(
            [
                *_kakou_exe(),
                "central",
                "serve",
                "--data-dir",
                tmp,
                "--db-url",
                url,
                "--port",
                str(port),
                "--mqtt-port",
                str(mqtt or free_port()),
                "--workers",
                str(API_WORKERS),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            text=True,
            env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
        try:
            assert proc.stdout is not None
            line = proc.stdout.readline()  # printed once the port is bound
            if not re.search(r"central API on http://", line):
                raise RuntimeError(f"kakou central serve did not start: {line!r}")
            r = httpx.post(
                f"http://127.0.0.1:{port}/api/v1/auth/login",
                json={"username": "bench", "password": PASSWORD},
                timeout=60,
            )
            r.raise_for_status()
            token = r.json()["access_token"]
            _wait_listening(port, API_WORKERS, proc)  # every API process, or wrk's connections miss some

            def cache_stats() -> Counter[str]:  # hits and misses so far, over every API process
                health = httpx.get(f"http://127.0.0.1:{port}/api/v1/health", timeout=60).json()
                return Counter(health.get("read_cache", {}))

            for i, (mode, every, with_lanes) in enumerate(modes):
                pair = names[2 * i : 2 * i + 2]  # list, detail
                if with_lanes and mqtt is None:
                    out += [_m(n, None, "ms", 200, False, "mosquitto is not installed") for n in pair]
                    continue
                fleet = _start_fleet(tmp, port, mqtt, seconds + 5) if with_lanes and mqtt else None
                load, before = os.getloadavg()[0], cache_stats()
                if every is None and use_wrk:
                    p95, requests, errors = _wrk_back_to_back(port, token, orders_n, clients, seconds)
                    client = "wrk (2 × 100 connections)"
                else:
                    lat, requests, errors = asyncio.run(_clients(port, token, order_nos, clients, seconds, every))
                    p95 = {kind: _p95(xs) for kind, xs in lat.items()}
                    client = "asyncio client"
                cache = cache_stats() - before
                fleet_note = ""
                if fleet is not None:
                    report = _fleet_report(fleet, seconds)
                    fleet_note = (
                        f"; meanwhile {lanes} lanes ({FLEET['edges']} `kakou sim fleet` edges through "
                        f"Mosquitto) sent {report['sent']:,} passes, {report['stored']:,} stored, "
                        f"{report['lost']} lost"
                    )
                note = (
                    f"{clients} keep-alive clients ({client}) {mode} for {seconds:.0f} s against "
                    f"`kakou central serve "
                    f"--workers {API_WORKERS}`{cache_note}, {passes:,} passes, {orders_n:,} orders; "
                    f"{requests / seconds:.0f} requests/s, {errors} non-200, "
                    f"{100 * cache['hits'] / max(cache.total(), 1):.0f} % from the read cache; load average "
                    f"{load:.1f} → {os.getloadavg()[0]:.1f} on {os.cpu_count()} CPUs{fleet_note}"
                )
                out += [
                    _m(pair[0], p95["list"], "ms", 200, False, "/passes, /passes?plate=, /release-orders; " + note),
                    _m(pair[1], p95["detail"], "ms", 200, False, "/release-orders/{no}; " + note),
                ]
        finally:
            proc.terminate()
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    return out


PARTS = {"ingest": "bench_ingest", "trace": "bench_trace", "api": "bench_api"}


def metrics(quick: bool, only: list[str] | None = None) -> list[dict[str, Any]]:
    """The Metric fields (name, value, unit, goal, higher_is_better, note) of each central figure."""
    problem = pg_problem()
    return [m for part, fn in PARTS.items() if not only or part in only for m in globals()[fn](quick, problem)]


if __name__ == "__main__":  # python -m kakou.bench.central [--quick] [--only api trace ingest]
    import argparse

    from kakou.bench import Metric, table

    ap = argparse.ArgumentParser(description="central's figures only (kakou bench --only central runs them all)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--only", nargs="*", choices=list(PARTS), default=None)
    args = ap.parse_args()
    print(table([Metric(**m) for m in metrics(args.quick, args.only)]))
