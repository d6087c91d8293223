"""Device reports are fire-and-forget: one the broker took while central was not subscribed (a
site where the lanes start first) reaches central at the node's next resync, without a change."""

from __future__ import annotations

import asyncio
from pathlib import Path

import aiomqtt
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from sync_harness import CentralProc, EdgeProc

from kakou.broker import MosquittoBroker
from kakou.central import device_health
from kakou.edge.device_states import DeviceStates
from kakou.sync import topics
from kakou.sync.mqtt import BrokerConfig
from kakou.waiting import eventually


async def test_a_report_sent_before_central_listened_arrives_at_the_next_resync(
    mosquitto: MosquittoBroker, tmp_path: Path, key: Ed25519PrivateKey
) -> None:
    cfg = BrokerConfig(port=mosquitto.port)
    states = DeviceStates("n1")
    states.set("L1", "weighbridge", "weighbridge", "fault", "no_response")
    async with aiomqtt.Client("127.0.0.1", mosquitto.port, identifier="spy") as spy:
        await spy.subscribe(topics.up("n1", topics.DEVICES), qos=1)
        edge = EdgeProc.open("n1", tmp_path / "n1.db", cfg, [key], device_states=states, resync_interval=1.0).start()
        try:
            # The node's report on connecting goes out while no central is there to store it.
            first = await asyncio.wait_for(anext(aiter(spy.messages)), 15)
            assert b"weighbridge" in bytes(first.payload)
            central = await CentralProc.start(tmp_path / "central.db", cfg, key)
            try:
                devs = await eventually(
                    lambda: device_health.devices(central.central), 15, what="the weighbridge at central"
                )
                assert [(d.lane, d.kind, d.state, d.code) for d in devs] == [
                    ("L1", "weighbridge", "fault", "no_response")
                ]
            finally:
                await central.stop()
        finally:
            await edge.stop()
