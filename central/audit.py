"""Every write runs in `write(central, actor)`: one transaction whose audit entries join a hash chain.

The chain head is one row that each writer updates first. On PostgreSQL that row lock orders
writers; on SQLite the first statement being a write takes the database write lock at once. So
two writers never chain onto the same predecessor, and an edited, removed or reordered entry
breaks every hash after it, which `verify()` (CLI: `kakou central audit verify`) reports.
The hashes are HMAC-SHA256 under a key kept outside the database (audit_key.py), so whoever can
only write the database cannot rewrite an entry and recompute the hashes after it.
"""

from __future__ import annotations

import hashlib
import hmac
import json
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import select, text
from sqlalchemy.orm import Session

from kakou.central import audit_key
from kakou.central.audit_key import AuditKey
from kakou.central.changelog import append_change
from kakou.central.db import WROTE, where_given
from kakou.central.list_queries import AuditQuery
from kakou.central.service import Central
from kakou.central.tables import AuditArchiveRow, AuditHeadRow, AuditRow
from kakou.sync.messages import ChangeKind

GENESIS = "0" * 64


def entry_hash(
    prev_hash: str,
    seq: int,
    at: str,
    actor: str,
    action: str,
    target: str,
    detail: dict[str, Any],
    key: bytes | None = None,
) -> str:
    """SHA-256 of the previous hash and the entry; HMAC-SHA256 under `key` when given."""
    body = json.dumps(
        {"seq": seq, "at": at, "actor": actor, "action": action, "target": target, "detail": detail},
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
        default=str,
    )
    data = (prev_hash + body).encode()
    if key is None:
        return hashlib.sha256(data).hexdigest()
    return hmac.new(key, data, hashlib.sha256).hexdigest()


def _key_for(key: AuditKey | None, seq: int) -> bytes | None:
    return key.key if key is not None and seq >= key.keyed_from else None


@dataclass
class Work:
    """The open unit of work: the session, who is acting, and what to audit and publish."""

    session: Session
    actor: str
    _entries: list[tuple[str, str, dict[str, Any]]] = field(default_factory=list)
    _version: int = 0

    def audit(self, action: str, target: str, detail: dict[str, Any] | None = None) -> None:
        self._entries.append((action, target, _plain(detail or {})))

    def publish(self, kind: ChangeKind, key: str, data: dict[str, Any] | None, scope: str | None = None) -> int:
        """Publish to the lanes of `scope` ("*", "site:X", "node:N"; None: the key's usual scope).
        A release order goes out with central's risk verdict on it (kakou.central.risk_eval)."""
        if kind is ChangeKind.RELEASE_ORDER and data is not None:
            from kakou.central import risk_eval

            data = risk_eval.with_verdict(self.session, key, data)
        self._version = append_change(self.session, kind, key, data, scope)
        return self._version


def _plain(detail: dict[str, Any]) -> dict[str, Any]:
    # What is hashed must be exactly what the JSON column gives back.
    return json.loads(json.dumps(detail, ensure_ascii=False, default=str))


@contextmanager
def write(c: Central, actor: str) -> Iterator[Work]:
    with c.sessions.begin() as s:
        _lock_head(s)
        w = Work(s, actor)
        yield w
        if w._entries:
            _append(s, actor, w._entries, c.audit_key)
    if w._version:
        c.notify(w._version)


def _lock_head(s: Session) -> None:
    info = s.connection().info
    wrote = info.get(WROTE, False)
    s.execute(text("INSERT INTO audit_head (id, seq, hash) VALUES (1, 0, :g) ON CONFLICT DO NOTHING"), {"g": GENESIS})
    s.execute(text("UPDATE audit_head SET seq = seq WHERE id = 1"))
    if not wrote:  # a lock, not a change the read cache answers from: a write that finds nothing to do stays silent
        info.pop(WROTE, None)


def _append(s: Session, actor: str, entries: list[tuple[str, str, dict[str, Any]]], key: AuditKey | None) -> None:
    head = s.get(AuditHeadRow, 1, populate_existing=True)
    assert head is not None
    at = datetime.now(UTC).isoformat()
    for action, target, detail in entries:
        seq = head.seq + 1
        h = entry_hash(head.hash, seq, at, actor, action, target, detail, _key_for(key, seq))
        s.add(
            AuditRow(
                seq=seq,
                at=at,
                actor=actor,
                action=action,
                target=target[:128],
                detail=detail,
                prev_hash=head.hash,
                hash=h,
            )
        )
        head.seq, head.hash = seq, h
    s.flush()


@dataclass(frozen=True)
class VerifyResult:
    entries: int
    ok: bool
    problem: str | None = None
    seq: int | None = None


def verify(c: Central, batch: int = 5000) -> VerifyResult:
    """Recompute the chain from the first entry; report the first entry that does not fit.
    Entries from the key's `keyed_from` on are checked with the key (c.audit_key)."""
    key = c.audit_key
    with c.sessions() as s:
        # Entries moved to an archive (audit_archive.py): the rest chain onto the last archived hash.
        last = s.scalar(select(AuditArchiveRow).order_by(AuditArchiveRow.last_seq.desc()).limit(1))
        after, prev = (last.last_seq, last.last_hash) if last is not None else (0, GENESIS)
        expected_seq, n = after + 1, 0
        while True:
            rows = list(s.scalars(select(AuditRow).where(AuditRow.seq > after).order_by(AuditRow.seq).limit(batch)))
            if not rows:
                break
            for r in rows:
                if r.seq != expected_seq:
                    return VerifyResult(n, False, f"entry {expected_seq} is missing", expected_seq)
                if r.prev_hash != prev:
                    return VerifyResult(n, False, f"entry {r.seq} does not follow entry {r.seq - 1}", r.seq)
                if entry_hash(prev, r.seq, r.at, r.actor, r.action, r.target, r.detail, _key_for(key, r.seq)) != r.hash:
                    return VerifyResult(n, False, f"entry {r.seq} was altered", r.seq)
                prev, expected_seq, n = r.hash, r.seq + 1, n + 1
            after = rows[-1].seq
        head = s.get(AuditHeadRow, 1)
    if head is not None and (head.seq != expected_seq - 1 or head.hash != prev):
        return VerifyResult(
            n,
            False,
            f"the chain ends at entry {expected_seq - 1} but its head says {head.seq}: entries removed",
            expected_seq,
        )
    return VerifyResult(n, True)


def list_entries(c: Central, q: AuditQuery) -> list[AuditRow]:
    with c.sessions() as s:
        stmt = where_given(select(AuditRow), (AuditRow.target, q.target), (AuditRow.actor, q.actor))
        return list(s.scalars(stmt.order_by(AuditRow.seq.desc()).limit(q.limit).offset(q.offset)))


def load_or_create_key(c: Central, path: Path) -> AuditKey:
    """The audit key in `path`; at first start, a new one keying every entry after today's head."""
    key = audit_key.load(path)
    if key is None:
        with c.sessions() as s:
            head = s.get(AuditHeadRow, 1)
        try:
            key = audit_key.create(path, (head.seq if head else 0) + 1)
        except FileExistsError:  # another process of this central made it just now
            key = audit_key.load(path)
            assert key is not None
    return key
