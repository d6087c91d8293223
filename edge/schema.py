"""The edge store's schema: every table of the node's SQLite file, and its migrations.

Nodes upgrade one by one, in the field, with passes in their outbox that must not be lost. So the
schema has a number (`PRAGMA user_version`), and every change is a numbered step below, applied
at open in order, all pending steps in one transaction: an upgrade that fails half-way leaves the
file as it was (and its number), and the node refuses to start rather than run on half a schema.

Step 1 adopts every file written before the schema had a number (user_version 0): it creates what
is missing and adds the columns earlier versions added by probing `PRAGMA table_info`, so it is
safe on any of them. Later steps are plain: they run exactly once, on a file at the step before.
Add a step at the end; never edit one that was released.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable

# No ";" inside the statements or their comments: the text is split on it.
_TABLES = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS knowledge (
    kind TEXT NOT NULL, key TEXT NOT NULL, version INTEGER NOT NULL, data TEXT NOT NULL,
    plate TEXT, PRIMARY KEY (kind, key));
CREATE INDEX IF NOT EXISTS knowledge_plate ON knowledge (kind, plate);
CREATE TABLE IF NOT EXISTS passes (
    pass_id TEXT PRIMARY KEY, lane TEXT NOT NULL, decided_at TEXT NOT NULL,
    record TEXT NOT NULL, inputs TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS passes_decided_at ON passes (decided_at);
CREATE TABLE IF NOT EXISTS outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT NOT NULL, body TEXT NOT NULL,
    created_at TEXT NOT NULL, acked INTEGER NOT NULL DEFAULT 0);
CREATE TABLE IF NOT EXISTS rejected (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, source TEXT NOT NULL, reason TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS knowledge_streams (stream TEXT PRIMARY KEY, version INTEGER NOT NULL);
-- officers' actions and the lane's records (kakou.edge.records)
CREATE TABLE IF NOT EXISTS interventions (
    id INTEGER PRIMARY KEY AUTOINCREMENT, at TEXT NOT NULL, lane TEXT NOT NULL, pass_id TEXT,
    officer TEXT NOT NULL, action TEXT NOT NULL, reason TEXT NOT NULL, data TEXT NOT NULL);
CREATE INDEX IF NOT EXISTS interventions_pass ON interventions (pass_id);
CREATE TABLE IF NOT EXISTS images (
    sha256 TEXT PRIMARY KEY, pass_id TEXT NOT NULL, path TEXT NOT NULL, taken_at TEXT NOT NULL,
    bytes INTEGER NOT NULL);
CREATE INDEX IF NOT EXISTS images_taken ON images (taken_at);
CREATE INDEX IF NOT EXISTS images_pass ON images (pass_id);
-- The measured tare: the last weighed pass of a plate (an expression index, so no table scan).
CREATE INDEX IF NOT EXISTS passes_plate ON passes (json_extract(record, '$.plate'), decided_at);
CREATE TABLE IF NOT EXISTS backfill (
    pass_id TEXT PRIMARY KEY, lane TEXT NOT NULL, at TEXT NOT NULL, done_at TEXT, officer TEXT,
    plate TEXT, containers TEXT);
-- the uplink's delivery state (kakou.edge.sync_outbox), rejected: why central quarantined it
CREATE TABLE IF NOT EXISTS outbox_sent (
    seq INTEGER PRIMARY KEY, first_sent_at TEXT NOT NULL, last_sent_at TEXT NOT NULL, attempts INTEGER NOT NULL,
    rejected TEXT);
-- pass images on their way to central (kakou.edge.image_upload)
CREATE TABLE IF NOT EXISTS image_uploads (
    sha256 TEXT PRIMARY KEY, pass_id TEXT NOT NULL, seq INTEGER NOT NULL, status TEXT NOT NULL,
    at TEXT NOT NULL, detail TEXT NOT NULL DEFAULT '');
CREATE TABLE IF NOT EXISTS image_upload_state (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
"""


