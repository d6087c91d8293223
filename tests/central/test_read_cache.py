"""The read cache in front of the pass and release-order reads (central/read_cache.py): a write is
seen by the next read, users never share answers, a logged-out token is refused even when its
answer is cached, and API processes sharing the change counter see each other's writes at once."""

from __future__ import annotations

import asyncio
import multiprocessing
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from central_helpers import PASSWORD, Api, ingest, issue_order
from sqlalchemy import select

from kakou.central import auth, read_cache
from kakou.central.api import create_app
from kakou.central.auth import Role
from kakou.central.db import make_engine, make_sessionmaker, mark_written, written_table
from kakou.central.housekeeping import Housekeeper
from kakou.central.service import Central
from kakou.waiting import eventually


class CachedApi(Api):
    """The test API with the read cache in front, as `kakou central serve` runs it."""

    def __init__(self, central: Central, shared: Any = None, poll_s: float = 3600.0) -> None:
        super().__init__(central)
        # The database's version is read once, at the first request, unless a test asks for more:
        # another commit anywhere on a shared PostgreSQL server (another test's, autovacuum's)
        # would otherwise turn an expected hit into a miss now and then.
        self.cache = read_cache.install(create_app(central), central, shared)
        self.cache.poll_s = self.cache.confirmed_s = poll_s
        self.app = self.cache  # type: ignore[assignment]


def _order(no: str, plate: str = "粤B12345") -> dict[str, object]:
    now = datetime.now(UTC)
    return {
        "order_no": no,
        "plate": plate,
        "direction": "in",
        "valid_from": now.isoformat(),
        "valid_until": (now + timedelta(hours=2)).isoformat(),
    }


def _read(client: Any, path: str) -> tuple[bool, Any]:
    r = client.get(path)
    assert r.status_code == 200, r.text
    return r.headers.get("x-cache") == "hit", r.json()


def test_a_write_is_seen_by_the_next_read_though_the_answer_was_cached(
    central: Central, users: dict[str, Role]
) -> None:
    api = CachedApi(central)
    issue_order(api, _order("HF1"))
    alice = api("alice")
    assert _read(alice, "/api/v1/release-orders/HF1") == (False, _read(alice, "/api/v1/release-orders/HF1")[1])
    hit, order = _read(alice, "/api/v1/release-orders/HF1")
    assert hit and order["order"]["status"] == "active"  # served from the cache
    assert _read(alice, "/api/v1/release-orders?limit=50")[1][0]["status"] == "active"
    # a write through the API: cancel the order
    assert alice.post("/api/v1/release-orders/HF1/cancel", json={"reason": "wrong truck"}).status_code == 200
    hit, order = _read(alice, "/api/v1/release-orders/HF1")
    assert not hit and order["order"]["status"] == "cancelled"
    assert _read(alice, "/api/v1/release-orders?limit=50")[1][0]["status"] == "cancelled"
    # a write that does not come through the API at all: a pass stored by the MQTT bridge's ingest
    before = _read(alice, "/api/v1/passes?plate=粤B12345")[1]
    assert _read(alice, "/api/v1/passes?plate=粤B12345")[0]
    ingest(central, 1, "粤B12345")
    hit, after = _read(alice, "/api/v1/passes?plate=粤B12345")
    assert not hit and after["total"] == before["total"] + 1


def test_a_housekeeping_round_with_nothing_to_do_keeps_the_cached_answers(
    central: Central, users: dict[str, Role]
) -> None:
    # Every round takes the audit chain's lock and commits, also when it finds nothing to derive,
    # expire or flag: were that a write, the cache would be emptied every round for nothing.
    api = CachedApi(central)
    issue_order(api, _order("HF1"))
    keeper = Housekeeper(central)
    keeper.round()
    alice = api("alice")
    _read(alice, "/api/v1/release-orders/HF1")
    assert _read(alice, "/api/v1/release-orders/HF1")[0]
    keeper.round()
    assert _read(alice, "/api/v1/release-orders/HF1")[0]
    passed = ingest(central, 1, "粤B12345", release_order="HF1")  # a pass against the order: a real change
    keeper.round()
    hit, order = _read(alice, "/api/v1/release-orders/HF1")
    assert not hit and [p["pass_id"] for p in order["passes"]] == [passed]


