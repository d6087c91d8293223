"""Central's MQTT side: ingest passes idempotently, ack high-water marks, publish signed changes.

Received messages go through a queue; the processor takes whatever has arrived (up to
`max_batch` passes; a passes message holds one or more, a line each) and stores them in one
transaction, then acks each node once with its new high-water mark. Nothing is acked before it
is committed, so a crash between receipt and commit only costs a resend from the edge.
"""

from __future__ import annotations

import asyncio
import logging
from collections import Counter
from collections.abc import Callable

import aiomqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError
from sqlalchemy import text
from sqlalchemy.exc import DisconnectionError, InterfaceError, OperationalError
from sqlalchemy.exc import TimeoutError as PoolTimeout

from kakou.central import changelog, device_health, ingest, network, positions
from kakou.central.limiter import PerKey, QuietLog
from kakou.central.service import Central
from kakou.sync import limits, topics
from kakou.sync.decode import Accepted, Quarantined, Refused, decode_passes
from kakou.sync.devices import DeviceReport
from kakou.sync.messages import Ack, ChangeBatch, Envelope, NodeStatus, SyncRequest
from kakou.sync.mqtt import BrokerConfig, make_client, run_forever
from kakou.sync.signing import sign

log = logging.getLogger(__name__)

# What central receives is uplink only (passes, sync requests, presence): on MQTT 5 it tells the
# broker to drop anything larger for it instead of sending it (reading a 9 MB packet costs paho
# most of a second of the event loop). Room for the topic and the packet's header.
_MAX_PACKET = limits.MAX_PASSES_MESSAGE_BYTES + 4096

# The database away or busy: nothing is wrong with the message, it is not acked and comes again.
_TRANSIENT = (OperationalError, InterfaceError, DisconnectionError, PoolTimeout)


def _weight(msg: aiomqtt.Message) -> int:
    """How many passes a message may carry (one per line)."""
    payload = msg.payload
    return payload.count(b"\n") + 1 if isinstance(payload, bytes) else 1


def _lines(payload: bytes) -> list[bytes]:
    """The envelope lines of a passes message, as decode_passes sees them (to quarantine one verbatim)."""
    return [ln for ln in payload.split(b"\n") if ln.strip()] or [payload]


class NotConnected(Exception):
    """Central is not connected to the broker right now."""


