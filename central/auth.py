"""Users, roles, password login and bearer tokens.

Passwords are hashed with Argon2id (salted, memory-hard); tokens are random and only their
SHA-256 is stored. Which role may do what is decided per endpoint (routes/deps.py: `require`).
"""

from __future__ import annotations

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import delete, select, update

from kakou.central import audit
from kakou.central.db import aware
from kakou.central.limiter import TokenBucket
from kakou.central.service import Central, Conflict, NotFound
from kakou.central.tables import AuditRow, TokenRow, UserRow

TOKEN_TTL = timedelta(hours=12)
# How long a checked token is trusted without asking the database again. Logout and disabling a
# user take effect at once in the process that handled them; in other worker processes within this.
TOKEN_CACHE_TTL_S = 5.0
# A token's last use is written at most this often; the idle timeout is that much less precise.
_LAST_USED_EVERY = timedelta(seconds=60)
_CACHE_MAX = 20_000  # distinct live tokens kept; beyond, the cache starts over
_hasher = PasswordHasher()


class Role(StrEnum):
    LANE_OFFICER = "lane_officer"
    CENTRAL_OFFICER = "central_officer"
    REVIEWER = "reviewer"
    FIELD_STAFF = "field_staff"
    ADMIN = "admin"  # every power at once: small sites only; a site under 等保三级 separates them (below)
    DECLARANT = "declarant"  # an enterprise user: applies for its own enterprise's orders only
    # 三员分立 (GB/T 22239 三级): three administrators, each doing only its own work and none reading
    # business data (routes/security.py `require`).
    SYSTEM_ADMIN = "system_admin"  # runs the system: nodes, resyncs, projections
    SECURITY_ADMIN = "security_admin"  # users and their roles
    AUDIT_ADMIN = "audit_admin"  # reads, verifies and exports the audit log


# The administrators' roles: granted on the server (`kakou central user add`), never through the
# API, so no administrator can make itself (or a friend) another one.
ADMINISTRATORS = frozenset({Role.ADMIN, Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN})


class AuthError(Exception):
    """Wrong credentials, or an unknown / expired token."""


class LockedOut(AuthError):
    """Too many failed logins in a row: the login is locked until `until` (answered 429)."""

    def __init__(self, until: datetime) -> None:
        super().__init__(
            f"登录失败次数过多，账户已锁定至 {until:%H:%M} UTC / too many failed logins: locked until {until:%H:%M} UTC"
        )
        self.until = until


class NotAllowed(Exception):
    """The actor may not do this to this record (e.g. review what they prepared)."""


@dataclass(frozen=True)
class Principal:
    username: str
    role: Role
    # The password must be changed (first login after an admin set it, or expired) before anything
    # but changing it, `me` and logout (routes/security.py answers 403 password-change-required).
    must_change_password: bool = False


@dataclass(frozen=True)
class PasswordRules:
    """GB/T 22239 三级 password rules; `kakou central serve --password-…` options."""

    min_length: int = 12
    min_classes: int = 3  # of: lower-case, upper-case, digits, others (symbols, spaces, CJK…)
    history: int = 5  # a new password differs from this many last passwords (the current one included)
    max_age: timedelta | None = timedelta(days=90)  # None: passwords never expire


class WeakPassword(ValueError):
    """A new password breaks the password rules (answered 422)."""


def check_rules(rules: PasswordRules, password: str) -> None:
    if len(password) < rules.min_length:
        raise WeakPassword(
            f"密码至少需要 {rules.min_length} 个字符 / the password must have at least {rules.min_length} characters"
        )
    classes = sum(
        (
            any(ch.islower() for ch in password),
            any(ch.isupper() for ch in password),
            any(ch.isdigit() for ch in password),
            any(not ch.isalnum() for ch in password),
        )
    )
    if classes < rules.min_classes:
        raise WeakPassword(
            f"密码须包含大写字母、小写字母、数字、符号中的至少 {rules.min_classes} 类 / "
            f"the password needs at least {rules.min_classes} of: upper-case letters, "
            "lower-case letters, digits, symbols"
        )


