"""Control-order propagation: how long until every lane in the fleet has a new control order?

Our own Mosquitto, central (SQLite, its real MQTT bridge) in this process, and `subscribers`
simulated edges spread over a few worker processes. Each simulated edge is one MQTT client with
its own persistent session that subscribes to `kakou/v1/down/all/changes` at QoS 1, as `EdgeLink`
does, parses every batch and verifies its Ed25519 signature against central's public key before
counting it — what a lane must do before it may act on an order. It does not apply the batch to
an SQLite cache (that is EdgeStore's cost, measured by the lane benchmarks, not the network's).

Latency per subscriber = wall clock when it holds a verified batch carrying the order − wall clock
just before central's `control.create` (the officer's commit, the change log, signing, publish).
All processes share the machine's clock, so no clock skew enters.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import aiomqtt
import numpy as np

from kakou.bench.stack import central_on_broker
from kakou.central import control
from kakou.central.control import ControlOrderIn
from kakou.sync import topics
from kakou.sync.messages import ChangeBatch, ChangeKind
from kakou.sync.signing import SignatureError, key_id, load_public_b64, verify

PER_PROCESS = 250  # simulated edges per worker process: 1,000 → 4 processes on a 2-core box


@dataclass
class Propagation:
    subscribers: int
    received: int  # subscribers holding a verified batch with the order
    rejected: int  # batches that failed verification (must be 0)
    p50_ms: float | None
    p99_ms: float | None
    max_ms: float | None


# -- the simulated edges (worker process) ---------------------------------------------------------
async def _subscriber(
    port: int, ident: str, trusted: dict, ready: asyncio.Event, subscribed: list[int], out: dict[str, float | str]
) -> None:
    client = aiomqtt.Client("127.0.0.1", port, identifier=ident, clean_session=False, keepalive=60, timeout=30)
    async with client:
        await client.subscribe(topics.down_all(topics.CHANGES), qos=1)
        subscribed[0] += 1
        ready.set()
        async for msg in client.messages:
            payload = msg.payload if isinstance(msg.payload, bytes) else str(msg.payload).encode()
            try:
                batch = ChangeBatch.model_validate_json(payload)
                verify(batch, trusted)
            except (ValueError, SignatureError) as exc:
                out[ident] = f"rejected: {exc}"
                continue
            if any(c.kind is ChangeKind.CONTROL_ORDER for c in batch.changes):
                out[ident] = time.time()
                return


async def _worker(port: int, count: int, prefix: str, trust: str, timeout: float) -> None:
    public = load_public_b64(trust)
    trusted = {key_id(public): public}
    subscribed = [0]
    out: dict[str, float | str] = {}
    loop = asyncio.get_running_loop()
    tasks: list[asyncio.Task] = []
    for start in range(0, count, 50):  # connect in waves: a thousand simultaneous CONNECTs just time out
        ev = asyncio.Event()
        wave = [
            asyncio.create_task(_subscriber(port, f"{prefix}-{i}", trusted, ev, subscribed, out))
            for i in range(start, min(count, start + 50))
        ]
        tasks += wave
        deadline = loop.time() + 30
        while subscribed[0] < min(count, start + 50):
            if loop.time() > deadline:
                raise TimeoutError(f"{prefix}: only {subscribed[0]} of {count} subscribed")
            ev.clear()
            await asyncio.wait_for(ev.wait(), 30)
    print("ready", flush=True)
    await asyncio.wait(tasks, timeout=timeout)
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    print(json.dumps(out), flush=True)


# -- the run ----------------------------------------------------------------------------------------
async def _run(subscribers: int, work: Path, timeout: float) -> Propagation:
    async with central_on_broker(work, f"sqlite:///{work / 'central.db'}") as c:
        procs: list[asyncio.subprocess.Process] = []
        try:
            counts = [min(PER_PROCESS, subscribers - s) for s in range(0, subscribers, PER_PROCESS)]
            for i, n in enumerate(counts):
                procs.append(
                    await asyncio.create_subprocess_exec(
                        sys.executable,
                        "-m",
                        "kakou.bench.propagation",
                        "worker",
                        "--port",
                        str(c.port),
                        "--count",
                        str(n),
                        "--prefix",
                        f"sim-edge{i}",
                        "--trust",
                        c.trust,
                        "--timeout",
                        str(timeout),
                        stdout=asyncio.subprocess.PIPE,
                    )
                )
            for p in procs:
                assert p.stdout is not None
                line = await asyncio.wait_for(p.stdout.readline(), 120)
                if line.strip() != b"ready":
                    raise RuntimeError(f"subscriber worker failed to start: {line!r}")
            order = ControlOrderIn(
                target_kind="vehicle",
                target_value="粤B99999",
                action="hold",
                emergency=True,
                reason="propagation benchmark",
            )
            t0 = time.time()
            await asyncio.to_thread(control.create, c.central, "bench-officer", order)
            results: dict[str, float | str] = {}
            for p in procs:
                assert p.stdout is not None
                results.update(json.loads(await asyncio.wait_for(p.stdout.readline(), timeout + 30)))
                await p.wait()
        finally:
            for p in procs:
                if p.returncode is None:
                    p.kill()
                    await p.wait()
    lat = [(v - t0) * 1000 for v in results.values() if isinstance(v, float)]
    rejected = sum(1 for v in results.values() if isinstance(v, str))

    def pct(q: float) -> float | None:
        return round(float(np.percentile(lat, q)), 1) if lat else None

    return Propagation(subscribers, len(lat), rejected, pct(50), pct(99), round(max(lat), 1) if lat else None)


def measure_propagation(subscribers: int = 1000, timeout: float = 30.0) -> Propagation:
    """Create one control order at central; per-subscriber latency until it holds it, verified."""
    with tempfile.TemporaryDirectory(prefix="kakou-prop-") as d:
        return asyncio.run(_run(subscribers, Path(d), timeout))


def main(argv: list[str] | None = None) -> None:
    ap = argparse.ArgumentParser(prog="python -m kakou.bench.propagation")
    sub = ap.add_subparsers(dest="cmd")
    w = sub.add_parser("worker")  # internal: one process of simulated edges
    w.add_argument("--port", type=int, required=True)
    w.add_argument("--count", type=int, required=True)
    w.add_argument("--prefix", required=True)
    w.add_argument("--trust", required=True)
    w.add_argument("--timeout", type=float, default=30.0)
    r = sub.add_parser("run")
    r.add_argument("subscribers", type=int, nargs="?", default=1000)
    args = ap.parse_args(argv)
    if args.cmd == "worker":
        asyncio.run(_worker(args.port, args.count, args.prefix, args.trust, args.timeout))
    else:
        print(measure_propagation(getattr(args, "subscribers", 1000)))


if __name__ == "__main__":
    main()
