"""Backups restore what was written before them: edge store (with its outbox state) and central."""

from __future__ import annotations

import argparse
import secrets
import threading
from pathlib import Path

import pytest
from ops_helpers import a_pass, envelope

from kakou import cli_ops
from kakou.backup import BackupError, backup_central, backup_edge, restore_central, restore_edge
from kakou.central import ingest
from kakou.central.db import create_schema, make_engine, make_sessionmaker
from kakou.central.service import Central
from kakou.edge.store import EdgeStore

PG = "postgresql+psycopg://postgres@127.0.0.1:5432"


def _cli(*argv: str) -> int:
    p = argparse.ArgumentParser()
    cli_ops.register(p.add_subparsers(dest="command", required=True))
    args = p.parse_args(argv)
    return int(args.func(args))


def test_edge_backup_while_the_node_writes_restores_passes_and_outbox_state(tmp_path: Path) -> None:
    store = EdgeStore(tmp_path / "node" / "edge.db")
    for n in range(20):
        store.record_pass(a_pass("n1", "L1", n), {"n": n})
    store.mark_acked(12)  # central has stored 1..12; 13..20 still queued
    # The lane keeps writing while the backup runs (another thread, the same live store).
    stop, written = threading.Event(), [20]

    def lane() -> None:
        while not stop.is_set():
            store.record_pass(a_pass("n1", "L2", written[0]), {})
            written[0] += 1

    t = threading.Thread(target=lane)
    t.start()
    try:
        summary = backup_edge(tmp_path / "node" / "edge.db", tmp_path / "bk" / "edge.db")
    finally:
        stop.set()
        t.join()
    # A consistent snapshot: every pass in it has its outbox row, acknowledgements as they were.
    assert summary.passes >= 20
    assert summary.passes == summary.outbox_queued + summary.outbox_acknowledged == summary.last_seq
    assert summary.outbox_acknowledged == 12

    store.close()
    restored = restore_edge(tmp_path / "bk" / "edge.db", tmp_path / "new" / "edge.db")
    assert restored == summary
    node = EdgeStore(tmp_path / "new" / "edge.db")
    try:
        assert node.get_pass("n1-L1-0") is not None
        assert node.acked_seq == 12
        assert [r[0] for r in node.unacked(0, 1000)] == list(range(13, summary.last_seq + 1))
        assert node.record_pass(a_pass("n1", "L1", 999), {}) == summary.last_seq + 1
    finally:
        node.close()


def test_restore_with_seq_floor_never_reuses_a_seq_central_holds(tmp_path: Path) -> None:
    store = EdgeStore(tmp_path / "edge.db")
    for n in range(5):
        store.record_pass(a_pass("n1", "L1", n), {})
    backup_edge(tmp_path / "edge.db", tmp_path / "bk.db")
    for n in range(5, 9):  # written after the backup, and central stored them: high_water 8
        store.record_pass(a_pass("n1", "L1", n), {})
    store.close()

    with pytest.raises(BackupError, match="--force"):
        restore_edge(tmp_path / "bk.db", tmp_path / "edge.db")
    summary = restore_edge(tmp_path / "bk.db", tmp_path / "edge.db", seq_floor=8, force=True)
    assert (summary.passes, summary.outbox_queued) == (5, 0)
    node = EdgeStore(tmp_path / "edge.db")
    try:
        assert node.record_pass(a_pass("n1", "L1", 100), {}) == 9
        assert node.acked_seq == 8
    finally:
        node.close()


def test_edge_cli_backup_and_restore(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = EdgeStore(tmp_path / "edge.db")
    store.record_pass(a_pass("n1", "L1", 1), {})
    store.close()
    assert _cli("backup", "edge", "--db", str(tmp_path / "edge.db"), "--out", str(tmp_path / "bk.db")) == 0
    assert "1 passes, outbox 1 queued" in capsys.readouterr().out
    assert _cli("restore", "edge", str(tmp_path / "bk.db"), "--db", str(tmp_path / "r" / "edge.db")) == 0
    assert "no --seq-floor" in capsys.readouterr().err
    # Bad input: a clear error, nothing written.
    assert _cli("backup", "edge", "--db", str(tmp_path / "missing.db"), "--out", str(tmp_path / "x.db")) == 2
    assert "no database at" in capsys.readouterr().err
    assert not (tmp_path / "x.db").exists()
    (tmp_path / "junk.db").write_bytes(b"not a database at all" * 100)
    assert _cli("restore", "edge", str(tmp_path / "junk.db"), "--db", str(tmp_path / "r2" / "edge.db")) == 2
    assert not (tmp_path / "r2" / "edge.db").exists()


def _central(url: str) -> tuple[Central, object]:
    engine = make_engine(url)
    create_schema(engine)
    return Central(make_sessionmaker(engine)), engine


def _roundtrip(src_url: str, dst_url: str, out: Path) -> None:
    central, engine = _central(src_url)
    before = a_pass("n1", "L1", 1)
    assert ingest.ingest_pass(central, envelope(before, 1)) == 1
    backup_central(src_url, out)
    ingest.ingest_pass(central, envelope(a_pass("n1", "L1", 2), 2))  # after the backup: not in it
    engine.dispose()  # type: ignore[attr-defined]

    restore_central(out, dst_url)
    restored, engine = _central(dst_url)
    try:
        total, rows = ingest.list_passes(restored, 10, 0, node="n1")
        assert total == 1 and rows[0].pass_id == before.pass_id
        # Idempotency survives the restore: the edge's resend of seq 1 is a duplicate, seq 2 is new.
        assert ingest.ingest_pass(restored, envelope(before, 1)) == 1
        assert ingest.ingest_pass(restored, envelope(a_pass("n1", "L1", 2), 2)) == 2
    finally:
        engine.dispose()  # type: ignore[attr-defined]
    with pytest.raises(BackupError, match="--force"):
        restore_central(out, dst_url)


def test_central_sqlite_backup_and_restore(tmp_path: Path) -> None:
    _roundtrip(f"sqlite:///{tmp_path / 'central.db'}", f"sqlite:///{tmp_path / 'restored.db'}", tmp_path / "bk.db")


def _pg_admin():
    try:
        import psycopg

        return psycopg.connect("host=127.0.0.1 port=5432 dbname=test user=postgres", connect_timeout=2, autocommit=True)
    except Exception as exc:  # any failure means: not available on this machine
        pytest.skip(f"PostgreSQL not reachable at 127.0.0.1:5432/test: {str(exc).splitlines()[0]}")


def test_central_postgresql_pg_dump_and_pg_restore(tmp_path: Path) -> None:
    admin = _pg_admin()
    names = [f"kakou_bk_{secrets.token_hex(4)}_{part}" for part in ("src", "dst")]
    try:
        for name in names:
            admin.execute(f'CREATE DATABASE "{name}"')
        _roundtrip(f"{PG}/{names[0]}", f"{PG}/{names[1]}", tmp_path / "central.dump")
        assert _cli("backup", "central", "--db-url", f"{PG}/kakou_no_such_db", "--out", str(tmp_path / "x")) == 2
    finally:
        for name in names:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()
