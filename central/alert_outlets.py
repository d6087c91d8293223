"""Alerts offered to other systems (issue 7): every raised alert is published on the MQTT topic
`kakou/v1/alerts/{kind}` (QoS 1, not retained, JSON) and POSTed to each configured webhook.

The alerts table is the outbox. Each outlet (MQTT, each webhook URL) keeps a cursor — the id of the
last alert it delivered — in `projection_cursors`, and delivers in id order from there: an outlet
that is down (broker unreachable, webhook refusing) is retried with capped exponential back-off
and catches up when it is back, so nothing is skipped. The first failure of each alert on an
outlet, and the delivery that finally succeeds, are recorded in the audit log. Delivery is at
least once (a crash between delivery and moving the cursor repeats one alert): receivers dedupe on
`id`. Each outlet runs as its own task, so a slow webhook delays neither the others nor ingest.
A new outlet starts at the newest alert: it is offered what is raised from then on.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
import re
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from sqlalchemy import func, select

from kakou.central import audit, cursors
from kakou.central.schemas import AlertMessage
from kakou.central.service import Central
from kakou.central.tables import AlertRow
from kakou.sync import topics

log = logging.getLogger(__name__)

Publish = Callable[[str, str], Awaitable[None]]  # (topic, JSON payload); raises when it cannot


def webhook_url(value: str) -> str:
    """An http(s) URL (argparse type for `kakou central serve --alert-webhook`)."""
    if not re.fullmatch(r"https?://\S+", value):
        raise ValueError(f"not an http(s) URL: {value!r}")
    return value


def topic(kind: str) -> str:
    return f"{topics.ROOT}/alerts/{kind}"


@dataclass
class Outlet:
    name: str  # "mqtt" or the webhook URL
    cursor: str  # its row in projection_cursors
    deliver: Callable[[AlertMessage], Awaitable[None]]
    delivered: int = 0
    failures: int = 0  # failed attempts in all
    attempts: int = 0  # failed attempts at the alert it is stuck on
    last_error: str | None = None
    failing_alert: int | None = None  # the alert it is stuck on, if any
    caught_up: asyncio.Event = field(default_factory=asyncio.Event)  # set when nothing is pending
    wake: asyncio.Event = field(default_factory=asyncio.Event)


def _cursor_name(name: str) -> str:
    # CursorRow names are 32 characters: a URL is represented by a digest of it.
    return "alerts>mqtt" if name == "mqtt" else "alerts>wh:" + hashlib.sha256(name.encode()).hexdigest()[:20]


def start_cursor(c: Central, name: str) -> int:
    """The outlet's position; a new outlet starts at the newest alert."""
    with c.sessions.begin() as s:
        return cursors.held(s, name, first=s.scalar(select(func.max(AlertRow.id))) or 0).position


def pending(c: Central, after: int, limit: int = 100) -> list[AlertMessage]:
    with c.sessions() as s:
        rows = s.scalars(select(AlertRow).where(AlertRow.id > after).order_by(AlertRow.id).limit(limit))
        return [AlertMessage.model_validate(r) for r in rows]


def advance(c: Central, name: str, alert_id: int) -> None:
    with c.sessions.begin() as s:
        row = cursors.held(s, name, first=alert_id)
        row.position = max(row.position, alert_id)


def record(c: Central, action: str, alert_id: int, outlet: str, detail: str) -> None:
    with audit.write(c, "alert-outlets") as w:
        w.audit(action, f"alert:{alert_id}", {"outlet": outlet, "detail": detail[:300]})


class AlertOutlets:
    """Runs one delivery task per outlet; `wake()` (thread-safe) after alerts may have been raised."""

    def __init__(
        self,
        central: Central,
        publish: Publish | None = None,
        webhooks: Sequence[str] = (),
        period: float = 5.0,
        first_backoff: float = 0.5,
        max_backoff: float = 60.0,
        timeout: float = 10.0,
    ) -> None:
        self.central = central
        self.period = period  # also look without being woken (alerts raised by API calls)
        self.first_backoff, self.max_backoff = first_backoff, max_backoff
        self._publish = publish
        import httpx  # here, not at import: the CLI imports this module for `webhook_url`

        self._http = httpx.AsyncClient(timeout=timeout)
        self.outlets: list[Outlet] = []
        if publish is not None:
            self.outlets.append(Outlet("mqtt", _cursor_name("mqtt"), self._to_mqtt))
        for url in dict.fromkeys(webhooks):
            self.outlets.append(Outlet(url, _cursor_name(url), functools.partial(self._to_webhook, url)))
        self._loop: asyncio.AbstractEventLoop | None = None

    def wake(self) -> None:
        if self._loop is not None:
            for o in self.outlets:
                self._loop.call_soon_threadsafe(o.wake.set)

    async def _to_mqtt(self, m: AlertMessage) -> None:
        assert self._publish is not None
        await self._publish(topic(m.kind), m.model_dump_json())

    async def _to_webhook(self, url: str, m: AlertMessage) -> None:
        r = await self._http.post(
            url, content=m.model_dump_json(), headers={"Content-Type": "application/json", "X-Kakou-Alert": str(m.id)}
        )
        if not 200 <= r.status_code < 300:
            raise RuntimeError(f"HTTP {r.status_code}: {r.text[:120]}")

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        try:
            await asyncio.gather(*(self._run(o) for o in self.outlets))
        finally:
            await self._http.aclose()

    async def _run(self, o: Outlet) -> None:
        position: int | None = None
        backoff = self.first_backoff
        while True:
            o.wake.clear()
            try:
                if position is None:  # inside the retry: a database that is not there yet must not end central
                    position = await asyncio.to_thread(start_cursor, self.central, o.cursor)
                position = await self._drain(o, position)
            except Exception as exc:  # any delivery failure: the alert stays pending and is retried
                o.failures += 1
                o.attempts += 1
                o.last_error = f"{type(exc).__name__}: {exc}"[:300]
                log.warning(
                    "alert outlet %s: delivery of alert %s failed (retry in %.1fs): %s",
                    o.name,
                    o.failing_alert,
                    backoff,
                    o.last_error,
                )
                # Back-off is a deadline: new alerts do not cut a retry wait short.
                await asyncio.sleep(backoff)
                backoff = min(backoff * 2, self.max_backoff)
                continue
            backoff = self.first_backoff
            o.caught_up.set()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(o.wake.wait(), self.period)

    async def _drain(self, o: Outlet, position: int) -> int:
        while batch := await asyncio.to_thread(pending, self.central, position):
            o.caught_up.clear()
            for m in batch:
                first_try = o.failing_alert != m.id
                o.failing_alert = m.id
                try:
                    t0 = time.perf_counter()
                    await o.deliver(m)
                except Exception as exc:
                    if first_try:  # recorded once per alert and outlet, however long it stays down
                        await asyncio.to_thread(
                            record, self.central, "alert.delivery_failed", m.id, o.name, f"{type(exc).__name__}: {exc}"
                        )
                    raise
                if not first_try:
                    await asyncio.to_thread(
                        record, self.central, "alert.delivered", m.id, o.name, f"after {o.attempts} failed attempt(s)"
                    )
                o.failing_alert, o.attempts, o.delivered = None, 0, o.delivered + 1
                log.debug("alert %s → %s in %.0f ms", m.id, o.name, (time.perf_counter() - t0) * 1000)
                position = m.id
                await asyncio.to_thread(advance, self.central, o.cursor, position)
        return position