def _expired(c: Central, user: UserRow, now: datetime) -> bool:
    max_age = c.password_rules.max_age
    return max_age is not None and aware(user.password_changed_at or user.created_at) + max_age <= now


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def check_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


def add_user(
    c: Central,
    actor: str,
    username: str,
    role: Role,
    password: str,
    display_name: str = "",
    *,
    must_change: bool = False,
) -> None:
    """`must_change`: the user must change this password at first login (an admin set it)."""
    check_rules(c.password_rules, password)
    with audit.write(c, actor) as w:
        if w.session.get(UserRow, username) is not None:
            raise Conflict(f"user {username} already exists")
        w.session.add(
            UserRow(
                username=username,
                role=role.value,
                password_hash=hash_password(password),
                display_name=display_name,
                must_change_password=must_change,
                password_changed_at=datetime.now(UTC),
            )
        )
        w.audit("user.add", f"user:{username}", {"role": role.value, "must_change_password": must_change})


def change_password(c: Central, username: str, current: str, new: str, now: datetime | None = None) -> None:
    """The user's own change: the current password, then the rules and the last passwords."""
    now = now or datetime.now(UTC)
    with c.sessions() as s:
        user = s.get(UserRow, username)
    if user is None or not check_password(user.password_hash, current):
        raise NotAllowed("当前密码不正确 / the current password is wrong")
    check_rules(c.password_rules, new)
    recent = [user.password_hash, *user.password_history][: max(1, c.password_rules.history)]
    if any(check_password(h, new) for h in recent):
        n = max(1, c.password_rules.history)
        raise WeakPassword(
            f"新密码不得与最近 {n} 次使用过的密码相同 / the new password must differ from the last {n} passwords"
        )
    with audit.write(c, username) as w:
        row = w.session.get(UserRow, username)
        assert row is not None
        row.password_history = [row.password_hash, *row.password_history][: max(0, c.password_rules.history - 1)]
        row.password_hash = hash_password(new)
        row.password_changed_at = now
        row.must_change_password = False
        w.audit("user.password_change", f"user:{username}")
    _forget_cached(c, username)


def _forget_cached(c: Central, username: str) -> None:
    for digest, (who, _exp, _until) in list(c.token_cache.items()):
        if who.username == username:
            c.token_cache.pop(digest, None)


def set_disabled(c: Central, actor: str, username: str, disabled: bool) -> None:
    with audit.write(c, actor) as w:
        user = w.session.get(UserRow, username)
        if user is None:
            raise NotFound(f"no user {username}")
        user.disabled = disabled
        if disabled:
            w.session.execute(delete(TokenRow).where(TokenRow.username == username))
            _forget_cached(c, username)
        w.audit("user.disable" if disabled else "user.enable", f"user:{username}")


def list_users(c: Central) -> list[UserRow]:
    with c.sessions() as s:
        return list(s.scalars(select(UserRow).order_by(UserRow.username)))


# Failed logins of names that are no user's are audited at this rate at most (per process): a flood
# of made-up names must not grow the audit log without bound. Users' own failures are always audited
# (at most `login_lock_after` per lock period each: the lock stops the rest before they are).
_UNKNOWN_AUDITED = TokenBucket(rate=1.0, burst=30.0)
_LOGIN_ACTIONS = ("auth.login", "auth.login_failed", "auth.locked")


def _lock_state(c: Central, target: str, now: datetime) -> tuple[datetime | None, int]:
    """(locked until, or None; failed logins in a row since the last success or lock), from the
    audit log's recent entries for `target`: the audit is the one record every API process shares."""
    since = (now - c.login_lock_for).isoformat()
    with c.read() as s:
        rows = s.execute(
            select(AuditRow.action, AuditRow.at)
            .where(AuditRow.target == target, AuditRow.action.in_(_LOGIN_ACTIONS), AuditRow.at >= since)
            .order_by(AuditRow.seq.desc())
            .limit(c.login_lock_after + 1)
        ).all()
    failures = 0
    for action, at in rows:
        if action == "auth.locked":
            return (datetime.fromisoformat(at) + c.login_lock_for if failures == 0 else None), failures
        if action == "auth.login":
            break
        failures += 1
    return None, failures


