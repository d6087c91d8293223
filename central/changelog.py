"""The ordered change log that flows down to the edges (see docs/protocol.md, "Scopes").

Every change has a scope, its **stream**: "*" (every node), "site:{code}" (the nodes of a site) or
"node:{id}" (one node). `version` orders all changes; `stream_seq` numbers each stream's changes
without gaps, and that is what a node counts, detects gaps in and asks for: a node follows
exactly its streams, so a change of another site never reaches it, not even as a number.
"""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kakou.central.service import Central
from kakou.central.tables import RegistrationRow
from kakou.central.tables_sync import ChangeRow
from kakou.sync import limits, topics
from kakou.sync.messages import Change, ChangeBatch, ChangeKind

MAX_BATCH = 500
BROADCAST = topics.BROADCAST


def append_change(s: Session, kind: ChangeKind, key: str, data: dict[str, Any] | None, scope: str | None = None) -> int:
    """Add a change inside the caller's transaction; call `central.notify(version)` after commit.

    `scope` None: the key keeps the stream of its previous change, else the default (`default_scope`).
    A key that moves to another stream is first withdrawn from the old one, so the nodes that no
    longer see it drop it. Callers hold the audit chain's lock (kakou.central.audit.write), which
    serialises writers: `stream_seq` is the stream's last + 1, and the unique constraint on
    (stream, stream_seq) would refuse a second writer rather than let two changes share a number.
    """
    if kind is ChangeKind.PARAMETERS:
        stream, key = scope or BROADCAST, key
        if scope is None:
            stream, key = parameters_scope(s, key)
    elif kind is ChangeKind.LANE:
        # Lane ids repeat across nodes (every node has an L1): each node's lane is its own key on
        # its own stream, never "moved" from another node's.
        if scope is None or not scope.startswith("node:"):
            raise ValueError("a lane's settings go to its node's stream")
        stream = scope
    else:
        prev = s.scalar(
            select(ChangeRow)
            .where(ChangeRow.kind == kind.value, ChangeRow.key == key)
            .order_by(ChangeRow.version.desc())
            .limit(1)
        )
        stream = scope or (prev.stream if prev is not None else BROADCAST)
        if prev is not None and prev.stream != stream and prev.data is not None:
            _add(s, prev.stream, kind, key, None)
    return _add(s, topics.check_stream(stream), kind, key, data)


def _add(s: Session, stream: str, kind: ChangeKind, key: str, data: dict[str, Any] | None) -> int:
    last = s.scalar(select(func.coalesce(func.max(ChangeRow.stream_seq), 0)).where(ChangeRow.stream == stream))
    row = ChangeRow(stream=stream, stream_seq=(last or 0) + 1, kind=kind.value, key=key, data=data)
    s.add(row)
    s.flush()
    return row.version


def parameters_scope(s: Session, scope: str) -> tuple[str, str]:
    """(stream, key) of a lane parameter set named `scope` (LaneParameters.scope).

    "*" goes to every node. "NODE/LANE" goes to that node only, under the lane id the lane looks up.
    A bare lane id goes to the one node that has a lane registered under it; if none or several
    do, to every node (each lane with that id applies it, as before scoping).
    """
    if scope == BROADCAST:
        return BROADCAST, scope
    if "/" in scope:
        node, lane = scope.split("/", 1)
        return topics.node_stream(node), lane
    nodes = {str(d.get("node")) for d in _lanes(s) if d.get("lane") == scope}
    return (topics.node_stream(nodes.pop()), scope) if len(nodes) == 1 else (BROADCAST, scope)


def _lanes(s: Session) -> list[dict[str, Any]]:
    return [
        r
        for r in s.scalars(
            select(RegistrationRow.data).where(RegistrationRow.kind == "lane", RegistrationRow.deleted.is_(False))
        )
    ]


def site_of_lane(s: Session, lane_key: str) -> str | None:
    """The site of a registered lane "NODE/LANE" (None if it is not registered)."""
    node, _, lane = lane_key.partition("/")
    for d in _lanes(s):
        if d.get("node") == node and d.get("lane") == lane:
            return str(d.get("site"))
    return None


def streams_of(c: Central, node: str) -> list[str]:
    """The streams a node follows: broadcast, the sites of its registered lanes, its own."""
    return streams_of_nodes(c, [node])[node]


def streams_of_nodes(c: Central, nodes: list[str]) -> dict[str, list[str]]:
    with c.sessions() as s:
        lanes = _lanes(s)
    out = {}
    for node in nodes:
        sites = sorted({str(d["site"]) for d in lanes if d.get("node") == node and d.get("site")})
        out[node] = [BROADCAST, *(topics.site_stream(x) for x in sites), topics.node_stream(node)]
    return out


def latest_version(c: Central) -> int:
    """The global version of the newest change (every stream)."""
    with c.sessions() as s:
        return s.scalar(select(func.coalesce(func.max(ChangeRow.version), 0))) or 0


def stream_heads(c: Central) -> dict[str, int]:
    """Every stream's newest position."""
    with c.sessions() as s:
        return {
            st: n
            for st, n in s.execute(select(ChangeRow.stream, func.max(ChangeRow.stream_seq)).group_by(ChangeRow.stream))
        }


