"""The edge's MQTT link to central: outbox uplink with acks, signed change downlink, presence.

Uplink: outbox rows go out in seq order, a window at a time; central acks a contiguous high-water
mark. If no ack progress comes within `ack_timeout` while messages are outstanding (a message lost
after the broker acknowledged it to us, a central crash between receipt and commit), the link
resends from the high-water mark: duplicates are harmless at central, losses are not.
Downlink: signed change batches, one stream (scope) at a time — broadcast, the node's site, the
node itself — each applied strictly in order; a gap in a stream triggers a sync request, and the
link also asks periodically (`resync_interval`) so a batch missed while nobody noticed is
caught up without waiting for the next change. The node learns its site from central: once central
answers it with a site stream, it subscribes to that site's topic too.
"""

from __future__ import annotations

import asyncio
import json
import logging
from datetime import UTC, datetime

import aiomqtt
import paho.mqtt.client as mqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from kakou.edge import sync_outbox
from kakou.edge.device_states import DeviceStates
from kakou.edge.store import EdgeStore, VersionGap
from kakou.sync import topics
from kakou.sync.messages import PASS_VERSION, Ack, ChangeBatch, NodeStatus, SyncRequest
from kakou.sync.mqtt import BrokerConfig, make_client, run_forever
from kakou.sync.signing import SignatureError, verify
from kakou.tasks import first_of

log = logging.getLogger(__name__)

MAX_ACK_PATIENCE = 60.0  # seconds, the longest wait for acks before resending
WINDOW = 5000  # unacknowledged messages in flight: back-pressure when central is slow
CHUNK = 1000  # published together, then their send status is written in one transaction
LINES = 100  # envelopes per MQTT message (one per line; ~80 kB)


