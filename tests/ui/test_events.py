"""Live lane events: what a lane publishes reaches every open screen over SSE, from any thread,
and a screen that stops reading never blocks the lane."""

from __future__ import annotations

import json
import threading
from collections.abc import AsyncIterator
from typing import Any

import httpx
import pytest
from fastapi import FastAPI
from ui_helpers import serving, sse_events

from kakou.edge.events import LaneEvents, events_router
from kakou.edge.ui import mount_ui


@pytest.fixture
async def served() -> AsyncIterator[tuple[str, LaneEvents, dict[str, Any]]]:
    events = LaneEvents()
    status: dict[str, Any] = {
        "node": "n1",
        "online": True,
        "knowledge_age_s": 1.0,
        "lanes": [{"lane": "L1", "state": "idle"}],
    }
    app = FastAPI()
    app.include_router(events_router(events, status=lambda: json.loads(json.dumps(status)), watch_interval=0.05))
    mount_ui(app)
    async with serving(app) as url:
        yield url, events, status
        events.close()


async def test_screen_gets_status_then_published_events_in_order_including_from_threads(served) -> None:
    url, events, status = served
    async with httpx.AsyncClient(timeout=10) as http, http.stream("GET", f"{url}/api/v1/events") as resp:
        assert resp.headers["content-type"].startswith("text/event-stream")
        stream = sse_events(resp)
        first = await anext(stream)
        assert first[0] == "status" and first[1]["online"] is True
        events.publish({"type": "state", "lane": "L1", "state": "collecting"})
        t = threading.Thread(
            target=events.publish, args=({"type": "pass", "lane": "L1", "pass": {"plate": "粤B12345"}},)
        )
        t.start()
        t.join()
        state, passed = await anext(stream), await anext(stream)
        assert (state[0], passed[0]) == ("state", "pass")
        assert passed[1]["pass"]["plate"] == "粤B12345" and state[1]["seq"] < passed[1]["seq"]

        # Ages tick by themselves: not worth a push. The stream checks the status right after
        # each event it forwards, so a wrong push would come straight after this marker.
        status["knowledge_age_s"] = 99.0
        events.publish({"type": "marker"})
        assert (await anext(stream))[0] == "marker"
        # The link dropping is: nobody publishes it, the stream notices it.
        status["online"] = False
        events.put_snapshot("L1", b"\xff\xd8jpeg")
        rest = [await anext(stream), await anext(stream)]
    assert sorted(n for n, _ in rest) == ["snapshot", "status"]
    assert next(d for n, d in rest if n == "status")["online"] is False


async def test_a_screen_that_stops_reading_loses_its_backlog_not_the_lane(served) -> None:
    _url, events, _status = served
    events.max_backlog = 4
    async with events.subscribe() as q:
        for i in range(10):
            events.publish({"type": "state", "lane": "L1", "state": f"s{i}"})  # returns at once, never blocks
        got = [q.get_nowait() for _ in range(q.qsize())]
    assert got[0]["type"] == "resync"
    assert got[-1]["state"] == "s9"
    assert len(got) <= 4


async def test_lane_snapshot_and_screen_are_served(served) -> None:
    url, events, _status = served
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        assert (await http.get("/api/v1/lanes/L1/snapshot.jpg")).status_code == 404
        events.put_snapshot("L1", b"\xff\xd8jpeg")
        resp = await http.get("/api/v1/lanes/L1/snapshot.jpg")
        assert (resp.status_code, resp.headers["content-type"], resp.content) == (200, "image/jpeg", b"\xff\xd8jpeg")
        page = await http.get("/lane")
        assert page.status_code == 200 and 'src="/static/lane.js"' in page.text
        assert (await http.get("/static/kakou-ui.js")).status_code == 200
        texts = await http.get("/static/check-texts.js")  # generated from kakou.sync.checks.TEXTS
        assert texts.status_code == 200 and texts.headers["content-type"].startswith("text/javascript")
        assert '"check.release_order_missing": [' in texts.text and "无核放单：{plate}" in texts.text
        assert 'src="/static/check-texts.js"' in page.text
        assert (await http.get("/", follow_redirects=False)).headers["location"] == "/lane"


def test_publish_rejects_an_event_without_a_type() -> None:
    with pytest.raises(ValueError, match="type"):
        LaneEvents().publish({"lane": "L1"})
