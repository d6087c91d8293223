"""The ordered change log that flows down to the edges (see docs/protocol.md)."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kakou.central.service import Central
from kakou.central.tables_sync import ChangeRow
from kakou.sync.messages import Change, ChangeBatch, ChangeKind

MAX_BATCH = 500


def append_change(s: Session, kind: ChangeKind, key: str, data: dict[str, Any] | None) -> int:
    """Add a change inside the caller's transaction; call `central.notify(version)` after commit."""
    row = ChangeRow(kind=kind.value, key=key, data=data)
    s.add(row)
    s.flush()
    return row.version


def latest_version(c: Central) -> int:
    with c.sessions() as s:
        return s.scalar(select(func.coalesce(func.max(ChangeRow.version), 0))) or 0


def changes_after(c: Central, after_version: int, limit: int = MAX_BATCH) -> ChangeBatch:
    """A contiguous batch (after_version, to_version]; unsigned — the publisher signs it."""
    with c.sessions() as s:
        rows = list(s.scalars(select(ChangeRow).where(ChangeRow.version > after_version)
                              .order_by(ChangeRow.version).limit(limit)))
    changes = [Change(version=r.version, kind=ChangeKind(r.kind), key=r.key, data=r.data) for r in rows]
    return ChangeBatch(after_version=after_version, to_version=changes[-1].version if changes else after_version,
                       issued_at=datetime.now(UTC), changes=changes)


def snapshot(c: Central) -> ChangeBatch:
    """The whole current state (every live key at its latest version) as one unsigned snapshot batch."""
    with c.sessions() as s:
        latest = s.scalar(select(func.coalesce(func.max(ChangeRow.version), 0))) or 0
        last = (select(ChangeRow.kind, ChangeRow.key, func.max(ChangeRow.version).label("version"))
                .where(ChangeRow.version <= latest).group_by(ChangeRow.kind, ChangeRow.key).subquery())
        rows = list(s.scalars(select(ChangeRow).join(last, ChangeRow.version == last.c.version)
                              .order_by(ChangeRow.version)))
    changes = [Change(version=r.version, kind=ChangeKind(r.kind), key=r.key, data=r.data)
               for r in rows if r.data is not None]
    return ChangeBatch(after_version=0, to_version=latest, issued_at=datetime.now(UTC), changes=changes,
                       snapshot=True)
