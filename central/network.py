"""Network management at central: what each node sent and was sent, and a node's full resync."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import insert, select

from kakou.central import changelog
from kakou.central.service import Central
from kakou.central.tables_sync import NetworkMessageRow, NodeRow
from kakou.sync.messages import ChangeBatch

# An edge further behind than this gets the current state instead of the log.
SNAPSHOT_AFTER = 1000


class NetworkMessage(BaseModel):
    at: datetime
    node: str
    direction: str
    kind: str
    seq: int | None
    version: int | None
    status: str  # up: stored | duplicate | rejected; down: sent | acknowledged (the node reports the version)
    detail: str | None


def list_messages(c: Central, node: str | None = None, since: datetime | None = None,
                  direction: str | None = None, limit: int = 500) -> list[NetworkMessage]:
    with c.sessions() as s:
        q = select(NetworkMessageRow)
        if node:
            q = q.where(NetworkMessageRow.node == node)
        if since:
            q = q.where(NetworkMessageRow.at >= since)
        if direction:
            q = q.where(NetworkMessageRow.direction == direction)
        rows = list(s.scalars(q.order_by(NetworkMessageRow.id).limit(limit)))
        versions = {n.node: n.knowledge_version for n in s.scalars(select(NodeRow))}
    out = []
    for r in rows:
        status = r.status
        if r.direction == "down" and status == "sent" and r.version is not None \
                and versions.get(r.node, -1) >= r.version:
            status = "acknowledged"
        out.append(NetworkMessage(at=r.at, node=r.node, direction=r.direction, kind=r.kind, seq=r.seq,
                                  version=r.version, status=status, detail=r.detail))
    return out


def answer_sync_request(c: Central, node: str, after_version: int, snapshot_after: int = SNAPSHOT_AFTER) -> ChangeBatch:
    """What a node asking for changes after `after_version` gets: the log, or a snapshot if far behind."""
    latest = changelog.latest_version(c)
    if latest - after_version > snapshot_after:
        return changelog.snapshot(c)
    return changelog.changes_after(c, after_version)


def full_resync(c: Central) -> ChangeBatch:
    """A manual full resync: the node replaces its whole cache with the current state."""
    return changelog.snapshot(c)


def record_sent(c: Central, node: str, batch: ChangeBatch) -> None:
    if not batch.changes and not batch.snapshot:
        return  # "nothing new" answers are not worth a row
    with c.sessions.begin() as s:
        s.execute(insert(NetworkMessageRow), [{
            "at": datetime.now(UTC), "node": node, "direction": "down",
            "kind": "snapshot" if batch.snapshot else "changes", "seq": None, "version": batch.to_version,
            "status": "sent", "detail": f"{len(batch.changes)} change(s) after {batch.after_version}"}])
