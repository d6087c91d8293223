"""Alembic migrations build exactly the schema the models describe (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory
from central_helpers import transit_row
from sqlalchemy import select

from kakou.central import migrate
from kakou.central.db import Base
from kakou.central.service import Central
from kakou.central.tables import TransitRow


def test_upgrade_to_head_matches_the_models(central: Central) -> None:
    engine = central.sessions.kw["bind"]
    with engine.begin() as conn:  # start from an empty database
        Base.metadata.drop_all(conn)
    migrate.upgrade(engine.url.render_as_string(hide_password=False))
    with engine.connect() as conn:
        diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
        head = ScriptDirectory.from_config(migrate.alembic_config("sqlite://")).get_current_head()
        assert MigrationContext.configure(conn).get_current_revision() == head
    assert diff == []


def test_timestamps_come_back_as_aware_utc_on_every_database(central: Central) -> None:
    """SQLite keeps no offset: a time stamped +08:00 must still read back as the same instant, in UTC
    (the API publishes it as an RFC 3339 date-time, and comparisons with aware times work)."""
    cst = datetime(2026, 11, 25, 8, 0, tzinfo=timezone(timedelta(hours=8)))
    with central.sessions.begin() as s:
        s.add(transit_row("T1", 1, started_at=cst))
    with central.sessions() as s:
        row = s.get(TransitRow, "T1")
        assert row is not None and row.started_at == cst and row.started_at.tzinfo is not None
        assert row.started_at.utcoffset() == timedelta(0) and row.started_at.hour == 0
        assert (
            s.scalar(
                select(TransitRow.transit_no).where(TransitRow.started_at < datetime(2026, 11, 25, 0, 30, tzinfo=UTC))
            )
            == "T1"
        )
