"""The central side the sync benchmarks measure against: a broker of its own, central on a database
and its MQTT bridge, connected; all stopped and closed on the way out."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kakou.broker import MosquittoBroker
from kakou.central.bridge import CentralBridge
from kakou.central.service import Central, open_central
from kakou.netutil import free_port
from kakou.sync.mqtt import BrokerConfig
from kakou.sync.signing import public_b64


@dataclass
class BenchCentral:
    central: Central
    bridge: CentralBridge
    port: int  # the broker's
    trust: str  # central's public signing key (public_b64), for the edges' --trust


@asynccontextmanager
async def central_on_broker(work: Path, url: str) -> AsyncIterator[BenchCentral]:
    broker = MosquittoBroker(free_port(), work / "broker")
    await broker.start()
    central, engine = open_central(url)
    key = Ed25519PrivateKey.generate()
    bridge = CentralBridge(central, BrokerConfig(port=broker.port), key)
    task = asyncio.create_task(bridge.run())
    try:
        await asyncio.wait_for(bridge.connected.wait(), 10)
        yield BenchCentral(central, bridge, broker.port, public_b64(key.public_key()))
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
        await broker.stop()
        engine.dispose()
