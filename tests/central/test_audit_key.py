"""The audit chain is keyed (HMAC-SHA256) with a key kept outside the database: rewriting an entry
and recomputing every later hash, as someone with only database access would, is detected."""

from __future__ import annotations

import argparse
import stat
from pathlib import Path

import pytest
from sqlalchemy import select, text

from kakou.central import audit, audit_key, registry
from kakou.central.service import Central
from kakou.central.tables import AuditHeadRow, AuditRow
from kakou.cli_central import register_central


def _write(central: Central, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        registry.upsert(central, f"officer{i % 2}", "carrier", {"code": f"C{i:03d}", "name": f"carrier {i}"})


def _rewrite_actor(central: Central, seq: int, actor: str) -> None:
    """The issue's attack: change one entry's actor and recompute every later hash (and the head)
    with the published algorithm, everything but the key."""
    with central.sessions.begin() as s:
        rows = list(s.scalars(select(AuditRow).where(AuditRow.seq >= seq).order_by(AuditRow.seq)))
        prev = rows[0].prev_hash
        for r in rows:
            if r.seq == seq:
                r.actor = actor
            r.prev_hash = prev
            r.hash = audit.entry_hash(prev, r.seq, r.at, r.actor, r.action, r.target, r.detail)
            prev = r.hash
        head = s.get(AuditHeadRow, 1)
        assert head is not None
        head.hash = prev


def test_the_attack_passes_an_unkeyed_chain_but_not_a_keyed_one(central: Central, tmp_path: Path) -> None:
    central.audit_key = audit.load_or_create_key(central, tmp_path / "keys" / "audit-hmac.key")
    _write(central, 5)
    assert audit.verify(central).ok
    _rewrite_actor(central, 2, "mallory")
    bad = audit.verify(central)
    assert (bad.ok, bad.seq, bad.problem) == (False, 2, "entry 2 was altered")


def test_the_key_file_is_private_and_never_in_the_database(central: Central, tmp_path: Path) -> None:
    path = tmp_path / "keys" / "audit-hmac.key"
    key = audit.load_or_create_key(central, path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert audit.load_or_create_key(central, path) == key  # the next start reads the same key
    central.audit_key = key
    _write(central, 3)
    with central.sessions() as s:
        stored = [str(v) for row in s.execute(select(AuditRow)).all() for v in row[0].__dict__.values()]
        stored += [str(v) for v in s.execute(text("SELECT * FROM audit_head")).one()]
    assert not any(key.key_hex in v for v in stored)
    path.chmod(0o644)
    with pytest.raises(audit_key.AuditKeyError, match="readable by others"):
        audit_key.load(path)


def test_an_old_unkeyed_chain_is_verified_up_to_the_checkpoint_and_keyed_after(
    central: Central, tmp_path: Path
) -> None:
    _write(central, 3)  # written before this central had a key
    central.audit_key = audit.load_or_create_key(central, tmp_path / "audit.key")
    assert central.audit_key.keyed_from == 4
    _write(central, 3, start=3)
    assert audit.verify(central) == audit.VerifyResult(6, True)
    with central.sessions() as s:
        first_keyed = s.get(AuditRow, 4)
        assert first_keyed is not None and first_keyed.hash != audit.entry_hash(
            first_keyed.prev_hash,
            4,
            first_keyed.at,
            first_keyed.actor,
            first_keyed.action,
            first_keyed.target,
            first_keyed.detail,
        )
    _rewrite_actor(central, 1, "mallory")  # rewriting the old part breaks the first keyed entry
    bad = audit.verify(central)
    assert (bad.ok, bad.seq) == (False, 4)


def test_cli_keys_the_chain_and_verify_finds_the_rewrite(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    register_central(parser.add_subparsers(dest="sub"))
    key_file = tmp_path / "elsewhere" / "audit.key"
    db = ["--data-dir", str(tmp_path / "data"), "--audit-key", str(key_file)]

    def run(*argv: str) -> int:
        args = parser.parse_args(list(argv))
        return int(args.func(args))

    assert run("user", "add", "root", "--role", "admin", "--password", "Str0ng-enough-pw", *db) == 0
    assert run("user", "add", "bob", "--role", "reviewer", "--password", "Str0ng-enough-pw", *db) == 0
    assert stat.S_IMODE(key_file.stat().st_mode) == 0o600
    assert run("audit", "verify", *db) == 0
    assert "2 entries, hash chain verified (keyed from entry 1)" in capsys.readouterr().out
    from kakou.central.db import make_engine, make_sessionmaker

    engine = make_engine(f"sqlite:///{tmp_path / 'data' / 'central.db'}")
    _rewrite_actor(Central(make_sessionmaker(engine)), 1, "mallory")
    assert run("audit", "verify", *db) == 1
    assert "entry 1 was altered" in capsys.readouterr().err
    key_file.write_text("not a key")
    assert run("audit", "verify", *db) == 2
    assert "malformed" in capsys.readouterr().err