def _adopt(db: sqlite3.Connection) -> None:
    """Step 1: any file from before the schema had a number, up to the last unnumbered release."""
    for stmt in filter(None, (s.strip() for s in _TABLES.split(";"))):
        db.execute(stmt)
    # Before change streams (scopes) every change was broadcast: the old single version is the
    # broadcast stream's position, and every cached entry belongs to that stream.
    if "stream" not in {r[1] for r in db.execute("PRAGMA table_info(knowledge)")}:
        db.execute("ALTER TABLE knowledge ADD COLUMN stream TEXT NOT NULL DEFAULT '*'")
    if db.execute("SELECT COUNT(*) FROM knowledge_streams").fetchone()[0] == 0:
        old = db.execute("SELECT value FROM meta WHERE key = 'knowledge_version'").fetchone()
        if old and int(old[0]) > 0:
            db.execute("INSERT INTO knowledge_streams(stream, version) VALUES('*', ?)", (int(old[0]),))
    if "rejected" not in {r[1] for r in db.execute("PRAGMA table_info(outbox_sent)")}:
        db.execute("ALTER TABLE outbox_sent ADD COLUMN rejected TEXT")


# Which release orders name a container (any plate): a container seen on another vehicle's open
# order is a legality finding. Kept by triggers on the knowledge cache, so every way the cache is
# written (live batch, snapshot, retired stream) keeps it, and a lookup is an index read, not a
# scan of every order (20 000 cached orders: 40 ms a pass scanned, well under 1 ms indexed).
ORDER_CONTAINERS = [
    "CREATE TABLE IF NOT EXISTS order_containers (container TEXT NOT NULL, key TEXT NOT NULL)",
    "CREATE INDEX IF NOT EXISTS order_containers_container ON order_containers (container)",
    "CREATE INDEX IF NOT EXISTS order_containers_key ON order_containers (key)",
    *(
        f"""CREATE TRIGGER IF NOT EXISTS order_containers_{event.lower()} AFTER {event} ON knowledge
        WHEN NEW.kind = 'release_order' BEGIN
          DELETE FROM order_containers WHERE key = NEW.key;
          INSERT INTO order_containers(container, key)
            SELECT value, NEW.key FROM json_each(CASE WHEN json_valid(NEW.data) THEN NEW.data ELSE '{{}}' END,
                                                 '$.containers') WHERE type = 'text';
        END"""
        for event in ("INSERT", "UPDATE")
    ),
    """CREATE TRIGGER IF NOT EXISTS order_containers_delete AFTER DELETE ON knowledge
        WHEN OLD.kind = 'release_order' BEGIN DELETE FROM order_containers WHERE key = OLD.key; END""",
    # A cache written before these triggers existed: index it once.
    """INSERT INTO order_containers(container, key)
        SELECT j.value, k.key FROM knowledge k,
          json_each(CASE WHEN json_valid(k.data) THEN k.data ELSE '{}' END, '$.containers') j
        WHERE k.kind = 'release_order' AND j.type = 'text' AND NOT EXISTS (SELECT 1 FROM order_containers)""",
]


def _order_containers(db: sqlite3.Connection) -> None:
    """Step 2: the index of which cached release orders name a container (legality)."""
    for stmt in ORDER_CONTAINERS:
        db.execute(stmt)


# Step n is STEPS[n - 1]. Append only.
STEPS: list[Callable[[sqlite3.Connection], None]] = [_adopt, _order_containers]
LATEST = len(STEPS)


class SchemaTooNew(Exception):
    """The file was written by a newer kakou: this one would misread it."""


def migrate(db: sqlite3.Connection) -> int:
    """Bring the open file (autocommit connection) to LATEST in one transaction; its number after."""
    db.execute("BEGIN IMMEDIATE")
    try:
        at = int(db.execute("PRAGMA user_version").fetchone()[0])
        if at > LATEST:
            raise SchemaTooNew(f"edge store schema {at} is newer than this kakou's {LATEST}: upgrade kakou")
        for n in range(at + 1, LATEST + 1):
            STEPS[n - 1](db)
        db.execute(f"PRAGMA user_version = {LATEST:d}")  # transactional: part of this commit
    except BaseException:
        db.execute("ROLLBACK")
        raise
    db.execute("COMMIT")
    return LATEST
