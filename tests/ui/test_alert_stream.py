"""The field page's live alert stream and disposal photos, over real HTTP against central's app
(SQLite, uvicorn on a real socket): ticket auth, routing filter, pushes, end of stream."""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from argon2 import PasswordHasher
from ui_helpers import serving, sse_events

from kakou.central import alerts, audit, auth
from kakou.central.api import create_app
from kakou.central.db import create_schema, make_engine, make_sessionmaker
from kakou.central.images import ImageStore
from kakou.central.routes import live
from kakou.central.service import Central
from kakou.sim.render import encode_jpeg, render_plate_scene

PASSWORD = "stream-test-password-1"


@pytest.fixture
async def served(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[tuple[str, Central, Any]]:
    monkeypatch.setattr(auth, "_hasher", PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1))
    monkeypatch.setattr(live, "RECHECK_S", 0.5)
    engine = make_engine(f"sqlite:///{tmp_path / 'central.db'}")
    create_schema(engine)
    central = Central(make_sessionmaker(engine))
    for name, role in (("fred", auth.Role.FIELD_STAFF), ("olga", auth.Role.CENTRAL_OFFICER)):
        auth.add_user(central, "setup", name, role, PASSWORD)
    app = create_app(central)
    app.state.images = ImageStore(tmp_path)
    async with serving(app) as url:
        yield url, central, app
        live.close_streams(app)
    alerts.CHANGED.clear()
    engine.dispose()


async def _login(http: httpx.AsyncClient, user: str) -> dict[str, str]:
    resp = await http.post("/api/v1/auth/login", json={"username": user, "password": PASSWORD})
    return {"Authorization": f"Bearer {resp.json()['access_token']}"}


async def _ticket(http: httpx.AsyncClient, headers: dict[str, str]) -> str:
    resp = await http.post("/api/v1/alerts/stream-ticket", headers=headers)
    assert resp.status_code == 200, resp.text
    return str(resp.json()["ticket"])


def _raise(central: Central, kind: str, subject: str, key: str) -> int:
    with audit.write(central, "system") as w:
        row = alerts.raise_alert(w, kind, subject, f"{kind} on {subject}", key)
        assert row is not None
        return row.id


@contextlib.asynccontextmanager
async def _alert_stream(http: httpx.AsyncClient, headers: dict[str, str]) -> AsyncIterator[Any]:
    """The logged-in caller's alert stream, its hello already read."""
    async with http.stream("GET", "/api/v1/alerts/stream", params={"ticket": await _ticket(http, headers)}) as resp:
        stream = sse_events(resp)
        assert (await anext(stream))[0] == "hello"
        yield stream


async def test_stream_needs_a_fresh_single_use_ticket(served) -> None:
    url, _central, _app = served
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        assert (await http.post("/api/v1/alerts/stream-ticket")).status_code == 401  # no login, no ticket
        bad = await http.get("/api/v1/alerts/stream", params={"ticket": "not-a-ticket"})
        assert bad.status_code == 401 and bad.headers["content-type"] == "application/problem+json"
        assert "stream-ticket" in bad.json()["title"]
        ticket = await _ticket(http, await _login(http, "fred"))
        async with http.stream("GET", "/api/v1/alerts/stream", params={"ticket": ticket}) as resp:
            assert resp.headers["content-type"].startswith("text/event-stream")
            name, hello = await anext(sse_events(resp))
            assert (name, hello) == ("hello", {"username": "fred", "role": "field_staff"})
        again = await http.get("/api/v1/alerts/stream", params={"ticket": ticket})
        assert again.status_code == 401  # a ticket works once: a leaked URL is worthless


