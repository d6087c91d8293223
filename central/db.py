"""Central's tables (SQLAlchemy 2, typed). SQLite by default, PostgreSQL in production."""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any, ClassVar

from sqlalchemy import (
    JSON,
    DateTime,
    Dialect,
    Engine,
    Select,
    String,
    Table,
    Text,
    TypeDecorator,
    bindparam,
    create_engine,
    event,
    func,
    select,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column, sessionmaker


def utcnow() -> datetime:
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """A timestamp that is always timezone-aware UTC in Python, on every database.

    PostgreSQL keeps the offset (timestamptz); SQLite keeps none and hands back naive values,
    which the API would publish without an offset (not an RFC 3339 date-time) and which do not
    compare with aware ones. So: stored as UTC, read back as UTC."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None or value.tzinfo is not None:
            return value
        return value.replace(tzinfo=UTC)


def aware(t: datetime) -> datetime:
    """`t` with UTC as its zone if it has none: a naive value read back from SQLite is UTC."""
    return t if t.tzinfo else t.replace(tzinfo=UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar = {dict[str, Any]: JSON, list[str]: JSON, datetime: UTCDateTime()}
    if TYPE_CHECKING:  # every mapped class here declares one table (SQLAlchemy types it as any FROM clause)
        __table__: ClassVar[Table]


class ReviewTrail:
    """The four-eyes trail of a record a second officer reviews (kakou.central.reviews stamps it):
    who approved or rejected it, when, and their note. Mixed into each reviewed table (last columns)."""

    reviewed_by: Mapped[str | None] = mapped_column(String(64))
    reviewed_at: Mapped[datetime | None]
    review_note: Mapped[str] = mapped_column(Text, default="")


def make_engine(url: str) -> Engine:
    if url.startswith("sqlite"):
        engine = create_engine(url, future=True)
    else:
        # Enough connections for the API's thread pool (server.API_THREADS) plus the bridge and
        # housekeeping: a request thread waiting for a connection, or an overflow connection opened
        # and closed per request, cost more than the query itself.
        engine = create_engine(url, future=True, pool_size=20, max_overflow=10)
    if engine.dialect.name == "sqlite":

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            # WAL lets the API read while ingest writes; busy_timeout rides out short write locks.
            cur = dbapi_conn.cursor()
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.execute("PRAGMA busy_timeout=5000")
            cur.close()

    return engine


def page(s: Session, q: Select[Any], limit: int, offset: int, *order_by: Any) -> tuple[int, list[Any]]:
    """One page of `q` in `order_by` order, and how many rows `q` has in all (for the API's total)."""
    total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
    return total, list(s.scalars(q.order_by(*order_by).limit(limit).offset(offset)))


def where_given(q: Select[Any], *filters: tuple[Any, str | None]) -> Select[Any]:
    """`q` narrowed by each (column, value) pair to the rows whose column equals the value; a value
    not given (None or empty: a list's query parameter left out) narrows nothing."""
    for column, value in filters:
        if value:
            q = q.where(column == value)
    return q


WROTE = "kakou_wrote"  # on a connection's info: the tables its transaction wrote (read_cache.watch_writes)
_WRITE = re.compile(
    r'\s*(?:INSERT\s+(?:OR\s+\w+\s+)?INTO|UPDATE|DELETE\s+FROM)\s+"?([A-Za-z_][A-Za-z0-9_]*)"?\s', re.IGNORECASE
)


def written_table(statement: str) -> str | None:
    """The table an INSERT, UPDATE or DELETE writes; None for any other statement."""
    m = _WRITE.match(statement)
    return m.group(1).lower() if m else None


def mark_written(s: Session, table: str | None = None) -> None:
    """Tell the read cache this transaction writes `table` (None: no table in particular, every
    cached answer goes stale), for a write SQLAlchemy does not see: a statement run on the
    driver's own cursor. Every statement SQLAlchemy runs is seen without this."""
    s.connection().info.setdefault(WROTE, set()).add(table)


@dataclass(frozen=True)
class PageQuery:
    """The statements of one kind of page, built once (building a select costs more than running
    it on a busy two-core server): the filter values, limit and offset are bind parameters."""

    rows: Select[Any]
    total: Select[Any]
    windowed: bool  # the rows carry the total (`_total`)


def page_query(
    cols: Sequence[Any], filters: Sequence[Any], *order_by: Any, total: Select[Any] | None = None
) -> PageQuery:
    """A page of `cols` (plain values, no ORM objects) where each of `filters` (columns) equals the
    bind parameter of its name, and the statement for how many rows match: `total` when given (a
    cheaper statement giving the same number, with the same bind parameters), else a COUNT. When
    filtered without `total`, the total comes in the same round trip (`count(*) OVER ()`): a
    filtered page is small (an indexed plate), so counting it alongside costs nothing. Unfiltered,
    the window would read the whole table before the first row; the separate statement keeps the
    ordered index scan + LIMIT."""
    where = [col == bindparam(col.key) for col in filters]
    rows = select(*cols).where(*where).order_by(*order_by).limit(bindparam("_limit")).offset(bindparam("_offset"))
    windowed = bool(where) and total is None
    if windowed:
        rows = rows.add_columns(func.count().over().label("_total"))
    count = select(func.count()).select_from(cols[0].table).where(*where)
    return PageQuery(rows, total if total is not None else count, windowed)


def page_dicts(
    s: Session, q: PageQuery, params: dict[str, Any], limit: int, offset: int
) -> tuple[int, list[dict[str, Any]]]:
    """One page of `q` as dicts, and how many rows match in all (for the API's total)."""
    conn = s.connection()
    rows = [dict(r) for r in conn.execute(q.rows, {**params, "_limit": limit, "_offset": offset}).mappings()]
    if not q.windowed:
        return conn.execute(q.total, params).scalar() or 0, rows
    if rows:
        total = rows[0]["_total"]
        for r in rows:
            del r["_total"]
    elif offset:  # past the end: the window had no row to ride on
        total = conn.execute(q.total, params).scalar() or 0
    else:
        total = 0
    return total, rows


def make_sessionmaker(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)


def create_schema(engine: Engine) -> None:
    # Importing the table modules registers their tables on Base.metadata.
    from kakou.central import tables, tables_sync  # noqa: F401

    Base.metadata.create_all(engine)
