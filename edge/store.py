"""The edge node's local store: SQLite in WAL mode.

A pass record and its outbox entry are written in one transaction, before the barrier is
commanded, so a kill -9 at any moment never loses a pass the lane acted on. The knowledge cache
(release orders, control orders…) is applied strictly in version order.
"""

from __future__ import annotations

import json
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

from kakou.edge import schema
from kakou.sync.knowledge import OfficerPin
from kakou.sync.messages import ChangeBatch, PassRecord, ReleaseOrderData


class VersionGap(Exception):
    """A change batch that does not continue from the cache's position in its stream."""

    def __init__(self, have: int, batch_after: int, stream: str = "*") -> None:
        super().__init__(f"stream {stream}: have version {have}, batch continues from {batch_after}")
        self.have = have
        self.stream = stream


class EdgeStore:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        # One connection shared by the node's tasks and worker threads, guarded by a lock.
        self._db = sqlite3.connect(path, check_same_thread=False, isolation_level=None)
        self._lock = threading.RLock()
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=FULL")  # a pass acted on must survive power loss
        with self._lock:
            schema.migrate(self._db)  # every table of the file, at this kakou's schema (edge/schema.py)

    def close(self) -> None:
        with self._lock:
            self._db.close()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        with self._lock:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                yield self._db
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")

    def query(self, sql: str, args: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._db.execute(sql, args).fetchall()

    def _meta(self, key: str, default: int = 0) -> int:
        rows = self.query("SELECT value FROM meta WHERE key = ?", (key,))
        return int(rows[0][0]) if rows else default

    @staticmethod
    def _set_meta(db: sqlite3.Connection, key: str, value: int | str) -> None:
        db.execute(
            "INSERT INTO meta(key, value) VALUES(?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
            (key, str(value)),
        )

    # -- knowledge cache ------------------------------------------------------------------
    # Central's changes come in streams (broadcast, the node's site, the node itself), each numbered
    # without gaps; the cache keeps its position in each. Its knowledge version is their sum: the
    # number of changes of its scope it holds (monotonic; equal to central's count for this node
    # exactly when every stream is caught up, since no position can exceed central's).
    @property
    def knowledge_version(self) -> int:
        return int(self.query("SELECT COALESCE(SUM(version), 0) FROM knowledge_streams")[0][0])

    def stream_versions(self) -> dict[str, int]:
        return {st: v for st, v in self.query("SELECT stream, version FROM knowledge_streams ORDER BY stream")}

    def knowledge_updated_at(self) -> str | None:
        rows = self.query("SELECT value FROM meta WHERE key = 'knowledge_updated_at'")
        return rows[0][0] if rows else None

    @staticmethod
    def _position(db: sqlite3.Connection, stream: str) -> int:
        row = db.execute("SELECT version FROM knowledge_streams WHERE stream = ?", (stream,)).fetchone()
        return int(row[0]) if row else 0

    def _set_position(self, db: sqlite3.Connection, stream: str, version: int, now: datetime) -> None:
        db.execute(
            "INSERT INTO knowledge_streams(stream, version) VALUES(?, ?) "
            "ON CONFLICT(stream) DO UPDATE SET version = excluded.version",
            (stream, version),
        )
        total = db.execute("SELECT COALESCE(SUM(version), 0) FROM knowledge_streams").fetchone()[0]
        self._set_meta(db, "knowledge_version", total)
        self._set_meta(db, "knowledge_updated_at", now.isoformat())

    def apply_batch(self, batch: ChangeBatch, now: datetime) -> int:
        """Apply a verified batch in order; return how many changes were new. Raises VersionGap."""
        if batch.retired:
            return self.retire_stream(batch.stream, now)
        if batch.snapshot:
            return self.apply_snapshot(batch, now)
        with self.tx() as db:
            have = self._position(db, batch.stream)
            if batch.to_version <= have:
                return 0  # already applied: a duplicate or replay changes nothing
            if batch.after_version > have:
                raise VersionGap(have, batch.after_version, batch.stream)
            applied = 0
            for ch in batch.changes:
                if ch.version <= have:
                    continue
                if ch.data is None:
                    db.execute(
                        "DELETE FROM knowledge WHERE kind = ? AND key = ? AND stream = ?",
                        (ch.kind.value, ch.key, batch.stream),
                    )
                else:
                    plate = ch.data.get("plate") if isinstance(ch.data.get("plate"), str) else None
                    db.execute(
                        "INSERT INTO knowledge(kind, key, version, data, plate, stream) VALUES(?, ?, ?, ?, ?, ?) "
                        "ON CONFLICT(kind, key) DO UPDATE SET version=excluded.version, data=excluded.data, "
                        "plate=excluded.plate, stream=excluded.stream",
                        (
                            ch.kind.value,
                            ch.key,
                            ch.version,
                            json.dumps(ch.data, ensure_ascii=False),
                            plate,
                            batch.stream,
                        ),
                    )
                applied += 1
            self._set_position(db, batch.stream, batch.to_version, now)
            return applied

    def retire_stream(self, stream: str, now: datetime) -> int:
        """Drop a stream this node no longer follows: its entries and its position. Returns how many
        entries went (at least 1 if the stream was held, 0 if not)."""
        with self.tx() as db:
            held = db.execute("SELECT COUNT(*) FROM knowledge_streams WHERE stream = ?", (stream,)).fetchone()[0]
            n = db.execute("DELETE FROM knowledge WHERE stream = ?", (stream,)).rowcount
            db.execute("DELETE FROM knowledge_streams WHERE stream = ?", (stream,))
            total = db.execute("SELECT COALESCE(SUM(version), 0) FROM knowledge_streams").fetchone()[0]
            self._set_meta(db, "knowledge_version", total)
            self._set_meta(db, "knowledge_updated_at", now.isoformat())
            return max(n, held)

    def apply_snapshot(self, snap: ChangeBatch, now: datetime) -> int:
        """Replace the cache's entries of the snapshot's stream; never go back to an older version.

        A snapshot at the version we already have is applied too (a manual resync repairs a cache
        without moving its version); an older one (a replay) changes nothing. Returns the number of
        keys in the new cache, or 0 if it was ignored.
        """
        with self.tx() as db:
            if snap.to_version < self._position(db, snap.stream):
                return 0
            db.execute("DELETE FROM knowledge WHERE stream = ?", (snap.stream,))
            rows = [
                (
                    ch.kind.value,
                    ch.key,
                    ch.version,
                    json.dumps(ch.data, ensure_ascii=False),
                    ch.data.get("plate") if isinstance(ch.data.get("plate"), str) else None,
                    snap.stream,
                )
                for ch in snap.changes
                if ch.data is not None
            ]
            db.executemany(
                "INSERT OR REPLACE INTO knowledge(kind, key, version, data, plate, stream) VALUES(?, ?, ?, ?, ?, ?)",
                rows,
            )
            self._set_position(db, snap.stream, snap.to_version, now)
            return max(len(rows), 1)

    def knowledge_rows(self) -> list[tuple[str, str, int]]:
        """(kind, key, version) of every cached entry: what a test or a resync compares."""
        return [tuple(r) for r in self.query("SELECT kind, key, version FROM knowledge ORDER BY kind, key")]

    def officer_pin(self, officer_id: str) -> OfficerPin | None:
        """A lane officer as central manages them (kakou.central.lane_officers), if it does."""
        rows = self.query("SELECT data FROM knowledge WHERE kind = 'officer' AND key = ?", (officer_id,))
        if not rows:
            return None
        try:
            return OfficerPin.model_validate_json(rows[0][0])
        except ValueError:  # never a reason to fail a login check: treated as revoked
            return OfficerPin.model_construct(officer=officer_id, name="", pin_hash="", revoked=True)

    def release_orders_for(self, plate: str) -> tuple[int, list[ReleaseOrderData]]:
        with self._lock:
            version = self.knowledge_version
            rows = self.query("SELECT data FROM knowledge WHERE kind = 'release_order' AND plate = ?", (plate,))
        return version, [ReleaseOrderData.model_validate_json(r[0]) for r in rows]

    def record_rejected(self, source: str, reason: str, now: datetime) -> None:
        with self.tx() as db:
            db.execute("INSERT INTO rejected(at, source, reason) VALUES(?, ?, ?)", (now.isoformat(), source, reason))

    def rejected(self) -> list[tuple[str, str, str]]:
        return [tuple(r) for r in self.query("SELECT at, source, reason FROM rejected ORDER BY id")]

    # -- passes and outbox ----------------------------------------------------------------
    def record_pass(self, record: PassRecord, inputs: dict[str, Any]) -> int:
        """Store the pass and queue it for central in one transaction; return its outbox seq."""
        body = record.model_dump_json()
        with self.tx() as db:
            db.execute(
                "INSERT INTO passes(pass_id, lane, decided_at, record, inputs) VALUES(?, ?, ?, ?, ?)",
                (
                    record.pass_id,
                    record.lane,
                    record.decided_at.isoformat(),
                    body,
                    json.dumps(inputs, ensure_ascii=False, default=str),
                ),
            )
            cur = db.execute(
                "INSERT INTO outbox(kind, body, created_at) VALUES('pass', ?, ?)", (body, record.decided_at.isoformat())
            )
            return int(cur.lastrowid or 0)

    def get_pass(self, pass_id: str) -> tuple[PassRecord, dict[str, Any]] | None:
        rows = self.query("SELECT record, inputs FROM passes WHERE pass_id = ?", (pass_id,))
        if not rows:
            return None
        return PassRecord.model_validate_json(rows[0][0]), json.loads(rows[0][1])

    def list_passes(self, limit: int = 50) -> list[PassRecord]:
        rows = self.query("SELECT record FROM passes ORDER BY decided_at DESC LIMIT ?", (limit,))
        return [PassRecord.model_validate_json(r[0]) for r in rows]

    def unacked(self, after_seq: int, limit: int) -> list[tuple[int, str, str]]:
        return [
            tuple(r)
            for r in self.query(
                "SELECT seq, kind, body FROM outbox WHERE acked = 0 AND seq > ? ORDER BY seq LIMIT ?",
                (after_seq, limit),
            )
        ]

    @property
    def acked_seq(self) -> int:
        return self._meta("acked_seq")

    def mark_acked(self, high_water: int) -> None:
        with self.tx() as db:
            current = int((db.execute("SELECT value FROM meta WHERE key='acked_seq'").fetchone() or (0,))[0])
            if high_water <= current:
                return  # a duplicate or late ack: nothing new (and no write)
            # Only the new range: a scan from seq 1 would make a long backlog drain quadratic.
            db.execute("UPDATE outbox SET acked = 1 WHERE seq > ? AND seq <= ? AND acked = 0", (current, high_water))
            self._set_meta(db, "acked_seq", high_water)

    def outbox_counts(self) -> dict[str, int]:
        rows = self.query("SELECT acked, COUNT(*) FROM outbox GROUP BY acked")
        counts = dict(rows)
        return {"queued": counts.get(0, 0), "acknowledged": counts.get(1, 0)}
