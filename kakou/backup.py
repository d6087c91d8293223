"""Backups and restores of the edge store and of central's database.

Edge (and central on SQLite): the sqlite3 online backup API copies a consistent snapshot while the
node keeps writing (WAL: the copy holds a read snapshot, the lane's writes go on). The copy is written
to a temporary file, checked with `PRAGMA integrity_check` and renamed into place, so a crash never
leaves a half-written backup under the final name.

Central on PostgreSQL: `pg_dump --format=custom` and `pg_restore --clean --if-exists`.
"""

from __future__ import annotations

import os
import shutil
import sqlite3
import subprocess
from dataclasses import dataclass
from pathlib import Path

from sqlalchemy.engine import make_url


class BackupError(Exception):
    """A backup or restore that cannot be done; the message says why and what to do."""


@dataclass
class EdgeSummary:
    passes: int
    outbox_queued: int
    outbox_acknowledged: int
    last_seq: int
    knowledge_version: int

    def line(self) -> str:
        return (
            f"{self.passes} passes, outbox {self.outbox_queued} queued / {self.outbox_acknowledged} acknowledged, "
            f"last seq {self.last_seq}, knowledge version {self.knowledge_version}"
        )


def _check(db: sqlite3.Connection, what: str) -> None:
    try:
        result = db.execute("PRAGMA integrity_check").fetchone()
    except sqlite3.DatabaseError as exc:
        raise BackupError(f"{what} is not a usable SQLite database: {exc}") from exc
    if not result or result[0] != "ok":
        raise BackupError(f"{what} failed its integrity check: {result}")


def _copy_sqlite(src_path: Path, out: Path) -> None:
    """Online backup of `src_path` into `out` (atomically replaced)."""
    if not src_path.is_file():
        raise BackupError(f"no database at {src_path}")
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    tmp.unlink(missing_ok=True)
    # Read-only URI: the backup never creates or changes the live database.
    src = sqlite3.connect(f"file:{src_path.resolve()}?mode=ro", uri=True, timeout=30)
    try:
        dst = sqlite3.connect(tmp)
        try:
            try:
                src.backup(dst)  # one step: a single consistent snapshot; writers are not blocked (WAL)
            except sqlite3.DatabaseError as exc:
                raise BackupError(f"cannot back up {src_path}: {exc}") from exc
            dst.execute("PRAGMA journal_mode=DELETE")  # one self-contained file, no -wal beside it
            _check(dst, f"backup {out}")
        finally:
            dst.close()
    finally:
        src.close()
    os.replace(tmp, out)


def _restore_sqlite(backup: Path, target: Path, force: bool) -> sqlite3.Connection:
    """Copy `backup` into `target` through SQLite (so an old -wal/-shm beside it cannot resurrect rows).

    Returns an open connection to the restored target; the caller closes it.
    """
    if not backup.is_file():
        raise BackupError(f"no backup file at {backup}")
    src = sqlite3.connect(f"file:{backup.resolve()}?mode=ro", uri=True)
    try:
        _check(src, f"backup {backup}")
        if target.exists() and not force:
            raise BackupError(f"{target} exists; stop the service and pass --force to overwrite it")
        target.parent.mkdir(parents=True, exist_ok=True)
        dst = sqlite3.connect(target, timeout=30)
        src.backup(dst)
    finally:
        src.close()
    dst.execute("PRAGMA journal_mode=WAL")
    _check(dst, f"restored {target}")
    return dst


# -- edge --------------------------------------------------------------------------------------
def edge_summary(db_path: Path) -> EdgeSummary:
    db = sqlite3.connect(f"file:{db_path.resolve()}?mode=ro", uri=True)
    try:
        one = lambda sql: int((db.execute(sql).fetchone() or (0,))[0] or 0)  # noqa: E731
        return EdgeSummary(
            passes=one("SELECT COUNT(*) FROM passes"),
            outbox_queued=one("SELECT COUNT(*) FROM outbox WHERE acked = 0"),
            outbox_acknowledged=one("SELECT COUNT(*) FROM outbox WHERE acked = 1"),
            last_seq=one("SELECT seq FROM sqlite_sequence WHERE name = 'outbox'"),
            knowledge_version=one("SELECT value FROM meta WHERE key = 'knowledge_version'"),
        )
    finally:
        db.close()


