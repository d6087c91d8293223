"""Central's service layer: the unit of work the operations in orders.py, ingest.py… run in.

No HTTP or MQTT here; the API routes and the MQTT bridge call the operations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, TypeVar

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from kakou.central.audit_key import AuditKey
from kakou.central.db import create_schema, make_engine, make_sessionmaker

if TYPE_CHECKING:
    from kakou.central.auth import PasswordRules


R = TypeVar("R")


class Conflict(Exception):
    """The request contradicts what is stored (e.g. a duplicate order number)."""


class NotFound(Exception):
    """The referenced record does not exist."""


@dataclass
class Central:
    sessions: sessionmaker
    # Called after a change-log entry is committed, with its version; the MQTT bridge publishes it.
    on_change: list[Callable[[int], None]] = field(default_factory=list)
    # Bearer tokens recently checked (auth.authenticate): token digest → (principal, token expiry,
    # trusted until on the monotonic clock). Saves two queries on nearly every request.
    token_cache: dict[str, tuple[Any, datetime, float]] = field(default_factory=dict)
    # Login failure handling (GB/T 22239 三级): after this many wrong passwords in a row a login is
    # locked for `login_lock_for`; `kakou central serve --login-lock-after/--login-lock-minutes`.
    login_lock_after: int = 5
    login_lock_for: timedelta = timedelta(minutes=15)
    # Password rules (auth.PasswordRules) and the idle timeout: a token unused this long is refused.
    password_rules: PasswordRules = field(default_factory=lambda: _default_rules())
    idle_timeout: timedelta = timedelta(minutes=30)
    # The audit chain's key (audit_key.py): None only for a chain never keyed (tests, tools).
    audit_key: AuditKey | None = None
    # 三员分立: the all-powerful `admin` role is refused everywhere; the system, security and audit
    # administrators do the work (`kakou central serve --separate-duties`).
    separate_duties: bool = False
    # A lane device down (fault/offline) longer than this raises an alert (device_health.check_down);
    # `kakou central serve --device-down-alert-minutes M`.
    device_down_alert_after: timedelta = timedelta(minutes=10)
    _reads: sessionmaker | None = field(default=None, repr=False)

    def read(self) -> Session:
        """A session for reads only, outside any transaction: no BEGIN and no ROLLBACK round trip
        per request (half the database round trips of a list or detail call). Each statement sees
        the latest committed data; never write through it."""
        if self._reads is None:
            engine = self.sessions.kw["bind"]
            self._reads = sessionmaker(engine.execution_options(isolation_level="AUTOCOMMIT"), expire_on_commit=False)
        return self._reads()

    def notify(self, version: int) -> None:
        for callback in self.on_change:
            callback(version)


def _default_rules() -> PasswordRules:
    from kakou.central.auth import PasswordRules

    return PasswordRules()


def row_or_missing(s: Session, table: type[R], key: Any, what: str) -> R:
    """The row of `table` with primary key `key`; NotFound ("no {what} {key}") when there is none."""
    row = s.get(table, key)
    if row is None:
        raise NotFound(f"no {what} {key}")
    return row


def fetch(c: Central, table: type[R], key: Any, what: str) -> R:
    """`row_or_missing` in a session of its own: the row outlives it (read-only use)."""
    with c.sessions() as s:
        return row_or_missing(s, table, key, what)


def open_central(url: str, **settings: Any) -> tuple[Central, Engine]:
    """Central on the database at `url`, its tables created where missing, and the engine (to dispose
    of). `settings`: Central's fields, e.g. the server's security and operations settings."""
    engine = make_engine(url)
    create_schema(engine)
    return Central(make_sessionmaker(engine), **settings), engine
