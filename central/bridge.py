"""Central's MQTT side: ingest passes idempotently, ack high-water marks, publish signed changes."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

import aiomqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from pydantic import ValidationError

from kakou.central import changelog, ingest
from kakou.central.service import Central
from kakou.sync import topics
from kakou.sync.messages import Ack, Envelope, NodeStatus, SyncRequest
from kakou.sync.mqtt import BrokerConfig, make_client, run_forever
from kakou.sync.signing import sign

log = logging.getLogger(__name__)


class CentralBridge:
    def __init__(
        self,
        central: Central,
        broker: BrokerConfig,
        signing_key: Ed25519PrivateKey,
        client_id: str = "kakou-central",
        share_group: str | None = None,
    ) -> None:
        self.central = central
        self.broker = broker
        self.key = signing_key
        self.client_id = client_id
        self.share_group = share_group
        self.rejected: Counter[str] = Counter()  # reason → count, for /api/v1/nodes and alarms
        self.connected = asyncio.Event()
        self._changed = asyncio.Event()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._published = 0
        central.on_change.append(self._on_change)

    def _on_change(self, _version: int) -> None:
        # Called from API worker threads; hop onto the bridge's loop.
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._changed.set)

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        self._published = await asyncio.to_thread(changelog.latest_version, self.central)

        def state(up: bool) -> None:
            (self.connected.set if up else self.connected.clear)()

        await run_forever(lambda: make_client(self.broker, self.client_id), self._session, "central", state)

    async def _session(self, client: aiomqtt.Client) -> None:
        for kind in (topics.PASSES, topics.SYNC_REQUEST):
            await client.subscribe(topics.up_filter(kind, self.share_group), qos=1)
        await client.subscribe(topics.STATUS_FILTER, qos=1)
        publisher = asyncio.create_task(self._publish_changes(client))
        try:
            async for msg in client.messages:
                await self._handle(client, msg)
        finally:
            publisher.cancel()

    async def _publish_changes(self, client: aiomqtt.Client) -> None:
        self._changed.set()  # catch up on anything committed while we were disconnected
        while True:
            await self._changed.wait()
            self._changed.clear()
            while True:
                batch = await asyncio.to_thread(changelog.changes_after, self.central, self._published)
                if not batch.changes:
                    break
                signed = sign(batch, self.key)
                await client.publish(topics.down_all(topics.CHANGES), signed.model_dump_json(), qos=1)
                self._published = batch.to_version

    async def _handle(self, client: aiomqtt.Client, msg: aiomqtt.Message) -> None:
        topic = str(msg.topic)
        node = topics.node_of(topic)
        payload = msg.payload if isinstance(msg.payload, bytes) else str(msg.payload).encode()
        try:
            if topic.endswith("/" + topics.PASSES):
                env = Envelope.model_validate_json(payload)
                if env.node != node:
                    return self._reject("node mismatch", topic, f"envelope says {env.node!r}")
                high_water = await asyncio.to_thread(ingest.ingest_pass, self.central, env)
                ack = Ack(node=env.node, high_water=high_water)
                await client.publish(topics.down(env.node, topics.ACK), ack.model_dump_json(), qos=1)
            elif topic.endswith("/" + topics.SYNC_REQUEST):
                req = SyncRequest.model_validate_json(payload)
                if req.node != node:
                    return self._reject("node mismatch", topic, f"request says {req.node!r}")
                batch = await asyncio.to_thread(changelog.changes_after, self.central, req.after_version)
                signed = sign(batch, self.key)
                await client.publish(topics.down(req.node, topics.CHANGES), signed.model_dump_json(), qos=1)
            elif node and topic == topics.status(node):
                st = NodeStatus.model_validate_json(payload)
                await asyncio.to_thread(ingest.set_presence, self.central, node, st.online, st.knowledge_version)
        except (ValidationError, ValueError) as exc:
            self._reject("malformed", topic, str(exc).splitlines()[0])

    def _reject(self, reason: str, topic: str, detail: str) -> None:
        self.rejected[reason] += 1
        log.warning("rejected message on %s: %s (%s)", topic, reason, detail)