def test_a_write_on_the_drivers_own_cursor_counts_when_marked_and_a_read_never_does(central: Central) -> None:
    counter = read_cache.ChangeCounter()
    read_cache.watch_writes(central.sessions.kw["bind"], counter)
    passes, orders = counter.stamp(("passes",)), counter.stamp(("release_orders",))
    with central.sessions.begin() as s:
        s.execute(select(1))
    assert counter.value == 0
    with central.sessions.begin() as s:  # as the PostgreSQL pass ingest's unnest insert does
        mark_written(s, "passes")
    assert counter.stamp(("passes",)) != passes and counter.stamp(("release_orders",)) == orders
    with central.sessions.begin() as s:  # a write it cannot say the table of: everything is stale
        mark_written(s)
    assert counter.stamp(("release_orders",)) != orders


def test_a_pass_leaves_the_release_orders_it_did_not_touch_cached(central: Central, users: dict[str, Role]) -> None:
    # 200 consoles reading while 40 lanes send passes: a pass must not empty every cached answer.
    api = CachedApi(central)
    issue_order(api, _order("HF1"))
    issue_order(api, _order("HF2", plate="粤B54321"))
    alice = api("alice")
    reads = [
        "/api/v1/release-orders/HF1",
        "/api/v1/release-orders/HF2",
        "/api/v1/release-orders?limit=50",
        "/api/v1/passes?limit=50",
    ]
    for path in reads * 2:
        _read(alice, path)
    ingest(central, 1, "粤B99999")  # a truck without an order
    assert [_read(alice, path)[0] for path in reads] == [True, True, True, False]
    ingest(central, 2, "粤B12345", release_order="HF1")
    Housekeeper(central).round()  # links the pass to HF1 (order_passes) and counts its exit
    hit, order = _read(alice, "/api/v1/release-orders/HF1")
    assert not hit and len(order["passes"]) == 1
    assert not _read(alice, "/api/v1/passes?limit=50")[0]


def test_every_table_written_is_attributed_or_makes_everything_stale() -> None:
    assert written_table("INSERT INTO passes (node, seq) VALUES (?, ?)") == "passes"
    assert written_table('  update "release_orders" SET status=? WHERE order_no=?') == "release_orders"
    assert written_table("DELETE FROM order_passes WHERE order_no = %(n)s") == "order_passes"
    assert written_table("INSERT OR REPLACE INTO nodes VALUES (1)") == "nodes"
    for other in (
        "CREATE INDEX ix ON passes (plate)",
        "WITH x AS (SELECT 1) INSERT INTO passes SELECT * FROM x",
        "COPY passes FROM STDIN",
        "ALTER TABLE passes ADD COLUMN y int",
    ):
        assert written_table(other) is None  # slot 0: every cached answer depends on it


def test_users_never_get_each_others_cached_answers(central: Central, users: dict[str, Role]) -> None:
    api = CachedApi(central)
    issue_order(api, _order("HF1"))
    alice, lena = api("alice"), api("lena")  # both logged in (a login is a write) before the reads
    for _ in range(2):
        _read(alice, "/api/v1/release-orders/HF1")
    assert _read(alice, "/api/v1/release-orders/HF1")[0]
    assert not _read(lena, "/api/v1/release-orders/HF1")[0]  # her own entry, not alice's
    assert _read(lena, "/api/v1/release-orders/HF1")[0]
    assert api.anonymous().get("/api/v1/release-orders/HF1").status_code == 401
    forged = api.anonymous().get("/api/v1/release-orders/HF1", headers={"Authorization": "Bearer not-a-token"})
    assert forged.status_code == 401 and forged.headers["content-type"] == "application/problem+json"


def test_health_reports_the_hits_and_misses_of_every_process_sharing_the_counters(
    central: Central, users: dict[str, Role]
) -> None:
    shared = read_cache.shared_counters(multiprocessing.get_context("spawn"))
    here, there = CachedApi(central, shared), CachedApi(central, shared)  # two API processes' caches
    for api in (here, there):
        for _ in range(3):
            _read(api("alice"), "/api/v1/passes?limit=50")
    assert there.anonymous().get("/api/v1/health").json()["read_cache"] == {"hits": 4, "misses": 2}


def test_a_logged_out_token_is_refused_even_when_its_answer_is_cached(central: Central, users: dict[str, Role]) -> None:
    api = CachedApi(central)
    alice = api("alice")
    _read(alice, "/api/v1/passes?limit=50")
    assert _read(alice, "/api/v1/passes?limit=50")[0]
    assert alice.post("/api/v1/auth/logout").status_code == 204
    r = alice.get("/api/v1/passes?limit=50")
    assert r.status_code == 401 and "x-cache" not in r.headers