def backup_edge(db_path: Path, out: Path) -> EdgeSummary:
    """Consistent copy of a (possibly running) edge node's store; returns what it holds."""
    _copy_sqlite(db_path, out)
    return edge_summary(out)


def restore_edge(backup: Path, db_path: Path, seq_floor: int | None = None, force: bool = False) -> EdgeSummary:
    """Put a backup in place of the node's store (node stopped).

    `seq_floor`: the highest seq central holds for this node (`GET /api/v1/nodes`, `high_water`). A
    backup is older than the node's last pass; without the floor the restored node would give new
    passes seq numbers central already stored, and central would take them for duplicates. With it,
    the outbox continues above the floor, and rows up to the floor count as acknowledged.
    """
    dst = _restore_sqlite(backup, db_path, force)
    try:
        if seq_floor is not None:
            with dst:
                dst.execute("UPDATE outbox SET acked = 1 WHERE seq <= ?", (seq_floor,))
                dst.execute(
                    "INSERT INTO meta(key, value) VALUES('acked_seq', ?) ON CONFLICT(key) DO UPDATE "
                    "SET value = MAX(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
                    (str(seq_floor),),
                )
                # sqlite_sequence has a row for outbox once any pass was written; insert one otherwise.
                cur = dst.execute("UPDATE sqlite_sequence SET seq = MAX(seq, ?) WHERE name = 'outbox'", (seq_floor,))
                if cur.rowcount == 0:
                    dst.execute("INSERT INTO sqlite_sequence(name, seq) VALUES('outbox', ?)", (seq_floor,))
    finally:
        dst.close()
    return edge_summary(db_path)


# -- central -----------------------------------------------------------------------------------
def _sqlite_path(url: str) -> Path | None:
    u = make_url(url)
    if u.get_backend_name() != "sqlite":
        return None
    if not u.database or u.database == ":memory:":
        raise BackupError(f"{url} is not a database file")
    return Path(u.database)


def _libpq_url(url: str) -> str:
    """SQLAlchemy's postgresql+psycopg://… as the plain postgresql://… the pg_* tools take."""
    u = make_url(url)
    if u.get_backend_name() != "postgresql":
        raise BackupError(f"only SQLite and PostgreSQL URLs can be backed up, not {u.get_backend_name()}")
    return u.set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise BackupError(f"{name} is not installed (apt-get install postgresql-client)")
    return path


def _run(cmd: list[str]) -> None:
    proc = subprocess.run(cmd, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise BackupError(f"{Path(cmd[0]).name} failed ({proc.returncode}): {proc.stderr.strip()[-2000:]}")


def backup_central(db_url: str, out: Path) -> str:
    """Back up central's database; returns how (for the message)."""
    path = _sqlite_path(db_url)
    if path is not None:
        _copy_sqlite(path, out)
        return "sqlite online backup"
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".partial")
    _run([_pg_tool("pg_dump"), "--format=custom", "--no-owner", f"--file={tmp}", f"--dbname={_libpq_url(db_url)}"])
    os.replace(tmp, out)
    return "pg_dump (custom format)"


def _pg_has_tables(db_url: str) -> bool:
    from sqlalchemy import create_engine, inspect

    engine = create_engine(db_url)
    try:
        return bool(inspect(engine).get_table_names())
    except Exception as exc:  # unreachable server, missing database, bad login: say which
        raise BackupError(f"cannot open {make_url(db_url).render_as_string()}: {exc}") from exc
    finally:
        engine.dispose()


def restore_central(backup: Path, db_url: str, force: bool = False) -> str:
    """Restore central's database from `backup` (central stopped). PostgreSQL: the database must exist."""
    path = _sqlite_path(db_url)
    if path is not None:
        _restore_sqlite(backup, path, force).close()
        return "sqlite"
    if not backup.is_file():
        raise BackupError(f"no backup file at {backup}")
    if not force and _pg_has_tables(db_url):
        raise BackupError("the target database has tables; stop central and pass --force to replace them")
    # --clean drops what the dump recreates; one transaction, so a failed restore changes nothing.
    _run(
        [
            _pg_tool("pg_restore"),
            "--clean",
            "--if-exists",
            "--no-owner",
            "--single-transaction",
            f"--dbname={_libpq_url(db_url)}",
            str(backup),
        ]
    )
    return "pg_restore"
