"""The same fault through a plain Mosquitto bridge and through kakou's outbox + ack path.

What a user would set up instead of kakou's sync: a Mosquitto at the edge, bridged to a Mosquitto
at central (`topic kakou/# out 1`, every other setting at its default), a plain paho publisher at
the edge (QoS 1) and a plain paho subscriber at central (QoS 1, persistent session, resubscribing
in on_connect, as the paho examples do). kakou's path: the lane writes pass + outbox row in one
SQLite transaction, `EdgeLink` publishes to central's broker (persistence on, autosave 1 s) and
`CentralBridge` stores idempotently and acks.

The fault, identical for both: while the edge produces `n` messages at `rate` per second, the
central-side broker is SIGKILLed (a crash or power cut at central's broker host) once a third of
them are out, stays down `down_s` seconds, and is started again. Then we count at central what
arrived: lost = sent − distinct received, duplicates = deliveries beyond the first (for kakou,
duplicate *records* — the unique (node, seq) constraint absorbs redeliveries, counted apart).

The plain run is measured twice: all defaults (`persistence false`: Mosquitto's default) and with
`persistence true` at the default `autosave_interval` (1800 s), what a careful user would add.
"""

from __future__ import annotations

import asyncio
import contextlib
import getpass
import inspect
import json
import shutil
import tempfile
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sqlalchemy import select

from kakou.broker import MosquittoBroker, MosquittoProcess
from kakou.central.bridge import CentralBridge
from kakou.central.service import open_central
from kakou.central.tables_sync import NodeRow, PassRow
from kakou.edge.link import EdgeLink
from kakou.edge.store import EdgeStore
from kakou.netutil import free_port
from kakou.sync.mqtt import BrokerConfig
from kakou.sync.signing import key_id
from kakou.waiting import eventually

NODE = "bench-edge1"
TOPIC = f"kakou/v1/up/{NODE}/passes"


@dataclass
class FaultRun:
    path: str
    fault: str
    sent: int
    received: int  # distinct messages (passes) at central
    lost: int
    duplicates: int  # extra deliveries to the application (plain) / extra records stored (kakou)
    absorbed: int = 0  # kakou: redeliveries central recognised and did not store again
    settle_s: float = 0.0  # from the broker's restart until nothing more was to come
    lost_ranges: str = ""  # which message numbers never arrived


# -- plain Mosquitto bridge --------------------------------------------------------------------------
class _Mosquitto(MosquittoProcess):
    """A bare Mosquitto on a config of our own (not the project's): what a user would run."""

    def __init__(self, conf: Path, port: int) -> None:
        self.conf, self.port = conf, port

    async def start(self) -> None:
        await self.run(self.conf, quiet=True)


def _conf(work: Path, name: str, port: int, body: str) -> Path:
    d = work / name
    d.mkdir(parents=True, exist_ok=True)
    conf = d / "mosquitto.conf"
    conf.write_text(
        f"user {getpass.getuser()}\nlistener {port} 127.0.0.1\nallow_anonymous true\npersistence_location {d}/\n{body}"
    )
    return conf


class _Subscriber:
    """Central's plain paho subscriber: persistent session, resubscribes on every connect."""

    def __init__(self, port: int, seen: dict[int, int] | None = None) -> None:
        self.seen: dict[int, int] = {} if seen is None else seen  # message number → deliveries
        self.end = threading.Event()
        self.last_at = time.monotonic()
        self.client = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="central-subscriber", clean_session=False)
        self.client.reconnect_delay_set(0.2, 2)  # type: ignore[arg-type]  # paho says int; 0.2 s works, the bench stays quick
        self.client.on_connect = lambda c, *_a: c.subscribe("kakou/#", qos=1)
        self.client.on_message = self._message
        self.client.connect("127.0.0.1", port, keepalive=10)
        self.client.loop_start()

    def _message(self, _c: mqtt.Client, _u: object, msg: mqtt.MQTTMessage) -> None:
        body = json.loads(msg.payload)
        if body.get("end"):
            self.end.set()
            return
        self.seen[body["n"]] = self.seen.get(body["n"], 0) + 1
        self.last_at = time.monotonic()

    def close(self) -> None:
        self.client.loop_stop()
        self.client.disconnect()


