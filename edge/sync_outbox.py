"""Per-message status of the edge's outbox: queued / sent / acknowledged / failed, and manual resend.

The outbox rows themselves (edge/store.py) say only whether central acknowledged them; this table
adds when each row was last published and how often, written once per published chunk (not per
message) so it costs the uplink little.
"""

from __future__ import annotations

from datetime import datetime
from enum import StrEnum

from pydantic import BaseModel

from kakou.edge.store import EdgeStore

# Published this often without an ack: shown as failed (still retried) so an operator looks at it.
FAILED_AFTER_ATTEMPTS = 5


class MessageStatus(StrEnum):
    QUEUED = "queued"  # written, not yet published since it was queued (or re-queued)
    SENT = "sent"  # published, no ack yet
    ACKNOWLEDGED = "acknowledged"  # central has stored it
    FAILED = "failed"  # central quarantined it, or FAILED_AFTER_ATTEMPTS tries without an ack (still retried)


class OutboxMessage(BaseModel):
    seq: int
    kind: str
    created_at: datetime
    status: MessageStatus
    attempts: int
    last_sent_at: datetime | None
    detail: str | None = None


def mark_sent(store: EdgeStore, seqs: list[int], now: datetime) -> None:
    at = now.isoformat()
    with store.tx() as db:
        db.executemany(
            "INSERT INTO outbox_sent(seq, first_sent_at, last_sent_at, attempts) VALUES(?, ?, ?, 1) "
            "ON CONFLICT(seq) DO UPDATE SET last_sent_at = excluded.last_sent_at, attempts = attempts + 1",
            [(s, at, at) for s in seqs],
        )


def mark_rejected(store: EdgeStore, seqs: list[int], reason: str, now: datetime) -> None:
    at = now.isoformat()
    with store.tx() as db:
        db.executemany(
            "INSERT INTO outbox_sent(seq, first_sent_at, last_sent_at, attempts, rejected) VALUES(?, ?, ?, 1, ?) "
            "ON CONFLICT(seq) DO UPDATE SET rejected = excluded.rejected",
            [(s, at, at, reason) for s in seqs],
        )


def _status(acked: int, attempts: int, rejected: str | None = None) -> MessageStatus:
    if rejected:
        return MessageStatus.FAILED
    if acked:
        return MessageStatus.ACKNOWLEDGED
    if attempts >= FAILED_AFTER_ATTEMPTS:
        return MessageStatus.FAILED
    return MessageStatus.SENT if attempts else MessageStatus.QUEUED


def messages(
    store: EdgeStore,
    since: datetime | None = None,
    status: MessageStatus | None = None,
    after_seq: int = 0,
    limit: int = 500,
) -> list[OutboxMessage]:
    """Outbox messages oldest first, optionally from a time on and of one status."""
    sql = (
        "SELECT o.seq, o.kind, o.created_at, o.acked, COALESCE(s.attempts, 0), s.last_sent_at, s.rejected "
        "FROM outbox o LEFT JOIN outbox_sent s ON s.seq = o.seq WHERE o.seq > ?"
    )
    args: list[object] = [after_seq]
    if since is not None:
        sql += " AND o.created_at >= ?"
        args.append(since.isoformat())
    sql += " ORDER BY o.seq"
    out = []
    for seq, kind, created, acked, attempts, last, rejected in store.query(sql, tuple(args)):
        st = _status(acked, attempts, rejected)
        if status is None or st is status:
            out.append(
                OutboxMessage(
                    seq=seq,
                    kind=kind,
                    created_at=created,
                    status=st,
                    attempts=attempts,
                    last_sent_at=last,
                    detail=rejected,
                )
            )
            if len(out) >= limit:
                break
    return out


def counts(store: EdgeStore) -> dict[str, int]:
    rows = store.query(
        "SELECT o.acked, COALESCE(s.attempts, 0), s.rejected IS NOT NULL, COUNT(*) FROM outbox o "
        "LEFT JOIN outbox_sent s ON s.seq = o.seq GROUP BY 1, 2, 3"
    )
    result = {s.value: 0 for s in MessageStatus}
    for acked, attempts, rejected, n in rows:
        result[_status(acked, attempts, "rejected" if rejected else None).value] += n
    return result


def requeue_from(store: EdgeStore, seq: int) -> int:
    """Manual resend: mark every message from `seq` on unacknowledged again. Returns how many.

    Central stores idempotently on (node, seq), so resending what it already has only counts
    duplicates there; it is the operator's tool when central lost data (e.g. a restored backup).
    """
    with store.tx() as db:
        n = db.execute("UPDATE outbox SET acked = 0 WHERE seq >= ?", (seq,)).rowcount
        db.execute("DELETE FROM outbox_sent WHERE seq >= ?", (seq,))
        db.execute(
            "UPDATE meta SET value = ? WHERE key = 'acked_seq' AND CAST(value AS INTEGER) >= ?", (str(seq - 1), seq)
        )
        return n
