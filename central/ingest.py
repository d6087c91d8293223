"""Passes and node presence received from the edges: idempotent on (node, seq).

Passes are stored a batch at a time (one transaction for whatever the bridge has received), so a
backlog drains at the database's batch speed rather than one commit per pass.
"""

from __future__ import annotations

import time
from collections import defaultdict
from datetime import UTC, datetime
from typing import Any, Literal

from sqlalchemy import and_, bindparam, func, inspect, literal, or_, select, union_all
from sqlalchemy.dialects.sqlite import insert as sqlite_insert
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Session

from kakou.central.db import mark_written, page, page_dicts, page_query, where_given, written_table
from kakou.central.service import Central
from kakou.central.tables_sync import NetworkMessageRow, NodeRow, PassRow
from kakou.sync.messages import Envelope


def ingest_pass(c: Central, env: Envelope) -> int:
    """Store one pass idempotently; return the node's contiguous high-water mark."""
    return ingest_passes(c, [env])[env.node][0]


def ingest_passes(c: Central, envs: list[Envelope], attempts: int = 5) -> dict[str, tuple[int, list[int]]]:
    """Store a batch idempotently on (node, seq); return each node's contiguous high-water mark and
    the quarantined seqs it moved past (see `quarantine`).

    Another ingest worker may store the same (node, seq) between our check and our insert (a
    redelivery to the other member of a shared subscription): the unique constraint refuses it and
    we redo the batch, which then sees it as a duplicate. A locked SQLite database is retried too.
    """
    for attempt in range(attempts):
        try:
            with c.sessions.begin() as s:
                return _ingest(s, envs, datetime.now(UTC))
        except (IntegrityError, OperationalError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.01 * (attempt + 1))
    raise AssertionError("unreachable")


# PostgreSQL: one INSERT of whole columns as arrays, sent in binary. A fixed statement text, so
# psycopg prepares it once (a multi-row VALUES of 500 rows is a new ~60 kB text to parse each
# time), and binary arrays need no quoting of the JSON records (text arrays escape every quote).
_PG_PASSES = (
    "INSERT INTO passes (node, seq, pass_id, lane, plate, outcome, decided_at, record, received_at) "
    "SELECT n, q, p, l, pl, o, d, CAST(r AS json), rc FROM unnest(%(node)b::varchar[], %(seq)b::int4[], "
    "%(pass_id)b::varchar[], %(lane)b::varchar[], %(plate)b::varchar[], %(outcome)b::varchar[], "
    "%(decided_at)b::timestamptz[], %(record)b::text[], %(received_at)b::timestamptz[]) "
    "AS t(n, q, p, l, pl, o, d, r, rc) "
    "ON CONFLICT DO NOTHING RETURNING seq"
)
_PG_LOG = (
    "INSERT INTO network_messages (at, node, direction, kind, seq, status) "
    "SELECT %(at)b, n, 'up', 'pass', q, st FROM unnest(%(node)b::varchar[], %(seq)b::int4[], "
    "%(status)b::varchar[]) AS t(n, q, st)"
)
_COLUMNS = ("node", "seq", "pass_id", "lane", "plate", "outcome", "decided_at", "record", "received_at")


def _insert_new(s: Session, rows: list[dict[str, Any]]) -> set[int]:
    """Insert pass rows, skipping any already stored; return the seqs inserted.

    One statement for the batch — ON CONFLICT DO NOTHING RETURNING seq — instead of a SELECT for
    what is there plus an INSERT per row: the unique (node, seq) decides what is new, also against
    another ingest worker's concurrent insert (which PostgreSQL waits for, then skips). A row whose
    pass_id is stored under another (node, seq) is skipped too (no conflict target: any unique
    constraint), so one node's bad pass never fails the batch; `_ingest` quarantines it. On SQLite,
    SQLAlchemy's "insertmanyvalues" makes it multi-row INSERTs.
    """
    if not rows:
        return set()
    if s.get_bind().dialect.name == "postgresql":
        cols = {c: [r[c] for r in rows] for c in _COLUMNS}
        cols["record"] = [r.model_dump_json() for r in cols["record"]]
        return {seq for (seq,) in _pg(s, _PG_PASSES, cols, fetch=True)}
    table = PassRow.__table__
    stmt = sqlite_insert(table).on_conflict_do_nothing().returning(table.c.seq)
    return set(s.scalars(stmt, [{**r, "record": r["record"].model_dump(mode="json")} for r in rows]))