async def _plain(
    n: int, rate: float, down_s: float, work: Path, persistence: bool, consumer_away: bool, settle_timeout: float
) -> FaultRun:
    pc, pe = free_port(), free_port()
    central_conf = _conf(work, "central-broker", pc, "persistence true\n" if persistence else "")
    edge_conf = _conf(work, "edge-broker", pe, "persistence true\n" if persistence else "")
    edge_conf.write_text(edge_conf.read_text() + f"connection central\naddress 127.0.0.1:{pc}\ntopic kakou/# out 1\n")
    central, edge = _Mosquitto(central_conf, pc), _Mosquitto(edge_conf, pe)
    await central.start()
    await edge.start()
    subs = [_Subscriber(pc)]
    pub = mqtt.Client(mqtt.CallbackAPIVersion.VERSION2, client_id="edge-publisher", clean_session=False)
    pub.connect("127.0.0.1", pe)
    pub.loop_start()

    def away() -> None:
        subs[-1].close()  # its persistent session stays at the broker, collecting messages

    def back() -> None:
        subs.append(_Subscriber(pc, subs[-1].seen))

    async def ended(timeout: float) -> bool:
        # An end marker sent after the last message: QoS 1 through the bridge keeps the order.
        deadline = time.monotonic() + timeout
        while not subs[-1].end.is_set():
            if time.monotonic() > deadline:
                return False
            pub.publish(TOPIC, json.dumps({"end": True}), qos=1)
            await asyncio.to_thread(subs[-1].end.wait, 0.5)
        subs[-1].end.clear()
        return True

    try:
        if not await ended(30):
            raise TimeoutError("the bridge never came up")
        restarted_at = await _produce(
            n,
            rate,
            down_s,
            lambda i: pub.publish(TOPIC, json.dumps({"n": i}), qos=1),
            central.kill,
            central.start,
            away if consumer_away else None,
            back if consumer_away else None,
        )
        await ended(settle_timeout)
        settle = time.monotonic() - restarted_at
    finally:
        pub.loop_stop()
        pub.disconnect()
        subs[-1].close()
        await edge.stop()
        await central.stop()
    seen = subs[-1].seen
    name = "plain Mosquitto bridge, " + ("persistence true (autosave 1800 s)" if persistence else "all defaults")
    missing = [i for i in range(1, n + 1) if i not in seen]
    return FaultRun(
        name,
        _fault(down_s, consumer_away),
        n,
        len(seen),
        len(missing),
        sum(c - 1 for c in seen.values()),
        settle_s=round(settle, 1),
        lost_ranges=_ranges(missing),
    )


def _fault(down_s: float, consumer_away: bool) -> str:
    what = f"central broker SIGKILLed at n/3, down {down_s:g} s"
    return what + ("; central's consumer away from n/6 until the broker is back" if consumer_away else "")


async def _call(fn: Callable[[], object] | None) -> None:
    if fn is not None and inspect.isawaitable(result := fn()):
        await result


async def _produce(
    n: int,
    rate: float,
    down_s: float,
    emit: Callable[[int], object],
    kill: Callable[[], object],
    start: Callable[[], object],
    away: Callable[[], object] | None = None,
    back: Callable[[], object] | None = None,
) -> float:
    """Emit messages 1..n at `rate`; kill central's broker after n/3 and restart it `down_s` later.

    With `away`/`back`: central's consumer goes away at n/6 (a deploy, a slow restart) and comes back
    once the broker is up again, so messages are waiting for it in the broker when the broker dies.
    """
    loop = asyncio.get_running_loop()
    t0 = loop.time()
    killed_at: float | None = None
    restarted_at = 0.0

    async def restart() -> float:
        await _call(start)
        await _call(back)
        return time.monotonic()

    for i in range(1, n + 1):
        await asyncio.to_thread(emit, i)
        if i == n // 6:
            await _call(away)
        if i == n // 3:
            await _call(kill)
            killed_at = loop.time()
        if killed_at is not None and not restarted_at and loop.time() - killed_at >= down_s:
            restarted_at = await restart()
        delay = t0 + i / rate - loop.time()
        if delay > 0:
            await asyncio.sleep(delay)  # the lane's pace, not a wait for work
    if not restarted_at:
        await asyncio.sleep(max(0.0, killed_at + down_s - loop.time()) if killed_at else 0.0)
        restarted_at = await restart()
    return restarted_at


