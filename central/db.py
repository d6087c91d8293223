"""Central's tables (SQLAlchemy 2, typed). SQLite by default, PostgreSQL in production."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, ClassVar

from sqlalchemy import JSON, DateTime, Engine, Float, Integer, String, UniqueConstraint, create_engine, event
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, sessionmaker


def utcnow() -> datetime:
    return datetime.now(UTC)


class Base(DeclarativeBase):
    type_annotation_map: ClassVar = {dict[str, Any]: JSON, list[str]: JSON, datetime: DateTime(timezone=True)}


class ReleaseOrderRow(Base):
    __tablename__ = "release_orders"

    order_no: Mapped[str] = mapped_column(String(40), primary_key=True)
    plate: Mapped[str] = mapped_column(String(16), index=True)
    containers: Mapped[list[str]]
    direction: Mapped[str] = mapped_column(String(3))
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime]
    declared_gross_kg: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(12), default="active")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class ChangeRow(Base):
    """The ordered change log that flows down to the edges; version is the global order."""

    __tablename__ = "changes"

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(24))
    key: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PassRow(Base):
    __tablename__ = "passes"
    __table_args__ = (UniqueConstraint("node", "seq", name="uq_pass_node_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    node: Mapped[str] = mapped_column(String(64))
    seq: Mapped[int]
    pass_id: Mapped[str] = mapped_column(String(64), unique=True)
    lane: Mapped[str] = mapped_column(String(64))
    plate: Mapped[str | None] = mapped_column(String(16), index=True)
    outcome: Mapped[str] = mapped_column(String(12))
    decided_at: Mapped[datetime] = mapped_column(index=True)
    record: Mapped[dict[str, Any]]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class NodeRow(Base):
    """Per-node uplink high-water mark (contiguous seqs stored) and presence."""

    __tablename__ = "nodes"

    node: Mapped[str] = mapped_column(String(64), primary_key=True)
    high_water: Mapped[int] = mapped_column(Integer, default=0)
    online: Mapped[bool] = mapped_column(default=False)
    last_seen: Mapped[datetime | None]
    knowledge_version: Mapped[int] = mapped_column(Integer, default=0)
    duplicates: Mapped[int] = mapped_column(Integer, default=0)  # redeliveries absorbed


def make_engine(url: str) -> Engine:
    engine = create_engine(url, future=True)
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


def make_sessionmaker(engine: Engine) -> sessionmaker:
    return sessionmaker(engine, expire_on_commit=False)


def create_schema(engine: Engine) -> None:
    Base.metadata.create_all(engine)
