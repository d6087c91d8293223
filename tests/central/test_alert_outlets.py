"""Alerts offered to other systems: a control-order hit sent by a lane reaches an MQTT subscriber
on kakou/v1/alerts/control_hit and a webhook — the webhook refuses the first delivery and gets it
on the retry, and the failure is on record."""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import aiomqtt
import pytest
from sqlalchemy import select

from kakou.broker import MosquittoBroker
from kakou.central.server import CentralConfig, CentralServer
from kakou.central.tables import AuditRow
from kakou.sync import topics
from kakou.sync.messages import Envelope, Outcome
from kakou.sync.mqtt import BrokerConfig
from kakou.sync.samples import sample_record
from kakou.waiting import eventually


class Webhook:
    """A tiny HTTP receiver: answers 503 to the first `fail_first` POSTs, 204 after that."""

    def __init__(self, fail_first: int) -> None:
        self.fail_first = fail_first
        self.received: list[tuple[int, dict[str, Any]]] = []  # (status answered, body)
        self.url = ""

    async def _handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                length = next(
                    int(line.split(b":")[1])
                    for line in head.split(b"\r\n")
                    if line.lower().startswith(b"content-length:")
                )
                body = json.loads(await reader.readexactly(length))
                status = 503 if len(self.received) < self.fail_first else 204
                self.received.append((status, body))
                reason = b"Service Unavailable" if status == 503 else b"No Content"
                writer.write(b"HTTP/1.1 %d %s\r\nContent-Length: 0\r\n\r\n" % (status, reason))
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    @contextlib.asynccontextmanager
    async def serving(self) -> AsyncIterator[Webhook]:
        server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        self.url = f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}/kakou-alerts"
        async with server:
            yield self


def control_hit(seq: int, plate: str) -> Envelope:
    at = datetime.now(UTC)
    rec = sample_record(
        "n1",
        seq,
        at,
        plate=plate,
        plate_confidence=0.97,
        outcome=Outcome.OFFICER,
        reasons=["control order BK9"],
        opens_barrier=False,
        checks=[{"name": "control", "ok": False, "detail": "control order BK9: hold for inspection"}],
    )
    return Envelope(node="n1", seq=seq, kind="pass", sent_at=at, body=rec)


@pytest.mark.timeout(60)
async def test_control_hit_is_published_on_mqtt_and_posted_to_a_webhook_after_a_failure(
    mosquitto: MosquittoBroker, tmp_path: Path
) -> None:
    async with Webhook(fail_first=1).serving() as hook:
        cfg = CentralConfig(
            data_dir=tmp_path / "central",
            http_port=0,
            alert_webhooks=[hook.url],
            broker=BrokerConfig(port=mosquitto.port, username="kakou-central"),
        )
        server = CentralServer(cfg)
        server.alert_outlets.first_backoff = 0.2  # the retry comes quickly; the schedule is not under test
        task = asyncio.create_task(server.run())
        try:
            # Another system listening, with the read-only alerts account of the broker ACL.
            async with aiomqtt.Client(
                "127.0.0.1", mosquitto.port, username="kakou-alerts", identifier="alert-consumer"
            ) as consumer:
                await consumer.subscribe(f"{topics.ROOT}/alerts/#", qos=1)
                await asyncio.wait_for(server.bridge.connected.wait(), 10)
                await eventually(
                    lambda: all(o.caught_up.is_set() for o in server.alert_outlets.outlets),
                    10,
                    what="the outlets to start",
                )
                async with aiomqtt.Client("127.0.0.1", mosquitto.port, username="n1", identifier="n1") as lane:
                    await lane.publish(
                        topics.up("n1", topics.PASSES), control_hit(1, "粤B77777").model_dump_json(), qos=1
                    )

                async def control_alert() -> aiomqtt.Message:
                    # (the lane never said it is online, so a lane-offline alert may come too)
                    async for msg in consumer.messages:
                        if str(msg.topic).endswith("/control_hit"):
                            return msg
                    raise AssertionError("subscription ended")

                msg = await asyncio.wait_for(control_alert(), 15)
                assert str(msg.topic) == f"{topics.ROOT}/alerts/control_hit" and msg.qos == 1 and not msg.retain
                alert = json.loads(msg.payload)
                assert alert["kind"] == "control_hit" and alert["subject"] == "粤B77777"
                assert "BK9" in alert["message"] and alert["source"] == "n1-L1-1"

            def answers() -> list[int]:
                return [status for status, body in hook.received if body["id"] == alert["id"]]

            await eventually(lambda: answers() == [503, 204], 15, what="the webhook's refused delivery and its retry")
            assert hook.received[0][1] == alert  # the first alert raised was the one refused, then retried

            def recorded() -> list[tuple[str, str]]:
                with server.central.sessions() as s:
                    return [
                        (a.action, a.detail["outlet"])
                        for a in s.scalars(
                            select(AuditRow)
                            .where(AuditRow.target == f"alert:{alert['id']}", AuditRow.action.like("alert.deliver%"))
                            .order_by(AuditRow.seq)
                        )
                    ]

            want = [("alert.delivery_failed", hook.url), ("alert.delivered", hook.url)]
            await eventually(lambda: recorded() == want, 5, what=f"the delivery record {want}")
        finally:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