def _ranges(missing: list[int]) -> str:
    out: list[str] = []
    for m in sorted(missing):
        if out and out[-1].split("-")[-1] == str(m - 1):
            out[-1] = f"{out[-1].split('-')[0]}-{m}"
        else:
            out.append(str(m))
    return ",".join(out)


# -- kakou: outbox + ack -------------------------------------------------------------------------------
async def _kakou(
    n: int, rate: float, down_s: float, work: Path, consumer_away: bool, settle_timeout: float
) -> FaultRun:
    from kakou.edge.sync_runner import record_passes

    broker = MosquittoBroker(free_port(), work / "kakou-broker")
    await broker.start()
    central, engine = open_central(f"sqlite:///{work / 'central.db'}")
    key = Ed25519PrivateKey.generate()
    cfg = BrokerConfig(port=broker.port)
    store = EdgeStore(work / "edge.db")
    link = EdgeLink(NODE, store, cfg, {key_id(key.public_key()): key.public_key()})
    link_task = asyncio.create_task(link.run())
    bridges: list[asyncio.Task] = []
    first = CentralBridge(central, cfg, key)

    async def central_up(bridge: CentralBridge | None = None) -> None:
        bridges.append(asyncio.create_task((bridge or CentralBridge(central, cfg, key)).run()))

    async def central_away() -> None:
        task = bridges[-1]
        while not task.done():  # 3.11's wait_for can swallow one cancellation: insist
            task.cancel()
            await asyncio.wait([task], timeout=1)

    def emit(i: int) -> None:
        record_passes(store, NODE, i, 1)
        link.wake()

    try:
        await central_up(first)
        await asyncio.wait_for(first.connected.wait(), 10)
        restarted_at = await _produce(
            n,
            rate,
            down_s,
            emit,
            broker.kill,
            broker.start,
            central_away if consumer_away else None,
            central_up if consumer_away else None,
        )
        with contextlib.suppress(TimeoutError):  # what never arrives is counted below, not raised
            await eventually(lambda: store.acked_seq >= n, settle_timeout, what="every pass acked")
        settle = time.monotonic() - restarted_at
        with central.sessions() as s:
            seqs = [r[0] for r in s.execute(select(PassRow.seq))]
            node = s.get(NodeRow, NODE)
            absorbed = int(node.duplicates or 0) if node else 0
    finally:
        for t in [link_task, *bridges]:
            t.cancel()
        await asyncio.gather(link_task, *bridges, return_exceptions=True)
        await broker.stop()
        store.close()
        engine.dispose()
    missing = sorted(set(range(1, n + 1)) - set(seqs))
    return FaultRun(
        "kakou outbox + ack (EdgeLink → CentralBridge)",
        _fault(down_s, consumer_away),
        n,
        len(set(seqs)),
        len(missing),
        len(seqs) - len(set(seqs)),
        absorbed=absorbed,
        settle_s=round(settle, 1),
        lost_ranges=_ranges(missing),
    )


def compare(n: int = 3000, rate: float = 500.0, down_s: float = 3.0, settle_timeout: float = 90.0) -> list[FaultRun]:
    """The fault runs through each path; see the module docstring."""

    async def all_runs(work: Path) -> list[FaultRun]:
        runs = []
        for away in (False, True):
            for persistence in (False, True):
                d = work / f"plain-{persistence}-{away}"
                runs.append(await _plain(n, rate, down_s, d, persistence, away, settle_timeout))
                shutil.rmtree(d, ignore_errors=True)
            runs.append(await _kakou(n, rate, down_s, work / f"kakou-{away}", away, settle_timeout))
        return runs

    with tempfile.TemporaryDirectory(prefix="kakou-bridge-") as d:
        return asyncio.run(all_runs(Path(d)))


if __name__ == "__main__":
    import sys

    count = int(sys.argv[1]) if len(sys.argv) > 1 else 3000
    for run in compare(count):
        print(run)
