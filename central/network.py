"""Network management at central: what each node sent and was sent, and a node's full resync."""

from __future__ import annotations

from datetime import UTC, datetime

from pydantic import BaseModel
from sqlalchemy import insert, select

from kakou.central import changelog
from kakou.central.db import where_given
from kakou.central.service import Central
from kakou.central.tables_sync import NetworkMessageRow, NodeRow
from kakou.sync import topics
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


def list_messages(
    c: Central, node: str | None = None, since: datetime | None = None, direction: str | None = None, limit: int = 500
) -> list[NetworkMessage]:
    with c.sessions() as s:
        q = where_given(
            select(NetworkMessageRow), (NetworkMessageRow.node, node), (NetworkMessageRow.direction, direction)
        )
        if since:
            q = q.where(NetworkMessageRow.at >= since)
        rows = list(s.scalars(q.order_by(NetworkMessageRow.id).limit(limit)))
        versions = {n.node: n.knowledge_streams or {"*": n.knowledge_version} for n in s.scalars(select(NodeRow))}
    out = []
    for r in rows:
        status = r.status
        if (
            r.direction == "down"
            and status == "sent"
            and r.version is not None
            and versions.get(r.node, {}).get(r.stream or "*", 0) >= r.version
        ):
            status = "acknowledged"
        out.append(
            NetworkMessage(
                at=r.at,
                node=r.node,
                direction=r.direction,
                kind=r.kind,
                seq=r.seq,
                version=r.version,
                status=status,
                detail=r.detail,
            )
        )
    return out


def answer_sync_request(
    c: Central, node: str, positions: dict[str, int], snapshot_after: int = SNAPSHOT_AFTER
) -> list[ChangeBatch]:
    """What a node gets for its positions: per stream it follows and is behind in, the log after its
    position, or a snapshot of the stream if it is more than `snapshot_after` behind.

    Only the node's own streams (changelog.streams_of: central decides, from the lane registrations)
    are answered, whatever it asks for: the answer goes to its own topic. A stream it did not name
    counts from 0, so a node added to a site gets that site's state on its next request.
    """
    heads = changelog.stream_heads(c)
    follows = changelog.streams_of(c, node)
    # A stream the node holds but no longer follows (its lanes moved to another site): tell it to
    # drop it, so it never releases a truck on another site's orders.
    out = [
        ChangeBatch(
            after_version=0,
            to_version=have,
            issued_at=datetime.now(UTC),
            changes=[],
            snapshot=True,
            stream=stream,
            retired=True,
        )
        for stream, have in positions.items()
        if stream not in follows and _valid(stream)
    ]
    for stream in follows:
        have, latest = positions.get(stream, 0), heads.get(stream, 0)
        if have >= latest:
            continue  # up to date (or ahead: central restored from a backup; nothing to send)
        if latest - have > snapshot_after:
            out.append(changelog.snapshot(c, stream))
        else:
            out.append(changelog.changes_after(c, have, stream=stream))
    return out


def _valid(stream: str) -> bool:
    try:
        topics.check_stream(stream)
    except ValueError:
        return False
    return True


def full_resync(c: Central, node: str) -> list[ChangeBatch]:
    """A manual full resync: a snapshot of every stream the node follows; it replaces its cache with them."""
    heads = changelog.stream_heads(c)
    return [changelog.snapshot(c, stream) for stream in changelog.streams_of(c, node) if heads.get(stream)]


def record_sent(c: Central, node: str, batch: ChangeBatch) -> None:
    if not batch.changes and not batch.snapshot:
        return  # "nothing new" answers are not worth a row
    with c.sessions.begin() as s:
        s.execute(
            insert(NetworkMessageRow),
            [
                {
                    "at": datetime.now(UTC),
                    "node": node,
                    "direction": "down",
                    "kind": "snapshot" if batch.snapshot else "changes",
                    "seq": None,
                    "version": batch.to_version,
                    "stream": batch.stream,
                    "status": "sent",
                    "detail": f"{batch.stream}: {len(batch.changes)} change(s) after {batch.after_version}",
                }
            ],
        )
