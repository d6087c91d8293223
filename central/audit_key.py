"""The audit chain's key (GB/T 22239 三级: an audit trail whose rewrite is detected).

Each audit entry's hash is an HMAC-SHA256 under a key kept in a file outside the database
(default: `<data dir>/keys/audit-hmac.key`, created at first start with mode 0600). Whoever can
write the database but cannot read that file can no longer rewrite an entry and recompute every
later hash: `kakou central audit verify` recomputes them with the key and finds the entry.

A chain begun before the key existed (plain SHA-256) stays as it is: the key file records the
first entry it keys (`keyed_from`), entries before it are verified unkeyed as before, and since the
first keyed entry's HMAC covers the hash of the last unkeyed one, rewriting the old part is
detected too.
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, ValidationError


class AuditKey(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    key_hex: str = Field(pattern=r"^[0-9a-f]{64}$")
    keyed_from: int = Field(ge=1)  # the first audit entry whose hash is keyed

    @property
    def key(self) -> bytes:
        return bytes.fromhex(self.key_hex)


class AuditKeyError(Exception):
    """The key file is unreadable, malformed or readable by others."""


def load(path: Path) -> AuditKey | None:
    """The key in `path`, or None when there is no such file."""
    try:
        raw = path.read_text()
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise AuditKeyError(f"审计密钥文件无法读取 / cannot read the audit key {path}: {exc}") from exc
    if os.name == "posix" and path.stat().st_mode & 0o077:
        raise AuditKeyError(f"审计密钥文件权限过宽 / the audit key {path} is readable by others: chmod 600 it")
    try:
        return AuditKey.model_validate_json(raw)
    except ValidationError as exc:
        raise AuditKeyError(f"审计密钥文件格式错误 / the audit key {path} is malformed: {exc}") from exc


def create(path: Path, keyed_from: int) -> AuditKey:
    """Write a new random key to `path` (mode 0600; refuses to overwrite one)."""
    key = AuditKey(key_hex=secrets.token_hex(32), keyed_from=keyed_from)
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(key.model_dump_json() + "\n")
    return key
