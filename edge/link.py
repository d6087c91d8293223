"""The edge's MQTT link to central: outbox uplink with acks, signed change downlink, presence."""

from __future__ import annotations

import asyncio
import logging
from datetime import UTC, datetime

import aiomqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from pydantic import ValidationError

from kakou.edge.store import EdgeStore, VersionGap
from kakou.sync import topics
from kakou.sync.messages import Ack, ChangeBatch, Envelope, NodeStatus, PassRecord, SyncRequest
from kakou.sync.mqtt import BrokerConfig, make_client, run_forever
from kakou.sync.signing import SignatureError, verify

log = logging.getLogger(__name__)

WINDOW = 200  # unacknowledged messages in flight: back-pressure when central is slow


class EdgeLink:
    def __init__(self, node: str, store: EdgeStore, broker: BrokerConfig,
                 trusted: dict[str, Ed25519PublicKey]) -> None:
        self.node = node
        self.store = store
        self.broker = broker
        self.trusted = trusted
        self.online = False
        self.offline_since: datetime | None = datetime.now(UTC)
        self.outbox_changed = asyncio.Event()
        self._acked = asyncio.Event()
        self.knowledge_changed = asyncio.Event()

    def wake(self) -> None:
        """Something was queued in the outbox."""
        self.outbox_changed.set()

    def _client(self) -> aiomqtt.Client:
        will = aiomqtt.Will(topics.status(self.node), NodeStatus(online=False).model_dump_json(), qos=1, retain=True)
        return make_client(self.broker, f"kakou-edge-{self.node}", will=will)

    def _state(self, up: bool) -> None:
        self.online = up
        self.offline_since = None if up else (self.offline_since or datetime.now(UTC))

    async def run(self) -> None:
        await run_forever(self._client, self._session, f"edge {self.node}", self._state)

    async def _session(self, client: aiomqtt.Client) -> None:
        await client.subscribe(topics.down(self.node, "#"), qos=1)
        await client.subscribe(topics.down_all("#"), qos=1)
        await self._publish_status(client)
        await self._request_changes(client)
        sender = asyncio.create_task(self._send_outbox(client))
        try:
            async for msg in client.messages:
                await self._handle(client, msg)
        finally:
            sender.cancel()

    async def _publish_status(self, client: aiomqtt.Client) -> None:
        st = NodeStatus(online=True, knowledge_version=self.store.knowledge_version)
        await client.publish(topics.status(self.node), st.model_dump_json(), qos=1, retain=True)

    async def _request_changes(self, client: aiomqtt.Client) -> None:
        req = SyncRequest(node=self.node, after_version=self.store.knowledge_version)
        await client.publish(topics.up(self.node, topics.SYNC_REQUEST), req.model_dump_json(), qos=1)

    async def _send_outbox(self, client: aiomqtt.Client) -> None:
        # After every (re)connect, resend everything central has not acknowledged, in order.
        sent = self.store.acked_seq
        while True:
            self.outbox_changed.clear()
            self._acked.clear()
            room = WINDOW - (sent - self.store.acked_seq)
            rows = self.store.unacked(sent, room) if room > 0 else []
            for seq, kind, body in rows:
                env = Envelope(node=self.node, seq=seq, kind=kind, sent_at=datetime.now(UTC),
                               body=PassRecord.model_validate_json(body))
                await client.publish(topics.up(self.node, topics.PASSES), env.model_dump_json(), qos=1)
                sent = seq
            if room <= 0:
                await self._acked.wait()
            elif not rows:
                await self.outbox_changed.wait()

    async def _handle(self, client: aiomqtt.Client, msg: aiomqtt.Message) -> None:
        topic = str(msg.topic)
        payload = msg.payload if isinstance(msg.payload, bytes) else str(msg.payload).encode()
        now = datetime.now(UTC)
        try:
            if topic == topics.down(self.node, topics.ACK):
                ack = Ack.model_validate_json(payload)
                if ack.node == self.node:
                    self.store.mark_acked(ack.high_water)
                    self._acked.set()
            elif topic == topics.down_all(topics.CHANGES):
                await self._apply(client, ChangeBatch.model_validate_json(payload), now)
            elif topic == topics.down(self.node, topics.CHANGES):
                # An answer to our sync request is capped in size: ask again until nothing is new.
                if await self._apply(client, ChangeBatch.model_validate_json(payload), now):
                    await self._request_changes(client)
        except (ValidationError, ValueError) as exc:
            reason = f"malformed message: {str(exc).splitlines()[0]}"
            log.warning("rejected %s: %s", topic, reason)
            self.store.record_rejected(topic, reason, now)

    async def _apply(self, client: aiomqtt.Client, batch: ChangeBatch, now: datetime) -> int:
        try:
            verify(batch, self.trusted)
        except SignatureError as exc:
            log.error("rejected change batch %s..%s: %s", batch.after_version, batch.to_version, exc)
            self.store.record_rejected("changes", str(exc), now)
            return 0
        try:
            applied = self.store.apply_batch(batch, now)
        except VersionGap as gap:
            log.info("knowledge gap (%s); asking central for what is missing", gap)
            await self._request_changes(client)
            return 0
        if applied:
            log.info("knowledge now at version %s (+%s)", self.store.knowledge_version, applied)
            self.knowledge_changed.set()
            await self._publish_status(client)
        return applied