class EdgeLink:
    def __init__(
        self,
        node: str,
        store: EdgeStore,
        broker: BrokerConfig,
        trusted: dict[str, Ed25519PublicKey],
        ack_timeout: float = 5.0,
        resync_interval: float = 60.0,
        device_states: DeviceStates | None = None,
    ) -> None:
        self.node = node
        self.device_states = device_states
        self.store = store
        self.broker = broker
        self.trusted = dict(trusted)
        self.ack_timeout = ack_timeout
        self.resync_interval = resync_interval
        self.online = False
        self.offline_since: datetime | None = datetime.now(UTC)
        self.outbox_changed = asyncio.Event()
        self._acked = asyncio.Event()
        self._rewind = False
        self.knowledge_changed = asyncio.Event()
        self.resends = 0  # times the link resent from the high-water mark for lack of acks
        self.disconnects = 0  # sessions that ended or connection attempts that failed
        self.state_changed = asyncio.Event()  # set on every connect, disconnect or failed attempt
        self._site_topics: set[str] = set()  # site change topics subscribed in this session
        # Parts of a snapshot sent in parts, per stream: applied together once all are here.
        self._parts: dict[str, tuple[tuple[int, str], dict[int, ChangeBatch]]] = {}

    def wake(self) -> None:
        """Something was queued in the outbox."""
        self.outbox_changed.set()

    def trust(self, keys: dict[str, Ed25519PublicKey]) -> None:
        """Replace the set of central keys this node accepts (key rotation without a restart)."""
        self.trusted = dict(keys)

    def resend_from(self, seq: int) -> int:
        """Manual resend: re-queue every outbox message from `seq` and send them again now."""
        n = sync_outbox.requeue_from(self.store, seq)
        self._rewind = True
        self.outbox_changed.set()
        return n

    def _client(self) -> aiomqtt.Client:
        will = aiomqtt.Will(topics.status(self.node), NodeStatus(online=False).model_dump_json(), qos=1, retain=True)
        return make_client(self.broker, f"kakou-edge-{self.node}", will=will)

    def _state(self, up: bool) -> None:
        self.online = up
        self.offline_since = None if up else (self.offline_since or datetime.now(UTC))
        self.disconnects += not up
        self.state_changed.set()

    async def run(self) -> None:
        await run_forever(self._client, self._session, f"edge {self.node}", self._state)

    async def _session(self, client: aiomqtt.Client) -> None:
        await client.subscribe(topics.down(self.node, "#"), qos=1)
        await client.subscribe(topics.down_all("#"), qos=1)
        self._site_topics = set()
        for stream in self.store.stream_versions():
            await self._follow(client, stream, catch_up=False)  # the request below catches up
        await self._publish_status(client)
        await self._request_changes(client)
        helpers = [asyncio.create_task(self._send_outbox(client)), asyncio.create_task(self._resync(client))]
        if self.device_states is not None:
            helpers.append(asyncio.create_task(self._send_device_states(client, self.device_states)))
        try:
            async for msg in client.messages:
                await self._handle(client, msg)
        finally:
            for t in helpers:
                t.cancel()

    async def _follow(self, client: aiomqtt.Client, stream: str, catch_up: bool = True) -> None:
        """Subscribe to a site stream's live topic (the broker's ACL must grant this node that site)."""
        if not stream.startswith("site:"):
            return
        topic = topics.stream_topic(stream)
        if topic not in self._site_topics:
            self._site_topics.add(topic)
            await client.subscribe(topic, qos=1)
            if catch_up:  # a change published before the subscription took effect: ask for it now
                await self._request_changes(client)

    async def _publish_status(self, client: aiomqtt.Client) -> None:
        streams = self.store.stream_versions()
        st = NodeStatus(online=True, knowledge_version=sum(streams.values()), streams=streams)
        await client.publish(topics.status(self.node), st.model_dump_json(), qos=1, retain=True)

    async def _request_changes(self, client: aiomqtt.Client) -> None:
        streams = self.store.stream_versions()
        req = SyncRequest(node=self.node, after_version=streams.get(topics.BROADCAST, 0), streams=streams)
        await client.publish(topics.up(self.node, topics.SYNC_REQUEST), req.model_dump_json(), qos=1)

    async def _send_device_states(self, client: aiomqtt.Client, states: DeviceStates) -> None:
        """Device state changes as they happen; every current state again on each (re)connect and at
        each resync interval: a report is not acknowledged, and one that reached the broker while
        central was not subscribed (its first start) would otherwise be missing until a change."""
        everything = True
        while True:
            for report in states.take(everything):
                await client.publish(topics.up(self.node, topics.DEVICES), report.model_dump_json(), qos=1)
            try:
                await asyncio.wait_for(states.changed.wait(), self.resync_interval)
                everything = False
            except TimeoutError:
                everything = True

    async def _resync(self, client: aiomqtt.Client) -> None:
        while True:
            await asyncio.sleep(self.resync_interval)
            await self._request_changes(client)

    def _envelope(self, seq: int, kind: str, body: str, now: datetime) -> str:
        """An Envelope's JSON around the stored body, verbatim: the edge does not re-validate its own
        records, and a body that no longer validates (corrupted, or from a newer schema) still goes
        up, for central to quarantine instead of the stream stalling behind it. Always one line:
        several envelopes share an MQTT message, a line each."""
        try:
            json.loads(body)
        except ValueError:
            body = json.dumps(body)  # not even JSON: send it as a string
        else:
            # In valid JSON a raw line break can only be whitespace between tokens.
            body = body.replace("\r", " ").replace("\n", " ")
        head = json.dumps(
            {"v": PASS_VERSION, "node": self.node, "seq": seq, "kind": kind, "sent_at": now.isoformat()},
            ensure_ascii=False,
        )
        return head[:-1] + ', "body": ' + body + "}"

    async def _publish_rows(self, client: aiomqtt.Client, rows: list[tuple[int, str, str]]) -> None:
        now = datetime.now(UTC)
        topic = topics.up(self.node, topics.PASSES)
        # Handed to paho in seq order, QoS 1, without awaiting each PUBACK: delivery is confirmed by
        # central's acks (a pass leaves the unacknowledged set only once central has committed it),
        # and the window bounds what is outstanding. Awaiting a future per message through aiomqtt
        # costs O(outstanding) per publish (its pending-call bookkeeping), which dominated a drain.
        # Up to LINES envelopes per MQTT message, one per line, in seq order: per-message costs (paho,
        # the broker, PUBACKs, central's receive path) were most of a drain's CPU.
        paho = client._client  # aiomqtt's paho client; publish() is paho's public API
        lines = [self._envelope(seq, kind, body, now) for seq, kind, body in rows]
        for i in range(0, len(lines), LINES):
            info = paho.publish(topic, "\n".join(lines[i : i + LINES]), qos=1)
            if info.rc != mqtt.MQTT_ERR_SUCCESS:
                raise aiomqtt.MqttCodeError(info.rc, "could not publish")  # the session reconnects
        await asyncio.to_thread(sync_outbox.mark_sent, self.store, [r[0] for r in rows], now)

    async def _send_outbox(self, client: aiomqtt.Client) -> None:
        # After every (re)connect, resend everything central has not acknowledged, in order.
        loop = asyncio.get_running_loop()
        acked = sent = self.store.acked_seq
        progress_at = loop.time()  # when the high-water mark last moved (or sending began)
        # How long to wait for ack progress before resending; doubles while central stays slow, so a
        # lagging central is not buried under every edge's resent window.
        patience = self.ack_timeout
        while True:
            self.outbox_changed.clear()
            self._acked.clear()
            if self._rewind:
                self._rewind = False
                sent = 0
            now_acked = self.store.acked_seq
            if now_acked > acked:
                progress_at, patience = loop.time(), self.ack_timeout
            acked = now_acked
            sent = max(sent, acked)
            if sent > acked and loop.time() - progress_at >= patience:
                # No ack progress for a whole timeout: something sent was lost on the way.
                log.warning("no ack beyond seq %s for %.1fs; resending from there", acked, patience)
                self.resends += 1
                sent, progress_at = acked, loop.time()
                patience = min(patience * 2, MAX_ACK_PATIENCE)
            room = WINDOW - (sent - acked)
            rows = self.store.unacked(sent, min(room, CHUNK)) if room > 0 else []
            if rows:
                if sent == acked:
                    progress_at = loop.time()
                await self._publish_rows(client, rows)
                sent = rows[-1][0]
                continue
            waits = [self._acked.wait()]
            if room > 0:
                waits.append(self.outbox_changed.wait())
            timeout = max(0.0, progress_at + patience - loop.time()) if sent > acked else None
            await first_of(*waits, timeout=timeout)

    async def _handle(self, client: aiomqtt.Client, msg: aiomqtt.Message) -> None:
        topic = str(msg.topic)
        payload = msg.payload if isinstance(msg.payload, bytes) else str(msg.payload).encode()
        now = datetime.now(UTC)
        try:
            if topic == topics.down(self.node, topics.ACK):
                ack = Ack.model_validate_json(payload)
                if ack.node == self.node:
                    if ack.rejected:
                        log.error("central quarantined seq %s (invalid pass message)", ack.rejected)
                        await asyncio.to_thread(
                            sync_outbox.mark_rejected,
                            self.store,
                            ack.rejected,
                            "quarantined by central: invalid pass message",
                            now,
                        )
                    await asyncio.to_thread(self.store.mark_acked, ack.high_water)
                    self._acked.set()
            elif topic == topics.down(self.node, topics.CHANGES):
                # Answers to our sync requests (any of our streams) and our own stream's live batches.
                batch = ChangeBatch.model_validate_json(payload)
                if await self._apply(client, batch, now) and not batch.retired:
                    await self._follow(client, batch.stream)
                    if batch.more:  # answers are capped in size: ask for the rest
                        await self._request_changes(client)
            elif (stream := topics.stream_of_topic(topic)) is not None:
                # A shared live topic (broadcast, our site): it must carry that stream and no other.
                batch = ChangeBatch.model_validate_json(payload)
                if batch.stream != stream or batch.retired:
                    raise ValueError(
                        f"a batch of stream {batch.stream!r} on the topic of {stream!r}"
                        + (" retiring it" if batch.retired else "")
                    )
                await self._apply(client, batch, now)
        except (ValidationError, ValueError) as exc:
            reason = f"malformed message: {str(exc).splitlines()[0]}"
            log.warning("rejected %s: %s", topic, reason)
            self.store.record_rejected(topic, reason, now)

    def _assemble(self, part: ChangeBatch) -> ChangeBatch | None:
        """Keep a verified part of a snapshot; the whole snapshot once every part is here. Only one
        snapshot per stream is assembled at a time: a newer one drops an unfinished older one."""
        if not part.snapshot or part.part >= part.parts:
            raise ValueError(f"part {part.part} of {part.parts} of a batch that is not a snapshot in parts")
        which = (part.to_version, part.issued_at.isoformat())
        held = self._parts.get(part.stream)
        if held is None or held[0] != which:
            held = (which, {})
            self._parts[part.stream] = held
        got = held[1]
        if got and next(iter(got.values())).parts != part.parts:
            raise ValueError("parts of one snapshot disagree on how many there are")
        got[part.part] = part
        if len(got) < part.parts:
            return None
        del self._parts[part.stream]
        changes = [ch for i in range(part.parts) for ch in got[i].changes]
        return part.model_copy(update={"changes": changes, "part": 0, "parts": 1})

    def _not_ours(self, batch: ChangeBatch) -> str | None:
        """Why a correctly signed batch is still not for this node, or None. A node follows the
        broadcast, its own stream and its site(s); it learns a site from central, whose answers on
        the node's own topic name the node they are for (`to_node`, signed)."""
        if batch.to_node and batch.to_node != self.node:
            return f"a batch for node {batch.to_node!r}"
        if batch.stream in (topics.BROADCAST, topics.node_stream(self.node)):
            return None
        if batch.stream.startswith("node:"):
            return f"another node's stream {batch.stream!r}"
        if batch.to_node == self.node or batch.stream in self.store.stream_versions():
            return None  # its site: named for it by central, or one it already follows
        return f"stream {batch.stream!r} is not one of this node's"

    async def _apply(self, client: aiomqtt.Client, batch: ChangeBatch, now: datetime) -> int:
        try:
            verify(batch, self.trusted)
        except SignatureError as exc:
            log.error("rejected change batch %s %s..%s: %s", batch.stream, batch.after_version, batch.to_version, exc)
            self.store.record_rejected("changes", str(exc), now)
            return 0
        if (why := self._not_ours(batch)) is not None:
            log.error("rejected change batch %s %s..%s: %s", batch.stream, batch.after_version, batch.to_version, why)
            self.store.record_rejected("changes", why, now)
            return 0
        if batch.parts > 1:
            whole = self._assemble(batch)
            if whole is None:
                return 0  # more parts to come: nothing of a snapshot is applied before all of it is here
            batch = whole
        try:
            applied = await asyncio.to_thread(self.store.apply_batch, batch, now)
        except VersionGap as gap:
            log.info("knowledge gap (%s); asking central for what is missing", gap)
            await self._request_changes(client)
            return 0
        if applied and batch.retired and batch.stream.startswith("site:"):
            topic = topics.stream_topic(batch.stream)
            if topic in self._site_topics:
                self._site_topics.discard(topic)
                await client.unsubscribe(topic)
        if applied:
            what = "retired" if batch.retired else "snapshot" if batch.snapshot else f"+{applied}"
            log.info("knowledge now at version %s (%s %s)", self.store.knowledge_version, batch.stream, what)
            self.knowledge_changed.set()
            await self._publish_status(client)
        return applied
