"""Run only an edge node's MQTT link on its SQLite file, without lanes or devices.

For fault tests (a link process that can be SIGKILLed and restarted on the same file), for
benchmarks, and to drain a node's outbox from a spare machine after a hardware failure:

    python -m kakou.edge.sync_runner --node gate1-edge1 --db var/edge/edge.db --port 1883 --trust KEY
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from collections.abc import Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path

from kakou.edge.link import EdgeLink
from kakou.edge.store import EdgeStore
from kakou.sync.checks import CheckCode, finding
from kakou.sync.messages import PassRecord
from kakou.sync.mqtt import BrokerConfig
from kakou.sync.samples import sample_record
from kakou.sync.signing import key_id, load_public_b64

T0 = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def sample_pass(node: str, n: int, lane: str = "L1", at: datetime | None = None) -> PassRecord:
    """A plausible pass record #n of a node (distinct pass_id, plate and, unless `at` is given, time per n)."""
    plate = f"粤B{n % 100000:05d}"
    return sample_record(
        node,
        f"{n:08d}",
        T0 + timedelta(seconds=n) if at is None else at,
        lane=lane,
        plate=plate,
        plate_confidence=0.98,
        reasons=[finding(CheckCode.RELEASE_ORDER_VALID, order_no=f"HF{n}", plate=plate)],
        knowledge_version=0,
    )


def record_passes(store: EdgeStore, node: str, start: int, count: int) -> int:
    """Record passes #start..#start+count-1 as the lane would (pass + outbox in one transaction)."""
    seq = 0
    for n in range(start, start + count):
        seq = store.record_pass(sample_pass(node, n), {"source": "sync_runner"})
    return seq


async def run(
    node: str,
    db: Path,
    broker: BrokerConfig,
    trust: Sequence[str],
    record: int = 0,
    record_interval: float = 0.0,
    ack_timeout: float = 5.0,
) -> None:
    store = EdgeStore(db)
    keys = [load_public_b64(t) for t in trust]
    link = EdgeLink(node, store, broker, {key_id(k): k for k in keys}, ack_timeout=ack_timeout)
    start = int(store.query("SELECT COUNT(*) FROM passes")[0][0]) + 1
    if record and not record_interval:
        record_passes(store, node, start, record)
    print("ready", flush=True)  # the parent waits for this line
    task = asyncio.create_task(link.run())
    if record and record_interval:
        for n in range(start, start + record):  # passes keep coming while the link works
            await asyncio.to_thread(record_passes, store, node, n, 1)
            link.wake()
            await asyncio.sleep(record_interval)
    await task


def main(argv: Sequence[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m kakou.edge.sync_runner", description=__doc__.splitlines()[0])
    p.add_argument("--node", required=True)
    p.add_argument("--db", required=True)
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=1883)
    p.add_argument("--username")
    p.add_argument("--password")
    p.add_argument("--trust", action="append", default=[], help="central public key (base64); repeatable")
    p.add_argument("--record", type=int, default=0, help="record N sample passes (bench and tests)")
    p.add_argument("--record-interval", type=float, default=0.0, help="seconds between recorded passes")
    p.add_argument("--ack-timeout", type=float, default=5.0)
    args = p.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    broker = BrokerConfig(host=args.host, port=args.port, username=args.username, password=args.password)
    try:
        asyncio.run(
            run(args.node, Path(args.db), broker, args.trust, args.record, args.record_interval, args.ack_timeout)
        )
    except KeyboardInterrupt:
        return 130
    return 0


if __name__ == "__main__":
    sys.exit(main())
