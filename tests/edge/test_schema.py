"""The edge store's schema migrations (edge/schema.py): a node's file from the oldest release
upgrades at open with nothing lost; an upgrade that fails changes nothing; a newer file is refused."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from kakou.edge import schema
from kakou.edge.store import EdgeStore

# The schema of the first released edge store (edge/store.py at 0fc89fe): no change streams, no
# officers' records, no delivery state, no images.
OLDEST = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE knowledge (
    kind TEXT NOT NULL, key TEXT NOT NULL, version INTEGER NOT NULL, data TEXT NOT NULL,
    plate TEXT, PRIMARY KEY (kind, key));
CREATE INDEX knowledge_plate ON knowledge (kind, plate);
CREATE TABLE passes (
    pass_id TEXT PRIMARY KEY, lane TEXT NOT NULL, decided_at TEXT NOT NULL,
    record TEXT NOT NULL, inputs TEXT NOT NULL);
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, body TEXT NOT NULL,
    created_at TEXT NOT NULL, acked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE rejected (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, source TEXT NOT NULL, reason TEXT NOT NULL);
INSERT INTO meta VALUES ('knowledge_version', '7');
INSERT INTO knowledge VALUES ('release_order', 'HF1', 7, '{"order_no": "HF1"}', '粤B12345');
INSERT INTO passes VALUES ('n1-L1-1', 'L1', '2026-01-01T00:00:00+00:00', '{"plate": "粤B12345"}', '{}');
INSERT INTO outbox (kind, body, created_at) VALUES ('pass', '{"pass_id": "n1-L1-1"}', '2026-01-01T00:00:00+00:00');
"""


def _tables(path: Path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}


def _version(path: Path) -> int:
    with sqlite3.connect(path) as db:
        return int(db.execute("PRAGMA user_version").fetchone()[0])


def test_a_file_from_the_oldest_release_upgrades_with_nothing_lost(tmp_path: Path) -> None:
    path = tmp_path / "edge.db"
    with sqlite3.connect(path) as db:
        db.executescript(OLDEST)
    store = EdgeStore(path)
    try:
        assert store.stream_versions() == {"*": 7}  # the old single version is the broadcast stream's
        assert store.query("SELECT key, stream FROM knowledge") == [("HF1", "*")]
        assert store.query("SELECT pass_id FROM passes") == [("n1-L1-1",)]
        assert store.query("SELECT kind, acked FROM outbox") == [("pass", 0)]  # still to be sent
    finally:
        store.close()
    assert _version(path) == schema.LATEST
    fresh = tmp_path / "fresh.db"
    EdgeStore(fresh).close()
    assert _tables(path) == _tables(fresh)  # the same tables as a node installed today


def test_opening_an_up_to_date_file_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "edge.db"
    EdgeStore(path).close()
    with sqlite3.connect(path) as db:
        before = db.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall()
    EdgeStore(path).close()
    with sqlite3.connect(path) as db:
        assert db.execute("SELECT sql FROM sqlite_master ORDER BY name").fetchall() == before
    assert _version(path) == schema.LATEST


def test_an_upgrade_that_fails_leaves_the_file_as_it_was(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "edge.db"
    with sqlite3.connect(path) as db:
        db.executescript(OLDEST)

    def broken(db: sqlite3.Connection) -> None:
        db.execute("CREATE TABLE half_done (x)")
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(schema, "STEPS", [*schema.STEPS, broken])
    monkeypatch.setattr(schema, "LATEST", len(schema.STEPS) + 1)
    with pytest.raises(sqlite3.OperationalError):
        EdgeStore(path)
    assert _version(path) == 0 and "half_done" not in _tables(path) and "knowledge_streams" not in _tables(path)
    monkeypatch.undo()
    EdgeStore(path).close()  # the fixed kakou then upgrades it
    assert _version(path) == schema.LATEST


def test_a_file_from_a_newer_kakou_is_refused(tmp_path: Path) -> None:
    path = tmp_path / "edge.db"
    EdgeStore(path).close()
    with sqlite3.connect(path) as db:
        db.execute(f"PRAGMA user_version = {schema.LATEST + 1}")
    with pytest.raises(schema.SchemaTooNew, match="newer"):
        EdgeStore(path)
