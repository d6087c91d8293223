"""A read cache for the hottest GET endpoints (pass list, release-order list and detail).

A pure ASGI layer in front of the routes: the encoded 200 answer is kept under (user, role, path,
query) together with the *stamp* read before the request went to the database. An entry is served
only while the stamp is unchanged. The stamp has two parts:

- the change counters of the tables the answer is read from (`hot_reads.READS`): every
  transaction on this process's engine that wrote bumps the counter of each table it wrote when
  its connection goes back to the pool, i.e. after the commit, before the writer answers. A write
  the hook cannot attribute to a table (DDL, a statement it does not parse, a bump without
  tables) bumps the counter every answer depends on. So a pass makes the pass lists stale, not
  the release orders it did not touch. A read that started before the bump carries the older
  number and is never served again; a read that starts after it sees the committed data. The API
  processes of one `kakou central serve --workers N` share the counters (shared memory created by
  the primary). So a write made through the API or the MQTT bridge is seen by the very next
  read, in any process;
- the database's own version, for writers outside that group (the `kakou central` CLI, another
  host, an operator with psql): PostgreSQL's current snapshot (any commit anywhere on the server
  changes it), SQLite's `PRAGMA data_version`. It is read again by the first request after
  `POLL_S`; an entry is served only while that reading is at most `CONFIRMED_S` old, which bounds
  how long such a write can go unseen (and a database that does not answer turns the cache off).

Entries do not otherwise expire: an answer stays good as long as nothing was written, however
long that is (least recently used entries go when the cache is full). On a miss the read goes
straight to its function in `hot_reads` when the request is one the route would answer with it,
else through the route.

The token is checked before anything is served (the same check as the routes'), so a logged-out
token is refused even when its answer is cached, and one user never gets another's entry.
"""

from __future__ import annotations

import asyncio
import logging
import sqlite3
import threading
import time
import zlib
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import Engine
from starlette.concurrency import run_in_threadpool
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kakou.central import auth, hot_reads
from kakou.central.db import WROTE, written_table
from kakou.central.service import Central, NotFound

log = logging.getLogger(__name__)

POLL_S = 0.5  # how often the database's version is read again (by the first request after this)
CONFIRMED_S = 2.0  # serve an entry only while the database was seen unchanged this recently
MAX_BYTES = 32 * 1024 * 1024  # per process; least recently used entries go first
HIT = (b"x-cache", b"hit")  # tells a client (the bench, a test) the answer came from the cache
_READS = ("SELECT", "SHOW", "SET ", "BEGIN", "COMMIT", "ROLLBACK", "SAVEPOINT", "RELEASE", "PRAGMA", "EXPLAIN")


SLOTS = 64  # change counters: slot 0 for writes to no table in particular, tables hashed over the rest


def shared_counters(ctx: Any) -> Any:
    """What the API processes of one serve share (`ctx`: a multiprocessing context): the read
    cache's hits and misses (for `GET /api/v1/health`) and the change counters."""
    return ctx.Array("Q", 2 + SLOTS)


def slot(table: str | None) -> int:
    """The change counter of `table`; None (a write to no table in particular) is slot 0. Two tables
    may share a slot: a write to one then also makes the other's answers stale, never the reverse."""
    return 0 if table is None else 1 + zlib.crc32(table.encode()) % (SLOTS - 1)


class ChangeCounter:
    """Counts committed writes per table, and the cache's hits and misses; shared across processes
    when given `shared_counters()`."""

    def __init__(self, shared: Any = None) -> None:
        self.shared = shared
        self._lock = threading.Lock()
        self._cells = shared.get_obj() if shared is not None else [0] * (2 + SLOTS)

    def stamp(self, tables: tuple[str, ...]) -> tuple[int, ...]:
        """The counters an answer read from `tables` depends on (slot 0 always)."""
        return tuple(int(self._cells[2 + k]) for k in (0, *(slot(t) for t in tables)))

    @property
    def value(self) -> int:
        """All writes so far (any table)."""
        return sum(int(self._cells[2 + k]) for k in range(SLOTS))

    def bump(self, tables: set[str | None] | None = None) -> None:
        """A write committed to `tables` (None: to anything, every answer is stale)."""
        with self.shared.get_lock() if self.shared is not None else self._lock:
            for k in {slot(t) for t in (tables or {None})}:
                self._cells[2 + k] += 1

    def count(self, hit: bool) -> None:
        # Statistics: counted without the lock (a rare lost count is fine).
        self._cells[0 if hit else 1] += 1

    def stats(self) -> dict[str, int]:
        return {"hits": int(self._cells[0]), "misses": int(self._cells[1])}


