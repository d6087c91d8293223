"""The audit log kept at least 180 days, then archived (GB/T 22239 三级: audit records retained and
protected).

`archive()` (CLI: `kakou central audit archive`) moves the oldest entries — only those older than
the retention, never less than 180 days — into a file: one JSON entry a line, with its hashes, and
a last line that seals it (the range, the last hash, the SHA-256 of the lines, and an HMAC under
the audit key kept outside the database). The file is written and synced before anything is
deleted, the chain is checked over those entries first, and the archive's last hash is kept in
`audit_archives`: the entries left in the database still chain onto it, so `audit.verify` keeps
verifying across the boundary, and `verify_file` checks an archive on its own (CLI: `kakou
central audit verify --archive FILE`). Exported lines (`GET /api/v1/audit/export`) have the same
form.
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import delete, func, select

from kakou.central import audit
from kakou.central.service import Central
from kakou.central.tables import AuditArchiveRow, AuditRow

RETENTION_MIN = timedelta(days=180)


def _line(r: AuditRow) -> str:
    return (
        json.dumps(
            {
                "seq": r.seq,
                "at": r.at,
                "actor": r.actor,
                "action": r.action,
                "target": r.target,
                "detail": r.detail,
                "prev_hash": r.prev_hash,
                "hash": r.hash,
            },
            ensure_ascii=False,
            sort_keys=True,
            separators=(",", ":"),
            default=str,
        )
        + "\n"
    )


def export_lines(c: Central, after: int, limit: int) -> list[str]:
    with c.sessions() as s:
        rows = s.scalars(select(AuditRow).where(AuditRow.seq > after).order_by(AuditRow.seq).limit(limit))
        return [_line(r) for r in rows]


def anchor(s: Any) -> tuple[int, str]:
    """(last archived seq, its hash): where the entries in the database begin; (0, genesis) if none."""
    row = s.scalar(select(AuditArchiveRow).order_by(AuditArchiveRow.last_seq.desc()).limit(1))
    return (row.last_seq, row.last_hash) if row is not None else (0, audit.GENESIS)


def _seal(body: dict[str, Any], key: bytes | None) -> str:
    data = json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    return hmac.new(key, data, hashlib.sha256).hexdigest() if key else hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class Archived:
    path: Path | None
    entries: int
    first_seq: int = 0
    last_seq: int = 0


def archive(
    c: Central,
    actor: str,
    out_dir: Path,
    older_than: timedelta = RETENTION_MIN,
    now: datetime | None = None,
    limit: int = 100_000,
) -> Archived:
    """Move the entries older than `older_than` (at least 180 days) into a sealed file in `out_dir`."""
    if older_than < RETENTION_MIN:
        raise ValueError(f"审计记录至少保留 180 天 / audit entries are kept at least 180 days, not {older_than.days}")
    cutoff = ((now or datetime.now(UTC)) - older_than).isoformat()
    with audit.write(c, actor) as w:
        s = w.session
        last_seq, prev = anchor(s)
        rows = list(s.scalars(select(AuditRow).where(AuditRow.seq > last_seq).order_by(AuditRow.seq).limit(limit)))
        keep = []
        for r in rows:  # the oldest run of entries: stop at the first one still within the retention
            if _aware(r.at) >= _aware(cutoff):
                break
            keep.append(r)
        if not keep:
            return Archived(None, 0)
        # The chain must hold over what leaves the database: an archive of a broken chain would hide it.
        seq = last_seq
        for r in keep:
            key = audit._key_for(c.audit_key, r.seq)
            if (
                r.seq != seq + 1
                or r.prev_hash != prev
                or audit.entry_hash(prev, r.seq, r.at, r.actor, r.action, r.target, r.detail, key) != r.hash
            ):
                raise ValueError(
                    f"审计链在第 {r.seq} 条处不连续，未归档 / the audit chain breaks at entry {r.seq}: nothing archived"
                )
            seq, prev = r.seq, r.hash
        lines = [_line(r) for r in keep]
        digest = hashlib.sha256("".join(lines).encode()).hexdigest()
        body = {
            "first_seq": keep[0].seq,
            "last_seq": keep[-1].seq,
            "last_hash": prev,
            "entries": len(keep),
            "prev_hash": keep[0].prev_hash,
            "sha256": digest,
            "keyed": c.audit_key is not None,
        }
        seal = {"archive": body, "seal": _seal(body, c.audit_key.key if c.audit_key else None)}
        out_dir.mkdir(parents=True, exist_ok=True)
        path = out_dir / f"audit-{keep[0].seq:010d}-{keep[-1].seq:010d}.jsonl"
        tmp = path.with_suffix(".tmp")
        with open(tmp, "w", encoding="utf-8") as f:
            f.writelines(lines)
            f.write(json.dumps(seal, sort_keys=True, separators=(",", ":")) + "\n")
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)  # the file is whole and on disk before a single entry is deleted
        s.add(
            AuditArchiveRow(
                first_seq=body["first_seq"],
                last_seq=body["last_seq"],
                last_hash=prev,
                entries=len(keep),
                file_name=path.name,
                sha256=digest,
                archived_by=actor,
            )
        )
        s.execute(delete(AuditRow).where(AuditRow.seq >= keep[0].seq, AuditRow.seq <= keep[-1].seq))
        w.audit(
            "audit.archive",
            f"audit:{keep[0].seq}-{keep[-1].seq}",
            {"file": path.name, "entries": len(keep), "sha256": digest, "older_than_days": older_than.days},
        )
    return Archived(path, len(keep), keep[0].seq, keep[-1].seq)


def entry_hash(prev_hash: str, e: dict[str, Any], key: bytes | None) -> str:
    """The hash an archived entry (one line of the file, read) chains onto `prev_hash` with."""
    return audit.entry_hash(prev_hash, e["seq"], e["at"], e["actor"], e["action"], e["target"], e["detail"], key)


def verify_file(c: Central, path: Path) -> audit.VerifyResult:
    """Check one archive file: every line chains onto the one before, the seal is intact (HMAC under
    the audit key), and central's record of the archive agrees with it."""
    try:
        raw = path.read_text(encoding="utf-8").splitlines(keepends=True)
        seal = json.loads(raw[-1])
        body, lines = seal["archive"], raw[:-1]
        entries = [json.loads(x) for x in lines]
    except (OSError, ValueError, KeyError, IndexError, TypeError) as exc:
        return audit.VerifyResult(0, False, f"not a readable audit archive: {exc}")
    key = c.audit_key.key if c.audit_key else None  # never the file's word on whether it is keyed
    if not hmac.compare_digest(_seal(body, key), str(seal.get("seal"))):
        return audit.VerifyResult(0, False, "the archive's seal does not match: it was altered or sealed elsewhere")
    if hashlib.sha256("".join(lines).encode()).hexdigest() != body["sha256"] or len(entries) != body["entries"]:
        return audit.VerifyResult(0, False, "the archive's entries are not the ones it was sealed with")
    prev, seq = body["prev_hash"], body["first_seq"] - 1
    for n, e in enumerate(entries):
        if e["seq"] != seq + 1 or e["prev_hash"] != prev:
            return audit.VerifyResult(n, False, f"entry {seq + 1} is missing or out of order", seq + 1)
        if entry_hash(prev, e, audit._key_for(c.audit_key, e["seq"])) != e["hash"]:
            return audit.VerifyResult(n, False, f"entry {e['seq']} was altered", e["seq"])
        prev, seq = e["hash"], e["seq"]
    if prev != body["last_hash"]:
        return audit.VerifyResult(len(entries), False, "the archive does not end where its seal says")
    with c.sessions() as s:
        known = s.scalar(select(AuditArchiveRow).where(AuditArchiveRow.last_seq == body["last_seq"]))
        oldest = s.scalar(select(func.min(AuditArchiveRow.first_seq)))
    if known is None or known.last_hash != prev or known.sha256 != body["sha256"]:
        return audit.VerifyResult(len(entries), False, "central has no record of this archive")
    if body["first_seq"] != oldest and body["prev_hash"] == audit.GENESIS:
        return audit.VerifyResult(len(entries), False, "the archive claims to start the chain but does not")
    return audit.VerifyResult(len(entries), True)


def _aware(at: str) -> datetime:
    d = datetime.fromisoformat(at)
    return d if d.tzinfo else d.replace(tzinfo=UTC)
