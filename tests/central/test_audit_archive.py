"""Audit retention and archiving (GB/T 22239 三级, issue 15): entries are kept at least 180 days,
then moved to a sealed file; the chain still verifies across the boundary, and an altered archive
or database is found."""

from __future__ import annotations

import hashlib
import json
from datetime import datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import delete, func, select

from kakou import cli
from kakou.central import audit, audit_archive, auth
from kakou.central.auth import Role
from kakou.central.service import Central
from kakou.central.tables import AuditRow

PASSWORD = "Correct horse battery 9"


def _write_entries(central: Central, monkeypatch: pytest.MonkeyPatch, days_ago: float, names: list[str]) -> None:
    real = datetime

    class Then(datetime):
        @classmethod
        def now(cls, tz=None):
            return real.now(tz) - timedelta(days=days_ago)

    monkeypatch.setattr(audit, "datetime", Then)
    for name in names:
        auth.add_user(central, "sec", name, Role.LANE_OFFICER, PASSWORD)
    monkeypatch.setattr(audit, "datetime", real)


@pytest.fixture
def keyed(central: Central, tmp_path: Path) -> Central:
    central.audit_key = audit.load_or_create_key(central, tmp_path / "keys" / "audit-hmac.key")
    return central


def _seqs(central: Central) -> list[int]:
    with central.sessions() as s:
        return list(s.scalars(select(AuditRow.seq).order_by(AuditRow.seq)))


def test_entries_past_the_retention_move_to_a_sealed_file_and_the_chain_still_verifies(
    keyed: Central, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_entries(keyed, monkeypatch, 400, ["a1", "a2", "a3"])
    _write_entries(keyed, monkeypatch, 200, ["b1", "b2"])
    _write_entries(keyed, monkeypatch, 10, ["c1", "c2"])  # within the retention: stays
    assert _seqs(keyed) == [1, 2, 3, 4, 5, 6, 7]

    done = audit_archive.archive(keyed, "aud", tmp_path / "archive")
    assert (done.first_seq, done.last_seq, done.entries) == (1, 5, 5)
    assert done.path is not None and done.path.exists()
    lines = done.path.read_text(encoding="utf-8").splitlines()
    assert [json.loads(x)["target"] for x in lines[:-1]] == ["user:a1", "user:a2", "user:a3", "user:b1", "user:b2"]
    assert "seal" in json.loads(lines[-1])
    assert _seqs(keyed) == [6, 7, 8]  # 8: the archiving itself
    with keyed.sessions() as s:
        last = s.scalar(select(AuditRow).where(AuditRow.seq == 8))
        assert last is not None and last.action == "audit.archive" and last.actor == "aud"

    assert audit.verify(keyed) == audit.VerifyResult(3, True)  # across the boundary
    assert audit_archive.verify_file(keyed, done.path).ok
    # Nothing more is old enough: a second run archives nothing and deletes nothing.
    assert audit_archive.archive(keyed, "aud", tmp_path / "archive").entries == 0
    _write_entries(keyed, monkeypatch, 0, ["d1"])
    assert audit.verify(keyed).ok


def test_nothing_is_archived_before_180_days(keyed: Central, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    _write_entries(keyed, monkeypatch, 179, ["a1", "a2"])
    with pytest.raises(ValueError, match="180"):
        audit_archive.archive(keyed, "aud", tmp_path, older_than=timedelta(days=90))
    assert audit_archive.archive(keyed, "aud", tmp_path).entries == 0
    assert _seqs(keyed) == [1, 2] and list(tmp_path.glob("audit-*")) == []


def test_an_altered_archive_or_a_removed_entry_after_it_is_found(
    keyed: Central, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _write_entries(keyed, monkeypatch, 300, ["a1", "a2", "a3"])
    _write_entries(keyed, monkeypatch, 1, ["b1", "b2"])
    done = audit_archive.archive(keyed, "aud", tmp_path)
    assert done.path is not None
    good = done.path.read_text(encoding="utf-8")

    # An entry's actor rewritten and its hash and every later one recomputed, and the file re-sealed
    # without the key: the seal (HMAC under the key outside the database) does not match.
    lines = good.splitlines(keepends=True)
    entries = [json.loads(x) for x in lines[:-1]]
    entries[1]["actor"] = "someone-else"
    prev = entries[0]["hash"]
    for e in entries[1:]:
        e["prev_hash"] = prev
        e["hash"] = prev = audit_archive.entry_hash(prev, e, keyed.audit_key.key if keyed.audit_key else None)
    body = [json.dumps(e, ensure_ascii=False, sort_keys=True, separators=(",", ":")) + "\n" for e in entries]
    seal = json.loads(lines[-1])
    done.path.write_text("".join(body) + json.dumps(seal) + "\n", encoding="utf-8")
    assert (
        audit_archive.verify_file(keyed, done.path).problem
        == "the archive's entries are not the ones it was sealed with"
    )
    # Re-sealed as an unkeyed archive, with the new lines' digest: the seal is checked with the key.
    seal["archive"] |= {"sha256": hashlib.sha256("".join(body).encode()).hexdigest(), "keyed": False, "last_hash": prev}
    seal["seal"] = hashlib.sha256(
        json.dumps(seal["archive"], sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    done.path.write_text("".join(body) + json.dumps(seal) + "\n", encoding="utf-8")
    assert "seal does not match" in str(audit_archive.verify_file(keyed, done.path).problem)
    done.path.write_text(good, encoding="utf-8")
    assert audit_archive.verify_file(keyed, done.path).ok

    # The first entry kept in the database removed: the chain no longer starts where the archive ends.
    with keyed.sessions.begin() as s:
        first = s.scalar(select(func.min(AuditRow.seq)))
        s.execute(delete(AuditRow).where(AuditRow.seq == first))
    bad = audit.verify(keyed)
    assert not bad.ok and bad.seq == first


def test_the_cli_archives_and_verifies_and_refuses_a_short_retention(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    data = tmp_path / "central"
    monkeypatch.setenv("KAKOU_PASSWORD", PASSWORD)
    real = datetime

    class Then(datetime):
        @classmethod
        def now(cls, tz=None):
            return real.now(tz) - timedelta(days=365)

    monkeypatch.setattr(audit, "datetime", Then)
    assert cli.main(["central", "user", "add", "old-aud", "--role", "audit_admin", "--data-dir", str(data)]) == 0
    monkeypatch.setattr(audit, "datetime", real)
    assert cli.main(["central", "user", "add", "new-aud", "--role", "audit_admin", "--data-dir", str(data)]) == 0
    assert (
        cli.main(
            [
                "central",
                "audit",
                "archive",
                "--older-than-days",
                "30",
                "--out",
                str(tmp_path / "a"),
                "--data-dir",
                str(data),
            ]
        )
        == 2
    )
    assert "180" in capsys.readouterr().err
    assert cli.main(["central", "audit", "archive", "--out", str(tmp_path / "a"), "--data-dir", str(data)]) == 0
    assert "archived entries 1-1 (1)" in capsys.readouterr().out
    [archive] = list((tmp_path / "a").glob("audit-*.jsonl"))
    assert cli.main(["central", "audit", "verify", "--archive", str(archive), "--data-dir", str(data)]) == 0
    out = capsys.readouterr().out
    assert "intact: 1 entries, seal and chain verified" in out and "audit log intact: 2 entries" in out
