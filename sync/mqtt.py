"""Connection settings and a reconnecting session loop shared by edge and central."""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Awaitable, Callable
from pathlib import Path

import aiomqtt
from paho.mqtt.client import MQTT_CLEAN_START_FIRST_ONLY, CleanStartOption
from paho.mqtt.packettypes import PacketTypes
from paho.mqtt.properties import Properties
from pydantic import BaseModel, ConfigDict, Field

log = logging.getLogger(__name__)


class BrokerConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    host: str = "127.0.0.1"
    port: int = Field(1883, ge=1, le=65535)
    username: str | None = None
    password: str | None = None
    tls_ca: Path | None = None  # production: verify the broker against this CA
    mqtt5: bool = False  # needed for $share shared subscriptions on some brokers
    keepalive: int = Field(30, ge=5)


SESSION_EXPIRY_S = 7 * 24 * 3600  # MQTT 5: how long the broker keeps our queue while we are away


def make_client(
    cfg: BrokerConfig,
    identifier: str,
    will: aiomqtt.Will | None = None,
    max_packet: int | None = None,
    persistent: bool = True,
) -> aiomqtt.Client:
    """`max_packet` (MQTT 5 only): the broker sends us no larger packet (it drops it for us instead),
    so a huge message costs our client nothing — central takes nothing over its uplink bounds.
    `persistent`: the broker queues QoS 1 messages for us while we are away. A shared-subscription
    worker must not have that: Mosquitto goes on handing an away member its share of the group's
    messages, which then wait for it instead of going to a live worker."""
    tls = ssl.create_default_context(cafile=str(cfg.tls_ca)) if cfg.tls_ca else None
    protocol = aiomqtt.ProtocolVersion.V5 if cfg.mqtt5 else aiomqtt.ProtocolVersion.V311
    clean_start: CleanStartOption = MQTT_CLEAN_START_FIRST_ONLY  # paho's default; MQTT 3.1.1 takes no other
    props: Properties | None = None
    if protocol is aiomqtt.ProtocolVersion.V5:
        # MQTT 5 sessions end at disconnect unless given an expiry: a persistent one asks for it.
        clean_start = not persistent
        props = Properties(PacketTypes.CONNECT)
        props.SessionExpiryInterval = SESSION_EXPIRY_S if persistent else 0
        if max_packet:
            props.MaximumPacketSize = max_packet
    client = aiomqtt.Client(
        cfg.host,
        cfg.port,
        username=cfg.username,
        password=cfg.password,
        identifier=identifier,
        protocol=protocol,
        will=will,
        clean_session=not persistent if protocol is aiomqtt.ProtocolVersion.V311 else None,
        keepalive=cfg.keepalive,
        tls_context=tls,
        timeout=10,
        # QoS 1 messages in flight before waiting for PUBACKs: unlimited (0). paho's default, 20,
        # caps a backlog drain at one round trip per 20 passes, and any limit makes paho scan every
        # in-flight message on each PUBACK. What is outstanding is bounded by our own windows (the
        # edge's WINDOW of passes central has not acknowledged; central publishes one ack per batch).
        max_inflight_messages=0,
        clean_start=clean_start,
        properties=props,
    )
    # The edge awaits a window of QoS 1 PUBACKs together on purpose; aiomqtt warns above 10.
    client.pending_calls_threshold = 500
    return client


Session = Callable[[aiomqtt.Client], Awaitable[None]]


async def run_forever(
    make: Callable[[], aiomqtt.Client],
    session: Session,
    name: str,
    on_state: Callable[[bool], None] | None = None,
    max_backoff: float = 10.0,
) -> None:
    """Run `session` on a connected client; reconnect with capped exponential back-off."""
    backoff = 0.2
    while True:
        try:
            async with make() as client:
                backoff = 0.2
                if on_state:
                    on_state(True)
                log.info("mqtt connected", extra={"component": name})
                await _until_dropped(client, session)
        except aiomqtt.MqttError as exc:
            task = asyncio.current_task()
            if task is not None and task.cancelling():
                # aiomqtt turns a cancellation inside the session into "Disconnected": stop, do not retry.
                raise asyncio.CancelledError from exc
            log.warning("mqtt link down: %s; retrying in %.1fs", exc, backoff, extra={"component": name})
        finally:
            if on_state:
                on_state(False)
        await asyncio.sleep(backoff)
        backoff = min(backoff * 2, max_backoff)


async def _until_dropped(client: aiomqtt.Client, session: Session) -> None:
    """Run `session` until it ends or the connection drops, whichever comes first. aiomqtt reports a
    drop only to a message iteration under way: a session busy with something else (publishing, or
    waiting for work) would otherwise never learn of it, and asyncio would later log the drop's
    unretrieved error. aiomqtt keeps the drop in a private future; its own iteration waits on it too."""
    gone = client._disconnected
    work = asyncio.ensure_future(session(client))
    dropped = False
    try:
        await asyncio.wait({work, gone}, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if not work.done():  # the connection dropped first, or we are being cancelled
            dropped = True
            work.cancel()
            await asyncio.gather(work, return_exceptions=True)
    why = gone.exception() if gone.done() and not gone.cancelled() else None  # also marks it as seen
    if dropped:
        raise aiomqtt.MqttError(f"connection lost: {why}" if why else "disconnected by the broker") from why
    work.result()  # the session's own outcome (its error, if any)