async def test_stream_pushes_only_the_callers_alerts_new_and_changed_and_ends_at_logout(served) -> None:
    url, central, _app = served
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        fred = await _login(http, "fred")
        olga = await _login(http, "olga")
        async with _alert_stream(http, fred) as stream:
            # Overdue transit goes to central officers; a control hit to field staff.
            _raise(central, "transit_overdue", "T-1", "t:1")
            hit = _raise(central, "control_hit", "京AF12345", "c:1")
            name, ev = await asyncio.wait_for(anext(stream), 5)
            assert name == "alert" and ev["change"] == "new"
            assert (ev["alert"]["id"], ev["alert"]["subject"]) == (hit, "京AF12345")
            ack = await http.post(f"/api/v1/alerts/{hit}/acknowledge", json={"text": "on my way"}, headers=fred)
            assert ack.status_code == 200
            name, ev = await asyncio.wait_for(anext(stream), 5)
            changed = (ev["change"], ev["alert"]["status"], ev["alert"]["acknowledged_by"])
            assert changed == ("changed", "acknowledged", "fred")
            # Logging out ends the stream at the next check of the login.
            assert (await http.post("/api/v1/auth/logout", headers=fred)).status_code == 204
            name, ev = await asyncio.wait_for(anext(stream), 5)
            assert name == "expired"
            with pytest.raises(StopAsyncIteration):
                await asyncio.wait_for(anext(stream), 5)
        # The officer's own stream starts at the newest alert and gets the officer's kinds only.
        async with _alert_stream(http, olga) as stream:
            _raise(central, "control_hit", "沪A00001", "c:2")
            overdue = _raise(central, "transit_overdue", "T-2", "t:2")
            name, ev = await asyncio.wait_for(anext(stream), 5)
            assert ev["alert"]["id"] == overdue


async def test_disposal_photo_is_stored_by_hash_and_shown_in_the_detail(served) -> None:
    url, central, _app = served
    hit = _raise(central, "control_hit", "京AF12345", "c:1")
    photo = encode_jpeg(render_plate_scene("京A12345", seed=1))
    digest = hashlib.sha256(photo).hexdigest()
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        fred = await _login(http, "fred")
        path = f"/api/v1/alerts/{hit}/photos"
        png = await http.post(path, content=b"\x89PNG....", headers={**fred, "Content-Type": "image/png"})
        assert png.status_code == 415
        fake = await http.post(path, content=b"not a jpeg", headers={**fred, "Content-Type": "image/jpeg"})
        assert fake.status_code == 422 and "JPEG" in fake.json()["title"]
        up = await http.post(path, content=photo, headers={**fred, "Content-Type": "image/jpeg"})
        assert up.status_code == 201 and up.json()["sha256"] == digest
        unknown = "ab" * 32
        refused = await http.post(
            f"/api/v1/alerts/{hit}/dispose", headers=fred, json={"disposal": "escorted", "photos": [unknown]}
        )
        assert refused.status_code == 422 and "not uploaded" in refused.json()["title"]
        assert (await http.get(f"/api/v1/alerts/{hit}", headers=fred)).json()["status"] == "open"  # nothing half-done
        done = await http.post(
            f"/api/v1/alerts/{hit}/dispose", headers=fred, json={"disposal": "escorted to bay 3", "photos": [digest]}
        )
        assert done.status_code == 200, done.text
        assert done.json()["notes"][-1]["photos"] == [digest]
        detail = (await http.get(f"/api/v1/alerts/{hit}/detail", headers=fred)).json()
        assert detail["photos"] == [digest] and detail["alert"]["disposal"] == "escorted to bay 3"
        image = await http.get(f"/api/v1/images/{digest}", headers=fred)
        assert image.status_code == 200 and image.content == photo
        late = await http.post(path, content=photo, headers={**fred, "Content-Type": "image/jpeg"})
        assert late.status_code == 409  # disposed of: no more photos


async def test_stopping_central_ends_open_streams(served) -> None:
    url, _central, app = served
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        ticket = await _ticket(http, await _login(http, "fred"))
        async with http.stream("GET", "/api/v1/alerts/stream", params={"ticket": ticket}) as resp:
            stream = sse_events(resp)
            assert (await anext(stream))[0] == "hello"
            live.close_streams(app)
            with pytest.raises(StopAsyncIteration):
                await asyncio.wait_for(anext(stream), 5)
