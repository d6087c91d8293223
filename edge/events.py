"""Live lane events for the lane screen: a small in-process pub/sub and its SSE endpoint.

The lane publishes plain dicts (`LaneEvents.publish`); every open lane screen gets them over
Server-Sent Events (`GET /api/v1/events`). Publishing never blocks and never fails the lane: a
screen that cannot keep up loses its backlog and is told to `resync` (re-read the status), so a
stuck browser can never slow a barrier down.

Besides what the lane publishes, the stream also sends a `status` event whenever the node's
status document changes (link online/offline, knowledge version, lane state, last pass). That
keeps screens correct for facts nobody publishes (the link going offline) and for lanes that do
not publish yet.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import threading
import time
from collections.abc import AsyncIterator, Callable
from typing import Any

from fastapi import APIRouter, HTTPException, Request
from fastapi.responses import Response, StreamingResponse

from kakou.http_server import Keepalive, event_stream, sse

Event = dict[str, Any]
# Fields of the status document that change every second by themselves; not a reason to push.
VOLATILE = frozenset({"knowledge_age_s"})
_CLOSE: Event = {"type": "_close"}


class LaneEvents:
    """Fan-out of lane events to subscribers (asyncio queues on the node's loop).

    `publish` may be called from the node's loop or from any thread (e.g. a recogniser worker).
    """

    def __init__(self, max_backlog: int = 256) -> None:
        self.max_backlog = max(max_backlog, 2)  # room for the resync notice and the event
        self._subs: set[asyncio.Queue[Event]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._lock = threading.Lock()
        self._seq = 0
        self._snapshots: dict[str, tuple[bytes, float]] = {}
        self.closed = False

    @property
    def subscribers(self) -> int:
        return len(self._subs)

    def publish(self, event: Event) -> None:
        """Send `event` (JSON-able dict with a "type" key, and "lane" when it is about one lane)."""
        if "type" not in event:
            raise ValueError("a lane event needs a 'type'")
        with self._lock:
            self._seq += 1
            event = {**event, "seq": self._seq, "at": event.get("at") or time.time()}
        loop = self._loop
        if loop is None or loop.is_closed():
            return  # nobody has ever watched: nothing to deliver
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._fan_out(event)
        else:
            with contextlib.suppress(RuntimeError):  # loop closing: the screens are gone anyway
                loop.call_soon_threadsafe(self._fan_out, event)

    def put_snapshot(self, lane: str, jpeg: bytes) -> None:
        """Keep the lane's latest camera frame for the screen and announce it."""
        at = time.time()
        self._snapshots[lane] = (jpeg, at)
        self.publish({"type": "snapshot", "lane": lane, "at": at})

    def snapshot(self, lane: str) -> tuple[bytes, float] | None:
        return self._snapshots.get(lane)

    def close(self) -> None:
        """End every open stream (node shutdown), so the HTTP server can stop promptly."""
        self.closed = True
        loop = self._loop
        if loop is not None and not loop.is_closed():
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._fan_out, _CLOSE)

    def _fan_out(self, event: Event) -> None:
        for q in list(self._subs):
            if q.full():
                # Drop the backlog rather than block the lane; the screen re-reads the status.
                while not q.empty():
                    q.get_nowait()
                q.put_nowait({"type": "resync", "seq": event.get("seq"), "at": time.time()})
            q.put_nowait(event)

    @contextlib.asynccontextmanager
    async def subscribe(self) -> AsyncIterator[asyncio.Queue[Event]]:
        self._loop = asyncio.get_running_loop()
        q: asyncio.Queue[Event] = asyncio.Queue(self.max_backlog)
        self._subs.add(q)
        try:
            yield q
        finally:
            self._subs.discard(q)


def _stable(status: dict[str, Any]) -> str:
    return json.dumps({k: v for k, v in status.items() if k not in VOLATILE}, sort_keys=True, default=str)


def events_router(
    events: LaneEvents,
    status: Callable[[], dict[str, Any]] | None = None,
    watch_interval: float = 0.25,
    keepalive_s: float = 15.0,
) -> APIRouter:
    """`GET /api/v1/events` (SSE) and `GET /api/v1/lanes/{lane}/snapshot.jpg`.

    `status` is the node's status document (what `GET /api/v1/status` returns); it is sent on
    connect and again whenever it changes.
    """
    router = APIRouter(prefix="/api/v1", tags=["lane screen"])

    @router.get("/events", response_class=StreamingResponse)
    async def stream(request: Request) -> StreamingResponse:
        async def gen() -> AsyncIterator[str]:
            async with events.subscribe() as q:
                yield "retry: 2000\n\n"  # browser reconnects after 2 s if the node restarts
                last = ""
                if status is not None:
                    doc = status()
                    last = _stable(doc)
                    yield sse("status", doc)
                keepalive = Keepalive(keepalive_s)
                while not events.closed:
                    try:
                        ev = await asyncio.wait_for(q.get(), timeout=watch_interval)
                    except TimeoutError:
                        ev = None
                    if ev is not None:
                        if ev is _CLOSE:
                            break
                        yield sse(str(ev["type"]), ev)
                        keepalive.sent()
                    if status is not None:
                        doc = status()
                        now = _stable(doc)
                        if now != last:
                            last = now
                            yield sse("status", doc)
                            keepalive.sent()
                    if keepalive.due():
                        yield Keepalive.comment
                    if await request.is_disconnected():
                        break

        return event_stream(gen())

    @router.get("/lanes/{lane}/snapshot.jpg", response_class=Response)
    def lane_snapshot(lane: str) -> Response:
        found = events.snapshot(lane)
        if found is None:
            raise HTTPException(404, f"no snapshot for lane {lane}")
        jpeg, at = found
        return Response(jpeg, media_type="image/jpeg", headers={"Cache-Control": "no-store", "X-Taken-At": f"{at:.3f}"})

    return router