def _pg(s: Session, sql: str, params: dict[str, Any], fetch: bool = False) -> list[Any]:
    # psycopg directly, on the session's connection (so inside its transaction), for binary parameters.
    mark_written(s, written_table(sql))  # the read cache does not see the driver's cursor
    dbapi = s.connection().connection.driver_connection
    with dbapi.cursor() as cur:  # type: ignore[union-attr]
        cur.execute(sql, params)
        return cur.fetchall() if fetch else []


def _insert_log(s: Session, rows: list[dict[str, Any]], now: datetime) -> None:
    if s.get_bind().dialect.name == "postgresql":
        _pg(
            s,
            _PG_LOG,
            {
                "at": now,
                "node": [r["node"] for r in rows],
                "seq": [r["seq"] for r in rows],
                "status": [r["status"] for r in rows],
            },
        )
    else:
        s.execute(NetworkMessageRow.__table__.insert(), rows)


def _ingest(s: Session, envs: list[Envelope], now: datetime) -> dict[str, tuple[int, list[int]]]:
    by_node: dict[str, list[Envelope]] = defaultdict(list)
    for env in envs:
        by_node[env.node].append(env)
    log_rows: list[dict[str, Any]] = []
    nodes: dict[str, NodeRow] = {}
    for node_id, items in by_node.items():
        node = s.get(NodeRow, node_id)
        if node is None:
            node = NodeRow(node=node_id, high_water=0, duplicates=0, online=False, knowledge_version=0)
            s.add(node)
        nodes[node_id] = node
        node.last_seen = now
        rows: list[dict[str, Any]] = []
        seen: set[int] = set()
        for env in items:
            if env.seq in seen:
                continue  # the same message twice in one batch: the second is a duplicate below
            seen.add(env.seq)
            rec = env.body
            rows.append(
                {
                    "node": node_id,
                    "seq": env.seq,
                    "pass_id": rec.pass_id,
                    "lane": rec.lane,
                    "plate": rec.plate,
                    "outcome": rec.outcome.value,
                    "decided_at": rec.decided_at,
                    "record": rec,
                    "received_at": now,
                }
            )
        inserted = _insert_new(s, rows)
        _increment(node, "passes", len(inserted))
        conflicts = _pass_id_conflicts(s, node_id, {r["seq"] for r in rows} - inserted)
        duplicates = 0
        for env in items:
            if env.seq in inserted:
                inserted.discard(env.seq)  # a second copy in this batch is a duplicate
                log_rows.append(_log(now, env, "stored"))
            elif env.seq in conflicts:
                # Its pass_id is another pass's: keep it aside (verbatim), the node's stream moves on.
                s.add(
                    NetworkMessageRow(
                        at=now,
                        node=node_id,
                        direction="up",
                        kind="pass",
                        seq=env.seq,
                        version=None,
                        status="rejected",
                        detail=f"pass_id {env.body.pass_id!r} is already stored for another pass"[:200],
                        payload=env.model_dump_json(),
                    )
                )
                conflicts.discard(env.seq)
            else:
                duplicates += 1
                log_rows.append(_log(now, env, "duplicate"))
        _increment(node, "duplicates", duplicates)
    if log_rows:
        _insert_log(s, log_rows, now)
    s.flush()
    advanced = _advance(s, {node_id: node.high_water or 0 for node_id, node in nodes.items()})
    for node_id, (high_water, _) in advanced.items():
        nodes[node_id].high_water = high_water
    return advanced


def _increment(node: NodeRow, column: Literal["passes", "duplicates"], n: int) -> None:
    """`node.column += n`, in SQL for a stored node: added in Python, the value read before the
    write would overwrite another central worker's count (pysqlite reads outside the transaction,
    PostgreSQL's read committed does not lock the row), and the pass totals come from it."""
    if not n:
        return
    if inspect(node).persistent:
        setattr(node, column, getattr(NodeRow, column) + n)
    else:
        setattr(node, column, (getattr(node, column) or 0) + n)


