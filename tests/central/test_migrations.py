"""Alembic migrations build exactly the schema the models describe (SQLite and PostgreSQL)."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from alembic.script import ScriptDirectory

from kakou.central import migrate
from kakou.central.db import Base
from kakou.central.service import Central


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