def login(c: Central, username: str, password: str, now: datetime | None = None) -> tuple[str, datetime, Role]:
    """(token, its expiry, role); `authenticate(token)` says whether the password must be changed first."""
    now = now or datetime.now(UTC)
    target = f"user:{username[:64]}"
    locked_until, failures = _lock_state(c, target, now)
    if locked_until is not None:
        raise LockedOut(locked_until)  # no password check and no audit entry: the lock's entry says it
    with c.sessions() as s:
        user = s.get(UserRow, username)
    # Hash even for an unknown user, so timing does not tell which usernames exist.
    ok = check_password(user.password_hash if user else _DUMMY, password)
    if user is None or not ok or user.disabled:
        if user is not None or _UNKNOWN_AUDITED.take():
            with audit.write(c, username[:64]) as w:
                w.audit("auth.login_failed", target)
                if failures + 1 >= c.login_lock_after:
                    w.audit(
                        "auth.locked",
                        target,
                        {"failures": failures + 1, "minutes": c.login_lock_for.total_seconds() / 60},
                    )
        raise AuthError("wrong username or password")
    token = secrets.token_urlsafe(32)
    expires = now + TOKEN_TTL
    with audit.write(c, username) as w:
        w.session.add(TokenRow(token_hash=_digest(token), username=username, expires_at=expires, last_used_at=now))
        w.audit("auth.login", f"user:{username}")
    return token, expires, Role(user.role)


def logout(c: Central, principal: Principal, token: str) -> None:
    c.token_cache.pop(_digest(token), None)
    with audit.write(c, principal.username) as w:
        w.session.execute(delete(TokenRow).where(TokenRow.token_hash == _digest(token)))
        w.audit("auth.logout", f"user:{principal.username}")


def cached(c: Central, token: str, now: datetime | None = None) -> Principal | None:
    """The principal of a token checked within TOKEN_CACHE_TTL_S, else None (ask `authenticate`)."""
    hit = c.token_cache.get(_digest(token))
    if hit is not None and time.monotonic() < hit[2] and (now or datetime.now(UTC)) < hit[1]:
        return hit[0]
    return None


def authenticate(c: Central, token: str, now: datetime | None = None) -> Principal:
    now = now or datetime.now(UTC)
    hit = cached(c, token, now)
    if hit is not None:
        return hit
    digest = _digest(token)
    with c.read() as s:
        row = s.get(TokenRow, digest)
        user = s.get(UserRow, row.username) if row else None
    if row is None or user is None or user.disabled or aware(row.expires_at) <= now:
        c.token_cache.pop(digest, None)
        raise AuthError("unknown or expired token")
    last_used = aware(row.last_used_at or row.created_at)
    if last_used + c.idle_timeout <= now:
        c.token_cache.pop(digest, None)
        with c.sessions.begin() as s:
            s.execute(delete(TokenRow).where(TokenRow.token_hash == digest))
        raise AuthError(
            f"会话空闲超过 {c.idle_timeout.total_seconds() / 60:g} 分钟，请重新登录 / "
            "the session was idle too long: log in again"
        )
    if now - last_used >= _LAST_USED_EVERY:  # a write at most once a minute per token, not per request
        with c.sessions.begin() as s:
            s.execute(update(TokenRow).where(TokenRow.token_hash == digest).values(last_used_at=now))
    principal = Principal(user.username, Role(user.role), user.must_change_password or _expired(c, user, now))
    if len(c.token_cache) >= _CACHE_MAX:
        c.token_cache.clear()
    c.token_cache[digest] = (principal, aware(row.expires_at), time.monotonic() + TOKEN_CACHE_TTL_S)
    return principal


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


_DUMMY = hash_password("not-a-real-password-just-for-timing")
