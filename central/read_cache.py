"""A read cache for the hottest GET endpoints (pass list, release-order list and detail).

A pure ASGI layer in front of the routes: the encoded 200 answer is kept under (user, role, path,
query) together with the *change counter* read before the request went to the route. An entry is
served only while the counter is unchanged, so a write makes every entry stale at once:

- every transaction on this process's engine that ran anything but a read bumps the counter when
  its connection goes back to the pool, i.e. after the commit, before the writer answers. A read
  that started before the bump carries the older number and is never served again; a read that
  starts after it sees the committed data. So within a process a write is visible to the next read;
- the API processes of one `kakou central serve --workers N` share the counter (shared memory
  created by the primary), so the same holds across them;
- writers outside that group (the `kakou central` CLI on the same database, another host) are
  not seen: an entry is also dropped `MAX_AGE_S` after it was read, which bounds that staleness.

The token is checked before anything is served (the same check as the routes'), so a logged-out
token is refused even when its answer is cached, and one user never gets another's entry.
"""

from __future__ import annotations

import asyncio
import re
import threading
import time
from collections import OrderedDict
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kakou.central import auth
from kakou.central.service import Central

MAX_AGE_S = 5.0  # bound on staleness for writes made outside this serve's processes
MAX_BYTES = 32 * 1024 * 1024  # per process; least recently used entries go first
# The cached endpoints: each answer depends only on the stored data, the path and the query.
CACHED = re.compile(r"/api/v1/(passes|release-orders|release-orders/[^/]+)")
_READS = ("SELECT", "SHOW", "SET ", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA", "EXPLAIN")


class ChangeCounter:
    """Counts committed writes; shared across processes when given a multiprocessing Value('Q')."""

    def __init__(self, shared: Any = None) -> None:
        self.shared = shared
        self._local = 0
        self._lock = threading.Lock()

    @property
    def value(self) -> int:
        return int(self.shared.value) if self.shared is not None else self._local

    def bump(self) -> None:
        if self.shared is not None:
            with self.shared.get_lock():
                self.shared.value += 1
        else:
            with self._lock:
                self._local += 1


def watch_writes(engine: Engine, counter: ChangeCounter) -> None:
    """Bump `counter` after every transaction on `engine` (and engines derived from it) that wrote."""

    @event.listens_for(engine, "after_cursor_execute")
    def _mark(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.lstrip()[:9].upper().startswith(_READS):
            conn.info["kakou_wrote"] = True

    @event.listens_for(engine, "commit")
    def _committing(conn: Any) -> None:
        # A committed transaction wrote, even through the driver's own cursor (the PostgreSQL pass
        # ingest does), which the statement hook above does not see. Reads commit nothing: they
        # run in autocommit (Central.read) or end with a rollback.
        if conn.get_execution_options().get("isolation_level") != "AUTOCOMMIT":
            conn.info["kakou_wrote"] = True

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi: Any, record: Any) -> None:  # after commit or rollback: the write is visible
        if record is not None and record.info.pop("kakou_wrote", False):
            counter.bump()


@dataclass
class _Entry:
    counter: int
    until: float  # monotonic
    headers: list[tuple[bytes, bytes]]
    body: bytes


@dataclass
class _Flight:
    """A read under way to the route; identical requests after the same last write wait for it."""

    counter: int
    done: asyncio.Event = field(default_factory=asyncio.Event)
    entry: _Entry | None = None


async def _send(entry: _Entry, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": entry.headers})
    await send({"type": "http.response.body", "body": entry.body})


class ReadCache:
    """ASGI middleware: see the module docstring."""

    def __init__(self, app: ASGIApp, central: Central, counter: ChangeCounter, max_bytes: int = MAX_BYTES,
                 max_age_s: float = MAX_AGE_S) -> None:
        self.app, self.central, self.counter = app, central, counter
        self.max_bytes, self.max_age_s = max_bytes, max_age_s
        self.entries: OrderedDict[tuple[Any, ...], _Entry] = OrderedDict()
        self.size = 0
        self.hits = self.misses = 0
        self.pending: dict[tuple[Any, ...], _Flight] = {}  # reads under way

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] != "GET" or not CACHED.fullmatch(scope["path"]):
            return await self.app(scope, receive, send)
        token = _bearer(scope)
        if token is None:
            return await self.app(scope, receive, send)  # the route answers 401
        who = auth.cached(self.central, token)
        if who is None:
            try:
                who = await run_in_threadpool(auth.authenticate, self.central, token)
            except auth.AuthError:
                return await self.app(scope, receive, send)  # the route answers 401
        key = (who.username, who.role, scope["path"], scope["query_string"])
        seen = self.counter.value  # before the route reads: a write after this makes the entry stale
        if await self._serve(key, seen, send):
            return
        leader = self.pending.get(key)
        if leader is not None and leader.counter == seen:
            # The same read is on its way to the database for a request that came in after the
            # same last write: wait for its answer instead of asking again (a burst of identical
            # requests, e.g. every console refreshing the pass list after a new pass, costs one).
            await leader.done.wait()
            if leader.entry is not None:
                self.hits += 1
                return await _send(leader.entry, send)
        self.misses += 1
        flight = _Flight(seen)
        self.pending[key] = flight
        try:
            flight.entry = await self._fetch(key, seen, scope, receive, send)
        finally:
            flight.done.set()
            if self.pending.get(key) is flight:
                del self.pending[key]

    async def _serve(self, key: tuple[Any, ...], seen: int, send: Send) -> bool:
        entry = self.entries.get(key)
        if entry is None or entry.counter != seen or time.monotonic() >= entry.until:
            return False
        self.entries.move_to_end(key)
        self.hits += 1
        await _send(entry, send)
        return True

    async def _fetch(self, key: tuple[Any, ...], seen: int, scope: Scope, receive: Receive,
                     send: Send) -> _Entry | None:
        now = time.monotonic()
        status, headers, chunks = 0, [], []

        async def keep(message: Message) -> None:
            nonlocal status, headers
            if message["type"] == "http.response.start":
                status, headers = message["status"], list(message.get("headers", []))
            elif message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
            await send(message)

        await self.app(scope, receive, keep)
        if status != 200:
            return None
        # x-cache: hit tells a client (the bench, a test) the answer came from here
        entry = _Entry(seen, now + self.max_age_s, [*headers, (b"x-cache", b"hit")], b"".join(chunks))
        self._store(key, entry)
        return entry

    def _store(self, key: tuple[Any, ...], entry: _Entry) -> None:
        old = self.entries.pop(key, None)
        if old is not None:
            self.size -= len(old.body)
        if len(entry.body) > self.max_bytes // 8:
            return  # one huge page would push out everything else
        self.entries[key] = entry
        self.size += len(entry.body)
        while self.size > self.max_bytes:
            _, gone = self.entries.popitem(last=False)
            self.size -= len(gone.body)


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, cred = value.decode("latin-1").partition(" ")
            return cred.strip() or None if scheme.lower() == "bearer" else None
    return None


def install(app: Any, central: Central, shared: Any = None) -> ReadCache:
    """The read cache in front of `app` (serve the returned ASGI app); `shared`: a
    multiprocessing Value('Q') the API processes of one serve share, else a counter of its own."""
    counter = ChangeCounter(shared)
    watch_writes(central.sessions.kw["bind"], counter)
    cache = ReadCache(app, central, counter)
    app.state.read_cache = cache
    return cache