def expected_knowledge(c: Central, node: str) -> dict[str, int]:
    """Where a node that is up to date stands in each of its streams (central's view of it); a
    stream without any change yet is at 0 and not listed, as the node does not list it either."""
    return expected_for(c, [node])[node]


def expected_for(c: Central, nodes: list[str]) -> dict[str, dict[str, int]]:
    heads = stream_heads(c)
    return {n: {st: heads[st] for st in streams if heads.get(st)} for n, streams in streams_of_nodes(c, nodes).items()}


def _change(r: ChangeRow) -> Change:
    return Change(version=r.stream_seq, kind=ChangeKind(r.kind), key=r.key, data=r.data)


def changes_after(c: Central, after_version: int, limit: int = MAX_BATCH, stream: str = BROADCAST) -> ChangeBatch:
    """A contiguous batch (after_version, to_version] of one stream; unsigned — the publisher signs it."""
    with c.sessions() as s:
        rows = list(
            s.scalars(
                select(ChangeRow)
                .where(ChangeRow.stream == stream, ChangeRow.stream_seq > after_version)
                .order_by(ChangeRow.stream_seq)
                .limit(limit + 1)
            )
        )
    more = len(rows) > limit
    changes = [_change(r) for r in rows[:limit]]
    return ChangeBatch(
        after_version=after_version,
        to_version=changes[-1].version if changes else after_version,
        issued_at=datetime.now(UTC),
        changes=changes,
        stream=stream,
        more=more,
    )


def live_batches(c: Central, after_global: int, limit: int = MAX_BATCH) -> tuple[list[ChangeBatch], int]:
    """The changes committed after global version `after_global`, as one batch per stream (each
    contiguous in its stream), and the global version they reach: what the bridge publishes live."""
    with c.sessions() as s:
        rows = list(
            s.scalars(
                select(ChangeRow).where(ChangeRow.version > after_global).order_by(ChangeRow.version).limit(limit)
            )
        )
    by_stream: dict[str, list[ChangeRow]] = defaultdict(list)
    for r in rows:
        by_stream[r.stream].append(r)
    now = datetime.now(UTC)
    batches = [
        ChangeBatch(
            after_version=rs[0].stream_seq - 1,
            to_version=rs[-1].stream_seq,
            issued_at=now,
            changes=[_change(r) for r in rs],
            stream=st,
        )
        for st, rs in by_stream.items()
    ]
    return batches, rows[-1].version if rows else after_global


def snapshot(c: Central, stream: str = BROADCAST) -> ChangeBatch:
    """A stream's whole current state (every live key at its latest position), as one unsigned snapshot."""
    with c.sessions() as s:
        latest = (
            s.scalar(select(func.coalesce(func.max(ChangeRow.stream_seq), 0)).where(ChangeRow.stream == stream)) or 0
        )
        last = (
            select(ChangeRow.kind, ChangeRow.key, func.max(ChangeRow.stream_seq).label("seq"))
            .where(ChangeRow.stream == stream, ChangeRow.stream_seq <= latest)
            .group_by(ChangeRow.kind, ChangeRow.key)
            .subquery()
        )
        rows = list(
            s.scalars(
                select(ChangeRow)
                .join(
                    last,
                    (ChangeRow.stream_seq == last.c.seq)
                    & (ChangeRow.kind == last.c.kind)
                    & (ChangeRow.key == last.c.key),
                )
                .where(ChangeRow.stream == stream)
                .order_by(ChangeRow.stream_seq)
            )
        )
    changes = [_change(r) for r in rows if r.data is not None]
    return ChangeBatch(
        after_version=0, to_version=latest, issued_at=datetime.now(UTC), changes=changes, snapshot=True, stream=stream
    )


def in_parts(batch: ChangeBatch, max_bytes: int | None = None) -> list[ChangeBatch]:
    """A snapshot too large for one message as parts of at most about `max_bytes` each (default
    limits.DOWNLINK_PART_BYTES; the broker refuses messages over limits.BROKER_MESSAGE_BYTES);
    anything else, or a small snapshot, whole."""
    max_bytes = max_bytes or limits.DOWNLINK_PART_BYTES
    if not batch.snapshot or len(batch.wire().encode()) <= max_bytes:
        return [batch]
    groups: list[list[Change]] = [[]]
    size = 0
    for ch in batch.changes:
        n = len(ch.model_dump_json().encode()) + 1
        if groups[-1] and size + n > max_bytes:
            groups.append([])
            size = 0
        groups[-1].append(ch)
        size += n
    if len(groups) > limits.MAX_SNAPSHOT_PARTS:
        raise ValueError(
            f"a snapshot of {batch.stream} needs {len(groups)} parts, over "
            f"{limits.MAX_SNAPSHOT_PARTS}: raise limits.DOWNLINK_PART_BYTES"
        )
    return [batch.model_copy(update={"changes": g, "part": i, "parts": len(groups)}) for i, g in enumerate(groups)]