class CentralBridge:
    def __init__(
        self,
        central: Central,
        broker: BrokerConfig,
        signing_key: Ed25519PrivateKey,
        client_id: str = "kakou-central",
        share_group: str | None = None,
        snapshot_after: int = network.SNAPSHOT_AFTER,
        max_batch: int = 2000,
        message_rate: float = 100.0,
        byte_rate: float = 8 * 1024 * 1024,
    ) -> None:
        self.central = central
        self.broker = broker
        self.key = signing_key
        self.client_id = client_id
        self.share_group = share_group
        self.snapshot_after = snapshot_after
        self.max_batch = max_batch
        self.rejected: Counter[str] = Counter()  # reason → count, for /api/v1/nodes and alarms
        self.rejected_by_node: Counter[str] = Counter()  # node → messages refused or quarantined
        self.failures = 0  # batches that failed for a reason of ours (contained, resent by the edges)
        self.quiet = QuietLog(log)
        self.message_rate = PerKey(message_rate, message_rate * 10)  # per node: messages a second
        self.byte_rate = PerKey(byte_rate, byte_rate * 4)  # per node: bytes a second
        self.sync_rate = PerKey(2, 20)  # per node: sync requests a second (each may cost a snapshot)
        self.bad_rate = PerKey(5, 50)  # per node: refused or quarantined messages a second, then muted
        self._refused: list[tuple[str, str, str]] = []  # refused on arrival, for the processor to report
        self._refused_event = asyncio.Event()
        self.connected = asyncio.Event()
        self.on_ingest: list[Callable[[], None]] = []  # after each stored batch (central's projections)
        self.processed = 0  # pass messages handled (stored or duplicate), for tests and benches
        self.batches = 0  # transactions they took
        self._changed = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._client: aiomqtt.Client | None = None
        self._published = 0  # global version of the last change published live
        self._republish = False
        central.on_change.append(self._on_change)

    def rotate_key(self, key: Ed25519PrivateKey) -> None:
        """Sign from now on with `key` (edges must already trust its public key: docs/protocol.md)."""
        self.key = key

    def _on_change(self, _version: int) -> None:
        # Called from API worker threads; hop onto the bridge's loop.
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._changed.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        # Re-publish each stream's latest change on start: an edge that missed changes committed just
        # before a crash of central sees a gap and asks for them, instead of waiting for the next change.
        self._published = await asyncio.to_thread(changelog.latest_version, self.central)
        self._republish = True

        def state(up: bool) -> None:
            if not up:
                self.connected.clear()  # set by the session once it is subscribed

        while True:
            try:
                await run_forever(
                    # A shared worker keeps no session: the edges' outboxes are the durable queue
                    # (whatever a dead worker held is resent by them to a live one).
                    lambda: make_client(
                        self.broker, self.client_id, max_packet=_MAX_PACKET, persistent=self.share_group is None
                    ),
                    self._session,
                    "central",
                    state,
                )
                return
            except Exception:
                # Nothing ends the bridge (and with it `kakou central serve`): log, wait, reconnect.
                self.failures += 1
                if self.quiet.allow("session") is not None:
                    log.exception("central's MQTT session failed; reconnecting")
                await asyncio.sleep(1)

    async def _session(self, client: aiomqtt.Client) -> None:
        for kind in (topics.PASSES, topics.SYNC_REQUEST, topics.POSITION, topics.DEVICES):
            await client.subscribe(topics.up_filter(kind, self.share_group), qos=1)
        await client.subscribe(topics.STATUS_FILTER, qos=1)
        self.connected.set()
        queue: asyncio.Queue[aiomqtt.Message] = asyncio.Queue()
        helpers = [
            asyncio.create_task(self._publish_changes(client)),
            asyncio.create_task(self._process(client, queue)),
        ]
        self._client = client
        try:
            async for msg in client.messages:
                if self._admit(msg):  # refused ones are dropped now: the queue only holds what we will handle
                    queue.put_nowait(msg)
                for t in helpers:
                    if t.done():
                        t.result()  # a helper that failed takes the session down, with its error
        finally:
            self._client = None
            for t in helpers:
                t.cancel()

    async def _publish_changes(self, client: aiomqtt.Client) -> None:
        self._changed.set()  # catch up on anything committed while we were disconnected
        while True:
            await self._changed.wait()
            self._changed.clear()
            if self._republish:
                for stream, head in (await asyncio.to_thread(changelog.stream_heads, self.central)).items():
                    batch = await asyncio.to_thread(changelog.changes_after, self.central, head - 1, 1, stream)
                    await self._publish_live(client, batch)
                self._republish = False
            while True:
                batches, upto = await asyncio.to_thread(changelog.live_batches, self.central, self._published)
                if not batches:
                    break
                for batch in batches:
                    await self._publish_live(client, batch)
                self._published = upto

    async def _publish_live(self, client: aiomqtt.Client, batch: ChangeBatch) -> None:
        # Each stream on its own topic: the broker hands a node only broadcast, its site's and its own.
        await client.publish(topics.stream_topic(batch.stream), sign(batch, self.key).wire(), qos=1)

    async def _process(self, client: aiomqtt.Client, queue: asyncio.Queue[aiomqtt.Message]) -> None:
        while True:
            getter = asyncio.ensure_future(queue.get())
            refused = asyncio.ensure_future(self._refused_event.wait())
            try:
                await asyncio.wait({getter, refused}, return_when=asyncio.FIRST_COMPLETED)
            finally:
                refused.cancel()
                got = getter.done()
                if not got:
                    getter.cancel()
            self._refused_event.clear()
            if self._refused:
                await self._report_refused()
            if not got:
                continue
            msgs = [getter.result()]
            size = _weight(msgs[0])
            while size < self.max_batch and not queue.empty():  # whatever has arrived, up to max_batch passes
                msgs.append(queue.get_nowait())
                size += _weight(msgs[-1])
            try:
                await self._handle(client, msgs)
            except (asyncio.CancelledError, aiomqtt.MqttError):
                raise  # stopping, or the connection: the session reconnects
            except Exception:
                # Not any one message's fault (each is contained in _handle): a bug of ours. Nothing of
                # the batch was acked, so the edges resend it; the bridge itself carries on.
                self.failures += 1
                if self.quiet.allow("batch") is not None:
                    log.exception("handling a batch of %d message(s) failed; the senders will resend", len(msgs))

    async def _handle(self, client: aiomqtt.Client, msgs: list[aiomqtt.Message]) -> None:
        envs: list[Envelope] = []
        for msg in msgs:
            topic = str(msg.topic)
            node = topics.node_of(topic)
            payload = msg.payload if isinstance(msg.payload, bytes) else str(msg.payload).encode()
            try:
                if topic.endswith("/" + topics.PASSES):
                    envs.extend(await self._decode(client, node, topic, payload))
                elif topic.endswith("/" + topics.SYNC_REQUEST):
                    req = SyncRequest.model_validate_json(payload)
                    if req.node != node:
                        await self._reject("node mismatch", topic, f"request says {req.node!r}")
                    else:
                        await self._answer(client, req)
                elif topic.endswith("/" + topics.POSITION):
                    try:  # a vehicle terminal's position (node_of gives the terminal id)
                        await asyncio.to_thread(positions.receive, self.central, node, payload)
                    except positions.Refused as exc:
                        await self._reject("position refused", topic, str(exc))
                elif topic.endswith("/" + topics.DEVICES):
                    rep = DeviceReport.model_validate_json(payload)
                    if rep.node != node:
                        await self._reject("node mismatch", topic, f"report says {rep.node!r}")
                    else:
                        await asyncio.to_thread(device_health.record, self.central, rep)
                elif node and topic == topics.status(node):
                    st = NodeStatus.model_validate_json(payload)
                    await asyncio.to_thread(
                        ingest.set_presence,
                        self.central,
                        node,
                        st.online,
                        st.knowledge_version if st.online else None,
                        st.streams if st.online else None,
                    )
            except (asyncio.CancelledError, aiomqtt.MqttError):
                raise
            except (ValidationError, ValueError) as exc:
                await self._reject("malformed", topic, _first_line(exc))
            except _TRANSIENT as exc:
                if self.quiet.allow(("db", topic)) is not None:
                    log.error("database error handling %s (the sender will retry): %s", topic, _first_line(exc))
            except Exception as exc:  # whatever this one message caused stays with it
                await self._reject("failed", topic, f"{type(exc).__name__}: {_first_line(exc)}")
        if envs:
            await self._store(client, envs)

    def _admit(self, msg: aiomqtt.Message) -> bool:
        """Per-node bounds before any work, as a message arrives (so a flood is not even queued):
        message size, lines, message rate, byte rate, and sync requests (each may cost a snapshot)
        on a lower rate. What is refused is reported by the processor (`_report_refused`)."""
        topic = str(msg.topic)
        payload = msg.payload if isinstance(msg.payload, bytes) else b""
        is_passes = topic.endswith("/" + topics.PASSES)
        limit = limits.MAX_PASSES_MESSAGE_BYTES if is_passes else limits.MAX_CONTROL_MESSAGE_BYTES
        key = topics.node_of(topic) or topic
        why: tuple[str, str] | None = None
        if len(payload) > limit:
            why = ("too large", f"{len(payload)} bytes, at most {limit}")
        elif is_passes and payload.count(b"\n") >= limits.MAX_PASSES_LINES:
            why = ("too large", f"more than {limits.MAX_PASSES_LINES} lines")
        elif self.bad_rate.available(key) < 1:
            # A node whose messages keep being refused or quarantined (each a database write and a
            # log line) is not heard for a while: it cannot spend central's time meant for the others.
            why = ("rate limited", "too many bad messages from this node; muted for a few seconds")
        elif (
            not self.message_rate.take(key)
            or not self.byte_rate.take(key, len(payload))
            or (topic.endswith("/" + topics.SYNC_REQUEST) and not self.sync_rate.take(key))
        ):
            # Not acked: an honest node resends its passes and sync requests later.
            why = ("rate limited", "the node sends faster than central accepts from one node")
        if why is None:
            return True
        if len(self._refused) < 10_000:
            self._refused.append((why[0], topic, why[1]))
        else:
            self._count(why[0], topics.node_of(topic) or "?")
        self._refused_event.set()
        return False

    async def _report_refused(self) -> None:
        refused, self._refused = self._refused, []
        for reason, topic, detail in refused:
            await self._reject(reason, topic, detail)

    async def _decode(self, client: aiomqtt.Client, node: str | None, topic: str, payload: bytes) -> list[Envelope]:
        """A passes message's envelopes; what is not a valid pass is quarantined or refused, one
        database write and one log line for the whole message, however many lines are bad."""
        envs: list[Envelope] = []
        held: list[tuple[int, bytes, str]] = []
        refused: list[Refused] = []
        # Decoding is CPU work on the event loop: ~20 µs a pass, fine next to the I/O.
        for verdict, line in zip(decode_passes(node, payload), _lines(payload), strict=False):
            if isinstance(verdict, Accepted):
                envs.append(verdict.env)
            elif isinstance(verdict, Quarantined):
                held.append((verdict.seq, line, verdict.reason))
            else:
                refused.append(verdict)
        if refused:
            detail = refused[0].detail if len(refused) == 1 else f"{len(refused)} lines, the first: {refused[0].detail}"
            await self._reject(refused[0].reason, topic, detail, count=len(refused))
        if held and node is not None:
            await self._quarantine(client, node, held)
        return envs

    async def _store(self, client: aiomqtt.Client, envs: list[Envelope]) -> None:
        try:
            high_waters = await self._ingest(envs)
        except _TRANSIENT as exc:
            # Not stored, so not acked: the edges resend after their ack timeout.
            if self.quiet.allow("store") is not None:
                log.error("could not store %d pass(es), the edges will resend: %s", len(envs), _first_line(exc))
            return
        self.processed += len(envs)
        self.batches += 1
        for callback in self.on_ingest:
            try:
                callback()
            except Exception:
                log.exception("an ingest callback failed")
        for node_id, (hw, rejected) in high_waters.items():
            ack = Ack(node=node_id, high_water=hw, rejected=rejected)
            await client.publish(topics.down(node_id, topics.ACK), ack.model_dump_json(), qos=1)

    async def _ingest(self, envs: list[Envelope]) -> dict[str, tuple[int, list[int]]]:
        """Store a batch; if it fails for something in it (not the database being away), split it — by
        node, then in halves — until the one envelope that fails is alone, and quarantine that one:
        every other node's, and every other pass of the same node, is stored."""
        try:
            return await asyncio.to_thread(ingest.ingest_passes, self.central, envs)
        except Exception as exc:
            # The database away or busy (after ingest's own retries): not acked, resent. Unless it
            # answers a plain query: then something in the batch is what it chokes on, split it.
            if isinstance(exc, _TRANSIENT) and (len(envs) == 1 or not await asyncio.to_thread(_alive, self.central)):
                raise
            if len(envs) == 1:
                env = envs[0]
                reason = f"could not be stored: {type(exc).__name__}: {_first_line(exc)}"
                self._count("quarantined", env.node)
                self.quiet.log(
                    logging.WARNING, ("quarantined", env.node), "quarantined %s seq %s: %s", env.node, env.seq, reason
                )
                try:
                    hw = await asyncio.to_thread(
                        ingest.quarantine, self.central, env.node, env.seq, env.model_dump_json().encode(), reason
                    )
                except _TRANSIENT:
                    raise
                except Exception as again:
                    await self._reject("failed", topics.up(env.node, topics.PASSES), f"seq {env.seq}: {again}")
                    return {}
                return {env.node: hw}
            by_node: dict[str, list[Envelope]] = {}
            for env in envs:
                by_node.setdefault(env.node, []).append(env)
            parts = list(by_node.values()) if len(by_node) > 1 else [envs[: len(envs) // 2], envs[len(envs) // 2 :]]
            out: dict[str, tuple[int, list[int]]] = {}
            for part in parts:
                try:
                    stored = await self._ingest(part)
                except _TRANSIENT as again:
                    self.quiet.log(
                        logging.ERROR,
                        "store",
                        "could not store %d pass(es), the edges will resend: %s",
                        len(part),
                        _first_line(again),
                    )
                    continue
                for node, (high, rejected) in stored.items():
                    before = out.get(node, (0, []))
                    out[node] = (max(high, before[0]), sorted(set(before[1]) | set(rejected)))
            return out

    async def _quarantine(self, client: aiomqtt.Client, node: str, held: list[tuple[int, bytes, str]]) -> None:
        """Pass messages we cannot accept: keep them verbatim and let the node's stream move on."""
        self._count("quarantined", node, len(held))
        self.quiet.log(
            logging.WARNING,
            ("quarantined", node),
            "quarantined %s seq %s%s: %s",
            node,
            held[0][0],
            f" and {len(held) - 1} more" if len(held) > 1 else "",
            held[0][2],
        )
        high_water, rejected = await asyncio.to_thread(ingest.quarantine_many, self.central, node, held)
        ack = Ack(node=node, high_water=high_water, rejected=rejected)
        await client.publish(topics.down(node, topics.ACK), ack.model_dump_json(), qos=1)

    async def _answer(self, client: aiomqtt.Client, req: SyncRequest) -> None:
        batches = await asyncio.to_thread(
            network.answer_sync_request, self.central, req.node, req.positions(), self.snapshot_after
        )
        for batch in batches:
            await self._send(client, req.node, batch)

    async def _send(self, client: aiomqtt.Client, node: str, batch: ChangeBatch) -> None:
        # A large snapshot goes in signed parts under the broker's message size limit.
        for part in changelog.in_parts(batch):
            signed = sign(part.model_copy(update={"to_node": node}), self.key)
            await client.publish(topics.down(node, topics.CHANGES), signed.wire(), qos=1)
        await asyncio.to_thread(network.record_sent, self.central, node, batch)

    async def resync(self, node: str) -> dict[str, int]:
        """Manual full resync: send `node` a snapshot of each stream it follows. Returns their versions."""
        client = self._client
        if client is None:
            raise NotConnected("central is not connected to the broker")
        batches = await asyncio.to_thread(network.full_resync, self.central, node)
        for batch in batches:
            await self._send(client, node, batch)
        return {b.stream: b.to_version for b in batches}

    async def publish(self, topic: str, payload: str) -> None:
        """Publish on the live session (QoS 1, not retained), e.g. alerts for other systems."""
        client = self._client
        if client is None:
            raise NotConnected("central is not connected to the broker")
        await client.publish(topic, payload, qos=1, retain=False)

    def _count(self, reason: str, node: str, n: int = 1) -> None:
        self.rejected[reason] += n
        self.rejected_by_node[node] += n
        if reason != "rate limited":
            self.bad_rate.spend(node, n)  # below one token the node is muted (_admit) until it refills

    async def _reject(self, reason: str, topic: str, detail: str, count: int = 1) -> None:
        """Count a refused message; log it and keep it for the network view at most once per (node,
        reason) every few seconds, with how many were not written, so refusing costs less than sending."""
        node = topics.node_of(topic) or "?"
        self._count(reason, node, count)
        held = self.quiet.allow(("reject", node, reason))
        if held is None:
            return
        more = f" (+{held} more not logged)" if held else ""
        log.warning(
            "rejected %s on %s: %s (%s)%s",
            f"{count} messages" if count > 1 else "message",
            topic,
            reason,
            detail[:200],
            more,
        )
        try:
            await asyncio.to_thread(
                ingest.record_rejected, self.central, node, topic.rsplit("/", 1)[-1], f"{reason}: {detail}"[:180] + more
            )
        except Exception as exc:  # the database may be away: the count and the log line are kept
            log.error("could not record a rejected message: %s", _first_line(exc))


def _alive(c: Central) -> bool:
    try:
        with c.sessions() as s:
            s.execute(text("SELECT 1"))
        return True
    except Exception:
        return False


def _first_line(exc: BaseException) -> str:
    return (str(exc).splitlines() or [type(exc).__name__])[0][:200]
