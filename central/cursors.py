"""Rows of `projection_cursors`: how far a reader of an append-only table (the passes projection, an
alert outlet) has got. Several central workers may share one database (`--share-group`), so a
cursor is read *held*: the second worker's round waits for the first's commit and starts where it
ended, instead of doing the same rows again or both inserting the first row."""

from __future__ import annotations

from typing import Any, cast

from sqlalchemy import CursorResult, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.orm import Session

from kakou.central.tables import CursorRow


def held(s: Session, name: str, first: int = 0) -> CursorRow:
    """Cursor `name`, locked until `s` ends (created at `first` if it is new)."""
    # A no-op UPDATE takes the row lock (PostgreSQL) or the write lock (SQLite) before the read.
    touch = update(CursorRow).where(CursorRow.name == name).values(position=CursorRow.position)
    while not cast("CursorResult[Any]", s.execute(touch)).rowcount:
        insert = pg_insert if s.get_bind().dialect.name == "postgresql" else sqlite_insert
        s.execute(insert(CursorRow.__table__).values(name=name, position=first).on_conflict_do_nothing())
    cur = s.get(CursorRow, name, populate_existing=True)
    assert cur is not None
    return cur