def _pass_id_conflicts(s: Session, node: str, not_inserted: set[int]) -> set[int]:
    """Of the seqs the insert skipped, those not stored under (node, seq) nor already quarantined:
    skipped for their pass_id (another pass's, from this node or another)."""
    if not not_inserted:
        return set()
    return not_inserted - _stored_or_held(s, node, not_inserted)


def _stored_or_held(s: Session, node: str, seqs: set[int]) -> set[int]:
    """Of a node's `seqs`, those stored as passes or already kept aside as rejected messages."""
    stored = set(s.scalars(select(PassRow.seq).where(PassRow.node == node, PassRow.seq.in_(seqs))))
    held = s.scalars(
        select(NetworkMessageRow.seq).where(
            NetworkMessageRow.node == node,
            NetworkMessageRow.direction == "up",
            NetworkMessageRow.status == "rejected",
            NetworkMessageRow.seq.in_(seqs),
        )
    )
    return stored | {seq for seq in held if seq is not None}  # the column allows NULL; these rows are in `seqs`


def _log(now: datetime, env: Envelope, status: str) -> dict[str, object]:
    return {
        "at": now,
        "node": env.node,
        "direction": "up",
        "kind": env.kind,
        "seq": env.seq,
        "version": None,
        "status": status,
        "detail": None,
        "payload": None,
    }


def quarantine(c: Central, node: str, seq: int, payload: bytes, reason: str) -> tuple[int, list[int]]:
    """Keep a pass message central cannot accept, verbatim, so the node's stream moves on past it.

    Returns the node's high-water mark and the quarantined seqs it covers (to tell the edge).
    """
    return quarantine_many(c, node, [(seq, payload, reason)])


def quarantine_many(c: Central, node: str, items: list[tuple[int, bytes, str]]) -> tuple[int, list[int]]:
    """`quarantine` for several (seq, payload, reason) of one node, in one transaction."""
    with c.sessions.begin() as s:
        node_row = s.get(NodeRow, node)
        if node_row is None:
            node_row = NodeRow(node=node, high_water=0, duplicates=0, online=False, knowledge_version=0)
            s.add(node_row)
        seqs = {seq for seq, _, _ in items}
        taken = _stored_or_held(s, node, seqs)
        now = datetime.now(UTC)
        for seq, payload, reason in items:
            if seq in taken:
                continue
            taken.add(seq)
            s.add(
                NetworkMessageRow(
                    at=now,
                    node=node,
                    direction="up",
                    kind="pass",
                    seq=seq,
                    version=None,
                    status="rejected",
                    detail=reason.replace("\x00", "")[:200],
                    payload=payload.decode("utf-8", "replace").replace("\x00", "\\u0000"),
                )
            )
        s.flush()
        node_row.high_water, moved_past = _advance(s, {node: node_row.high_water or 0})[node]
        return node_row.high_water, moved_past


def record_rejected(c: Central, node: str, kind: str, detail: str) -> None:
    """A message central could not accept (malformed, wrong node): kept for the network view."""
    with c.sessions.begin() as s:
        s.add(
            NetworkMessageRow(
                at=datetime.now(UTC),
                node=node[:64],
                direction="up",
                kind=kind[:16],
                seq=None,
                version=None,
                status="rejected",
                detail=detail.replace("\x00", "")[:200],
                payload=None,
            )
        )


def _advance(s: Session, before: dict[str, int]) -> dict[str, tuple[int, list[int]]]:
    """Each node's new high-water mark and the quarantined seqs it moved past, from its mark `before`,
    in one round trip for all the nodes of a batch.

    Only a contiguous prefix is acknowledged: a gap means something is still in flight. A
    quarantined seq counts as received: its payload is kept, and it must not hold back the rest."""
    stored = select(PassRow.node, PassRow.seq, literal(False).label("held")).where(
        or_(*(and_(PassRow.node == node, PassRow.seq > hw) for node, hw in before.items()))
    )
    held = select(NetworkMessageRow.node, NetworkMessageRow.seq, literal(True).label("held")).where(
        NetworkMessageRow.direction == "up",
        NetworkMessageRow.status == "rejected",
        or_(*(and_(NetworkMessageRow.node == node, NetworkMessageRow.seq > hw) for node, hw in before.items())),
    )
    seqs: dict[str, set[int]] = defaultdict(set)
    quarantined: dict[str, set[int]] = defaultdict(set)
    node: str
    seq: int
    is_held: bool
    for node, seq, is_held in s.execute(union_all(stored, held)):
        seqs[node].add(seq)
        if is_held:
            quarantined[node].add(seq)
    out = {}
    for node, high_water in before.items():
        start = high_water
        for seq in sorted(seqs[node]):
            if seq != high_water + 1:
                break
            high_water = seq
        out[node] = (high_water, sorted(q for q in quarantined[node] if start < q <= high_water))
    return out


