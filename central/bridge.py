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
from sqlalchemy.exc import SQLAlchemyError

from kakou.central import changelog, ingest, network
from kakou.central.service import Central
from kakou.sync import topics
from kakou.sync.decode import Accepted, Quarantined, decode_passes
from kakou.sync.messages import Ack, ChangeBatch, Envelope, NodeStatus, SyncRequest
from kakou.sync.mqtt import BrokerConfig, make_client, run_forever
from kakou.sync.signing import sign

log = logging.getLogger(__name__)


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
    ) -> None:
        self.central = central
        self.broker = broker
        self.key = signing_key
        self.client_id = client_id
        self.share_group = share_group
        self.snapshot_after = snapshot_after
        self.max_batch = max_batch
        self.rejected: Counter[str] = Counter()  # reason → count, for /api/v1/nodes and alarms
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

        await run_forever(lambda: make_client(self.broker, self.client_id), self._session, "central", state)

    async def _session(self, client: aiomqtt.Client) -> None:
        for kind in (topics.PASSES, topics.SYNC_REQUEST):
            await client.subscribe(topics.up_filter(kind, self.share_group), qos=1)
        await client.subscribe(topics.STATUS_FILTER, qos=1)
        self.connected.set()
        queue: asyncio.Queue[aiomqtt.Message] = asyncio.Queue()
        helpers = [asyncio.create_task(self._publish_changes(client)),
                   asyncio.create_task(self._process(client, queue))]
        self._client = client
        try:
            async for msg in client.messages:
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
        await client.publish(topics.stream_topic(batch.stream), sign(batch, self.key).model_dump_json(), qos=1)

    async def _process(self, client: aiomqtt.Client, queue: asyncio.Queue[aiomqtt.Message]) -> None:
        while True:
            msgs = [await queue.get()]
            size = _weight(msgs[0])
            while size < self.max_batch and not queue.empty():  # whatever has arrived, up to max_batch passes
                msgs.append(queue.get_nowait())
                size += _weight(msgs[-1])
            envs: list[Envelope] = []
            for msg in msgs:
                topic = str(msg.topic)
                node = topics.node_of(topic)
                payload = msg.payload if isinstance(msg.payload, bytes) else str(msg.payload).encode()
                try:
                    if topic.endswith("/" + topics.PASSES):
                        # Decoding is CPU work on the event loop: ~20 µs a pass, fine next to the I/O.
                        for verdict, line in zip(decode_passes(node, payload), _lines(payload), strict=False):
                            if isinstance(verdict, Accepted):
                                envs.append(verdict.env)
                            elif isinstance(verdict, Quarantined):
                                await self._quarantine(client, verdict, line)
                            else:
                                await self._reject(verdict.reason, topic, verdict.detail)
                    elif topic.endswith("/" + topics.SYNC_REQUEST):
                        req = SyncRequest.model_validate_json(payload)
                        if req.node != node:
                            await self._reject("node mismatch", topic, f"request says {req.node!r}")
                        else:
                            await self._answer(client, req)
                    elif node and topic == topics.status(node):
                        st = NodeStatus.model_validate_json(payload)
                        await asyncio.to_thread(ingest.set_presence, self.central, node, st.online,
                                                st.knowledge_version if st.online else None,
                                                st.streams if st.online else None)
                except (ValidationError, ValueError) as exc:
                    await self._reject("malformed", topic, str(exc).splitlines()[0])
                except SQLAlchemyError as exc:
                    log.error("database error handling %s (the sender will retry): %s", topic, exc)
            if envs:
                try:
                    high_waters = await asyncio.to_thread(ingest.ingest_passes, self.central, envs)
                except SQLAlchemyError as exc:
                    # Not stored, so not acked: the edges resend after their ack timeout.
                    log.error("could not store %d pass(es), the edges will resend: %s", len(envs), exc)
                    continue
                self.processed += len(envs)
                self.batches += 1
                for callback in self.on_ingest:
                    callback()
                for node_id, (hw, rejected) in high_waters.items():
                    ack = Ack(node=node_id, high_water=hw, rejected=rejected)
                    await client.publish(topics.down(node_id, topics.ACK), ack.model_dump_json(), qos=1)

    async def _quarantine(self, client: aiomqtt.Client, q: Quarantined, payload: bytes) -> None:
        """A pass message we cannot accept: keep it verbatim and let the node's stream move on."""
        self.rejected["quarantined"] += 1
        log.warning("quarantined %s seq %s: %s", q.node, q.seq, q.reason)
        high_water, rejected = await asyncio.to_thread(ingest.quarantine, self.central, q.node, q.seq, payload,
                                                       q.reason)
        ack = Ack(node=q.node, high_water=high_water, rejected=rejected)
        await client.publish(topics.down(q.node, topics.ACK), ack.model_dump_json(), qos=1)

    async def _answer(self, client: aiomqtt.Client, req: SyncRequest) -> None:
        batches = await asyncio.to_thread(network.answer_sync_request, self.central, req.node, req.positions(),
                                          self.snapshot_after)
        for batch in batches:
            await self._send(client, req.node, batch)

    async def _send(self, client: aiomqtt.Client, node: str, batch: ChangeBatch) -> None:
        await client.publish(topics.down(node, topics.CHANGES), sign(batch, self.key).model_dump_json(), qos=1)
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

    async def _reject(self, reason: str, topic: str, detail: str) -> None:
        self.rejected[reason] += 1
        log.warning("rejected message on %s: %s (%s)", topic, reason, detail)
        node = topics.node_of(topic) or "?"
        await asyncio.to_thread(ingest.record_rejected, self.central, node, topic.rsplit("/", 1)[-1],
                                f"{reason}: {detail}")