def watch_writes(engine: Engine, counter: ChangeCounter) -> None:
    """Bump `counter` for every table written by a transaction on `engine` (and engines derived
    from it) after it ends. Not every commit: a housekeeping round that finds nothing to do
    commits too, and would empty the cache every time. A write on the driver's own cursor, which
    this hook does not see, says so with `db.mark_written` (the PostgreSQL pass ingest does)."""

    @event.listens_for(engine, "after_cursor_execute")
    def _mark(conn: Any, _cursor: Any, statement: str, *_: Any) -> None:
        if not statement.lstrip()[:9].upper().startswith(_READS):
            conn.info.setdefault(WROTE, set()).add(written_table(statement))

    @event.listens_for(engine, "checkin")
    def _returned(_dbapi: Any, record: Any) -> None:  # after commit or rollback: the write is visible
        if record is not None and (tables := record.info.pop(WROTE, None)):
            counter.bump(tables)


class DatabaseVersion:
    """A value that changes whenever any program commits a write to the database."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self._sqlite: sqlite3.Connection | None = None

    def read(self) -> str:
        if self.engine.dialect.name == "postgresql":
            # xmin:xmax:in-progress list. A commit either ends a transaction the last reading
            # listed as in progress or one that started after it (xmax moved): it always changes.
            with self.engine.connect() as conn:
                return str(conn.exec_driver_sql("SELECT pg_current_snapshot()::text").scalar())
        path = self.engine.url.database
        if not path or path == ":memory:":
            return ""  # a private in-memory database: no other program can write to it
        if self._sqlite is None:  # data_version compares commits by *other* connections: keep one
            self._sqlite = sqlite3.connect(path, check_same_thread=False)
        return str(self._sqlite.execute("PRAGMA data_version").fetchone()[0])


@dataclass
class _Entry:
    stamp: tuple[int, ...]
    headers: list[tuple[bytes, bytes]]
    body: bytes


@dataclass
class _Flight:
    """A read under way to the database; identical requests after the same last write wait for it."""

    stamp: tuple[int, ...]
    done: asyncio.Event = field(default_factory=asyncio.Event)
    entry: _Entry | None = None


async def _send(entry: _Entry, send: Send) -> None:
    await send({"type": "http.response.start", "status": 200, "headers": entry.headers})
    await send({"type": "http.response.body", "body": entry.body})


class ReadCache:
    """ASGI middleware: see the module docstring."""

    def __init__(
        self,
        app: ASGIApp,
        central: Central,
        counter: ChangeCounter,
        max_bytes: int = MAX_BYTES,
        poll_s: float = POLL_S,
        confirmed_s: float = CONFIRMED_S,
        hot: Callable[[str, bytes], Callable[[Central], bytes] | None] = hot_reads.match,
    ) -> None:
        self.app, self.central, self.counter, self.hot = app, central, counter, hot
        self.max_bytes, self.poll_s, self.confirmed_s = max_bytes, poll_s, confirmed_s
        self.entries: OrderedDict[tuple[Any, ...], _Entry] = OrderedDict()
        self.size = 0
        self.pending: dict[tuple[Any, ...], _Flight] = {}  # reads under way
        self.version = DatabaseVersion(central.sessions.kw["bind"])
        self.epoch = 0  # bumped when the database's version changes
        self._version_seen: str | None = None
        self._confirmed_at = -float("inf")  # monotonic time the last reading was asked for
        self._polling: asyncio.Future[None] | None = None

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        # The cached endpoints (hot_reads.READS): each answer depends only on the stored data,
        # the path and the query.
        tables = hot_reads.tables_of(scope["path"]) if scope["type"] == "http" and scope["method"] == "GET" else ()
        if not tables:
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
        if time.monotonic() - self._confirmed_at >= self.poll_s:
            # Due: read the database's version again; requests arriving meanwhile wait for the
            # same reading, so that they all carry the same stamp.
            if self._polling is None or self._polling.done():
                self._polling = asyncio.ensure_future(self._poll())
            await asyncio.shield(self._polling)
        key = (who.username, who.role, scope["path"], scope["query_string"])
        # Before the read: a write after this makes it stale.
        stamp = (*self.counter.stamp(tables), self.epoch)
        if await self._serve(key, stamp, send):
            return
        leader = self.pending.get(key)
        if leader is not None and leader.stamp == stamp:
            # The same read is on its way to the database for a request that came in after the
            # same last write: wait for its answer instead of asking again (a burst of identical
            # requests, e.g. every console refreshing the pass list after a new pass, costs one).
            await leader.done.wait()
            if leader.entry is not None:
                self.counter.count(hit=True)
                return await _send(leader.entry, send)
        self.counter.count(hit=False)
        flight = _Flight(stamp)
        self.pending[key] = flight
        try:
            flight.entry = await self._fetch(key, stamp, scope, receive, send)
        finally:
            flight.done.set()
            if self.pending.get(key) is flight:
                del self.pending[key]

    async def _poll(self) -> None:
        asked = time.monotonic()
        try:
            version = await run_in_threadpool(self.version.read)
        except Exception as exc:  # the database is away: entries stop being served after confirmed_s
            log.warning("read cache: cannot read the database's version: %s", exc)
            return
        if version != self._version_seen:
            self._version_seen = version
            self.epoch += 1
        self._confirmed_at = asked

    async def _serve(self, key: tuple[Any, ...], stamp: tuple[int, ...], send: Send) -> bool:
        entry = self.entries.get(key)
        if entry is None or entry.stamp != stamp or time.monotonic() - self._confirmed_at > self.confirmed_s:
            return False
        self.entries.move_to_end(key)
        self.counter.count(hit=True)
        await _send(entry, send)
        return True

    async def _fetch(
        self, key: tuple[Any, ...], stamp: tuple[int, ...], scope: Scope, receive: Receive, send: Send
    ) -> _Entry | None:
        read = self.hot(scope["path"], scope["query_string"])
        if read is not None:
            try:
                body = await run_in_threadpool(read, self.central)
            except NotFound:
                pass  # the route answers the 404
            else:
                headers = [(b"content-length", str(len(body)).encode()), (b"content-type", b"application/json")]
                entry = self._store(key, _Entry(stamp, [*headers, HIT], body))
                await _send(_Entry(stamp, headers, body), send)
                return entry
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
        return self._store(key, _Entry(stamp, [*headers, HIT], b"".join(chunks)))

    def _store(self, key: tuple[Any, ...], entry: _Entry) -> _Entry:
        old = self.entries.pop(key, None)
        if old is not None:
            self.size -= len(old.body)
        if len(entry.body) > self.max_bytes // 8:
            return entry  # one huge page would push out everything else
        self.entries[key] = entry
        self.size += len(entry.body)
        while self.size > self.max_bytes:
            _, gone = self.entries.popitem(last=False)
            self.size -= len(gone.body)
        return entry


def _bearer(scope: Scope) -> str | None:
    for name, value in scope["headers"]:
        if name == b"authorization":
            scheme, _, cred = value.decode("latin-1").partition(" ")
            return cred.strip() or None if scheme.lower() == "bearer" else None
    return None


def install(app: Any, central: Central, shared: Any = None) -> ReadCache:
    """The read cache in front of `app` (serve the returned ASGI app); `shared`: the
    `shared_counters()` of the API processes of one serve, else counters of its own."""
    counter = ChangeCounter(shared)
    watch_writes(central.sessions.kw["bind"], counter)
    cache = ReadCache(app, central, counter)
    app.state.read_cache_counter = cache.counter  # the primary bumps it too; health reports its stats
    return cache