def list_passes(
    c: Central, limit: int, offset: int, plate: str | None = None, node: str | None = None
) -> tuple[int, list[PassRow]]:
    with c.read() as s:  # no transaction: two round trips instead of four
        q = where_given(select(PassRow), (PassRow.plate, plate), (PassRow.node, node))
        return page(s, q, limit, offset, PassRow.decided_at.desc(), PassRow.id.desc())


# The API's columns of a pass (schemas.PassOut), read as plain values: the list route's hot path.
PASS_COLUMNS = (
    PassRow.node,
    PassRow.seq,
    PassRow.pass_id,
    PassRow.lane,
    PassRow.plate,
    PassRow.outcome,
    PassRow.decided_at,
    PassRow.received_at,
    PassRow.record,
)


# One prebuilt page statement per combination of filters (by plate, by node). The totals of the
# unfiltered and the by-node pages come from the pass counts ingest keeps per node (`nodes.passes`),
# not a COUNT over the pass table: the same cost at 10 M passes as at 50,000.
_ALL_PASSES = select(func.coalesce(func.sum(NodeRow.passes), 0))
_PASS_TOTALS = {(False, False): _ALL_PASSES, (False, True): _ALL_PASSES.where(NodeRow.node == bindparam("node"))}
_PASS_PAGES = {
    (plate, node): page_query(
        PASS_COLUMNS,
        [PassRow.plate] * plate + [PassRow.node] * node,
        PassRow.decided_at.desc(),
        PassRow.id.desc(),
        total=_PASS_TOTALS.get((plate, node)),
    )
    for plate in (False, True)
    for node in (False, True)
}


def page_passes(
    c: Central, limit: int, offset: int, plate: str | None = None, node: str | None = None
) -> tuple[int, list[dict[str, Any]]]:
    """`list_passes` as dicts of the API's fields, filtered pages in one round trip."""
    with c.read() as s:
        return page_dicts(s, _PASS_PAGES[bool(plate), bool(node)], {"plate": plate, "node": node}, limit, offset)


def set_presence(
    c: Central,
    node: str,
    online: bool,
    knowledge_version: int | None = None,
    streams: dict[str, int] | None = None,
    attempts: int = 5,
) -> None:
    # Every central worker receives every status (they are not shared): the first one to see a new
    # node creates its row, the others retry and update it.
    for attempt in range(attempts):
        try:
            with c.sessions.begin() as s:
                row = s.get(NodeRow, node) or NodeRow(node=node, high_water=0, duplicates=0)
                s.add(row)
                row.online = online
                row.last_seen = datetime.now(UTC)
                if knowledge_version is not None:
                    row.knowledge_version = knowledge_version
                if streams:
                    row.knowledge_streams = dict(streams)
                return
        except (IntegrityError, OperationalError):
            if attempt == attempts - 1:
                raise
            time.sleep(0.01 * (attempt + 1))


def rejected_counts(c: Central) -> dict[str, int]:
    """Per node, the uplink messages central kept aside or refused (quarantined passes, and one row
    per refusal it recorded: see CentralBridge._reject), for network management."""
    with c.read() as s:
        q = (
            select(NetworkMessageRow.node, func.count())
            .where(NetworkMessageRow.direction == "up", NetworkMessageRow.status == "rejected")
            .group_by(NetworkMessageRow.node)
        )
        return {node: n for node, n in s.execute(q)}


def list_nodes(c: Central) -> list[NodeRow]:
    with c.sessions() as s:
        return list(s.scalars(select(NodeRow).order_by(NodeRow.node)))
