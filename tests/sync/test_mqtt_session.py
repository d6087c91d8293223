"""run_forever: a broker that goes away while the session is not reading messages is reported once
as "link down" and retried; asyncio is left with no unretrieved error to log later."""

from __future__ import annotations

import asyncio
import gc
import logging

import pytest

from kakou.broker import MosquittoBroker
from kakou.sync.mqtt import BrokerConfig, make_client, run_forever
from kakou.waiting import eventually


async def test_broker_killed_mid_session_is_reported_retried_and_leaves_nothing_unretrieved(
    mosquitto: MosquittoBroker, caplog: pytest.LogCaptureFixture
) -> None:
    connected: list[bool] = []
    sessions = 0

    async def session(client: object) -> None:
        nonlocal sessions
        sessions += 1
        await asyncio.Event().wait()  # busy with something else than reading messages

    cfg = BrokerConfig(port=mosquitto.port, keepalive=5)
    task = asyncio.create_task(
        run_forever(lambda: make_client(cfg, "test-session"), session, "test", on_state=connected.append)
    )
    caplog.set_level(logging.WARNING)
    try:
        await eventually(lambda: connected == [True], 10, what="first connection")
        await mosquitto.kill()
        await eventually(lambda: connected[-1:] == [False], 30, what="the drop noticed")
        await mosquitto.start()
        await eventually(lambda: sessions == 2 and connected[-1:] == [True], 30, what="reconnected")
    finally:
        task.cancel()
        await asyncio.gather(task, return_exceptions=True)
    gc.collect()  # an unretrieved future's exception is logged when the future is collected
    assert any("mqtt link down" in r.getMessage() for r in caplog.records)
    assert not [r for r in caplog.records if "never retrieved" in r.getMessage()], caplog.text