def test_processes_sharing_the_change_counter_see_each_others_writes_at_once(
    central: Central, users: dict[str, Role]
) -> None:
    shared = read_cache.shared_counters(multiprocessing.get_context("spawn"))
    url = central.sessions.kw["bind"].url.render_as_string(hide_password=False)
    other_engine = make_engine(url)  # another API process: its own engine, pool and cache
    try:
        here, there = CachedApi(central, shared), CachedApi(Central(make_sessionmaker(other_engine)), shared)
        issue_order(here, _order("HF1"))
        for _ in range(2):
            _read(there("alice"), "/api/v1/release-orders?limit=50")
        assert _read(there("alice"), "/api/v1/release-orders?limit=50")[0]
        issue_order(here, _order("HF2"))  # written through the first process
        hit, listed = _read(there("alice"), "/api/v1/release-orders?limit=50")
        assert not hit and {o["order_no"] for o in listed} == {"HF1", "HF2"}
    finally:
        other_engine.dispose()


def test_a_write_by_another_program_is_seen_once_the_database_version_is_read_again(
    central: Central, users: dict[str, Role]
) -> None:
    url = central.sessions.kw["bind"].url.render_as_string(hide_password=False)
    cli_engine = make_engine(url)  # e.g. the `kakou central` CLI on the same database: no shared counter
    try:
        api = CachedApi(central)
        alice = api("alice")
        _read(alice, "/api/v1/passes?limit=50")
        assert _read(alice, "/api/v1/passes?limit=50")[0]
        ingest(Central(make_sessionmaker(cli_engine)), 1, "粤B00001")
        # not seen yet: the database's version is not read again before poll_s
        assert _read(alice, "/api/v1/passes?limit=50") == (True, {"total": 0, "limit": 50, "offset": 0, "items": []})
        api.cache.poll_s = 0  # the next request reads it again
        hit, page = _read(alice, "/api/v1/passes?limit=50")
        assert not hit and page["total"] == 1
        assert _read(alice, "/api/v1/passes?limit=50")[0]  # nothing written since: cached again
    finally:
        cli_engine.dispose()


def test_nothing_is_served_from_the_cache_while_the_database_version_cannot_be_read(
    central: Central, users: dict[str, Role], monkeypatch: pytest.MonkeyPatch
) -> None:
    api = CachedApi(central)
    alice = api("alice")
    _read(alice, "/api/v1/release-orders?limit=50")
    assert _read(alice, "/api/v1/release-orders?limit=50")[0]

    def unreachable() -> str:
        raise OSError("connection refused")

    monkeypatch.setattr(api.cache.version, "read", unreachable)
    api.cache.poll_s = 0
    later = read_cache.time.monotonic() + api.cache.confirmed_s + 0.1  # the last reading grows too old
    monkeypatch.setattr(read_cache.time, "monotonic", lambda: later)
    assert [_read(alice, "/api/v1/release-orders?limit=50")[0] for _ in range(3)] == [False] * 3


async def test_identical_reads_share_one_trip_to_the_database_unless_a_write_came_between(
    central: Central, users: dict[str, Role]
) -> None:
    token, _, _ = auth.login(central, "alice", PASSWORD)
    auth.authenticate(central, token)  # in the token cache: the layer checks it without a thread hop
    calls, release = 0, asyncio.Event()

    async def route(_scope: Any, _receive: Any, send: Any) -> None:  # stands for the database read
        nonlocal calls
        calls += 1
        mine = calls
        await release.wait()
        await send({"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]})
        await send({"type": "http.response.body", "body": f"[{mine}]".encode()})

    counter = read_cache.ChangeCounter()
    cache = read_cache.ReadCache(
        route, central, counter, poll_s=3600.0, confirmed_s=3600.0, hot=lambda *_: None
    )  # every miss goes to `route`
    scope = {
        "type": "http",
        "method": "GET",
        "path": "/api/v1/release-orders",
        "query_string": b"limit=50",
        "headers": [(b"authorization", f"Bearer {token}".encode())],
    }

    async def get() -> bytes:
        sent: list[Any] = []

        async def send(message: Any) -> None:
            sent.append(message)

        await cache(scope, None, send)  # type: ignore[arg-type]
        return b"".join(m.get("body", b"") for m in sent)

    burst = [asyncio.create_task(get()) for _ in range(5)]
    await eventually(lambda: calls == 1, 5, what="the first read to reach the route")
    counter.bump()  # a write committed: a read arriving now must not take the answer under way
    late = asyncio.create_task(get())
    await eventually(lambda: calls == 2, 5, what="the read after the write to reach the route")
    release.set()
    assert await asyncio.gather(*burst) == [b"[1]"] * 5  # one read answered the whole burst
    assert await late == b"[2]" and calls == 2
