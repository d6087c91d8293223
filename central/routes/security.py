"""Who is calling: the bearer token → `Principal`, and the roles each endpoint admits."""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Annotated

from fastapi import Depends, HTTPException, Path, Query, Request
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.concurrency import run_in_threadpool

from kakou.central import auth
from kakou.central.auth import Principal, Role
from kakou.central.routes.deps import CentralDep
from kakou.central.service import Conflict, NotFound

# A record id in a path: bounded so junk never reaches the database driver as an overflow.
RowId = Annotated[int, Path(ge=1, le=2**31 - 1)]

Revision = Annotated[int | None, Query(ge=1, le=2**31 - 1, description="refuse if the record is not at this revision")]

bearer = HTTPBearer(auto_error=False, description="token from POST /api/v1/auth/login")


async def current_principal(
    central: CentralDep, cred: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> Principal:
    # Async, and the database only on a token-cache miss: a sync dependency would run in the
    # thread pool, and every hop there (and back to the loop) is a good part of a cheap request.
    if cred is None:
        raise HTTPException(401, "log in first: Authorization: Bearer <token>", headers={"WWW-Authenticate": "Bearer"})
    try:
        hit = auth.cached(central, cred.credentials)
        return hit if hit is not None else await run_in_threadpool(auth.authenticate, central, cred.credentials)
    except auth.AuthError as exc:
        raise HTTPException(401, str(exc), headers={"WWW-Authenticate": "Bearer"}) from exc


# 三员分立: the system, security and audit administrators each do only their own work, and none
# reads business data (an endpoint open to "any logged-in user" is not open to them).
SEPARATED = frozenset({Role.SYSTEM_ADMIN, Role.SECURITY_ADMIN, Role.AUDIT_ADMIN})


def require(*roles: Role, also: tuple[Role, ...] = ()) -> Callable[..., Awaitable[Principal]]:
    """A dependency admitting the given roles (and admin, unless duties are separated); no roles:
    any logged-in user but the three separated administrators, save those named in `also`."""

    async def check(principal: Annotated[Principal, Depends(current_principal)], central: CentralDep) -> Principal:
        if principal.must_change_password:
            raise PasswordChangeRequired()
        if principal.role is Role.ADMIN and central.separate_duties:
            raise HTTPException(
                403,
                "三员分立：admin 账户已停用，请使用系统管理员、安全管理员或审计管理员 / "
                "separation of duties: the admin role is not used here; log in as the "
                "system, security or audit administrator",
            )
        if principal.role in SEPARATED and principal.role not in roles and principal.role not in also:
            raise HTTPException(
                403,
                f"三员分立：{principal.role.value} 不能执行此操作 / separation of duties: "
                f"{principal.role.value} may not do this",
            )
        if not roles and principal.role is Role.DECLARANT:
            # "Any user" means any officer: an enterprise's declarant sees its own applications only.
            raise HTTPException(
                403, "企业用户只能使用 /api/v1/applications / an enterprise user may only use /api/v1/applications"
            )
        if roles and principal.role not in roles and principal.role is not Role.ADMIN:
            raise HTTPException(
                403, f"role {principal.role.value} may not do this; needs one of {', '.join(r.value for r in roles)}"
            )
        return principal

    return check


class PasswordChangeRequired(HTTPException):
    """403 with its own problem type: a client can tell it from a role refusal and show the form."""

    problem_type = "urn:kakou:problem:password-change-required"

    def __init__(self) -> None:
        super().__init__(
            403,
            "须先修改密码（首次登录或密码已过期）：POST /api/v1/auth/password / "
            "change your password first (first login or expired)",
        )


# Logged in, even with a password still to change: only `me`, logout and the password change.
LoggedIn = Annotated[Principal, Depends(current_principal)]
AnyUser = Annotated[Principal, Depends(require())]
Officer = Annotated[Principal, Depends(require(Role.CENTRAL_OFFICER))]
Reviewer = Annotated[Principal, Depends(require(Role.REVIEWER, Role.CENTRAL_OFFICER))]
Admin = Annotated[Principal, Depends(require(Role.ADMIN))]
SystemAdmin = Annotated[Principal, Depends(require(Role.SYSTEM_ADMIN))]
SecurityAdmin = Annotated[Principal, Depends(require(Role.SECURITY_ADMIN))]
AuditAdmin = Annotated[Principal, Depends(require(Role.AUDIT_ADMIN))]
FieldUser = Annotated[Principal, Depends(require(Role.FIELD_STAFF, Role.CENTRAL_OFFICER, Role.LANE_OFFICER))]


@contextmanager
def domain_errors() -> Iterator[None]:
    """Map the service layer's refusals to problem responses."""
    try:
        yield
    except NotFound as exc:
        raise HTTPException(404, str(exc)) from exc
    except Conflict as exc:
        raise HTTPException(409, str(exc)) from exc
    except auth.NotAllowed as exc:
        raise HTTPException(403, str(exc)) from exc
    except ValueError as exc:  # includes pydantic's ValidationError
        raise HTTPException(422, str(exc)) from exc


async def no_nul_characters(request: Request) -> None:
    """Refuse NUL characters anywhere in the request: PostgreSQL cannot store them in text, so they
    would fail deep in the database instead of as a clear 422 here."""
    ctype = request.headers.get("content-type", "")
    textual = "json" in ctype or ctype.startswith("text/") or not ctype  # a workbook upload is binary
    body = await request.body() if textual else b""
    if (
        "\x00" in request.url.path
        or "\x00" in str(request.query_params)
        or b"\x00" in body
        or b"\\u0000" in body
        or "%00" in str(request.url.query)
    ):
        raise HTTPException(422, "NUL characters are not allowed in any field")
    if body and "json" in ctype:
        _finite_json(body)


def _not_a_number(token: str) -> float:
    raise HTTPException(422, f"{token} is not a number a field can hold (NaN and Infinity are not JSON)")


def _finite(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise HTTPException(422, f"{text[:40]} is out of range")
    return value


def _finite_json(body: bytes) -> None:
    """Refuse NaN, Infinity and numbers beyond a float's range (1e400) in a JSON body: Python's JSON
    reader accepts them, a float field would store them, and no answer could then be written as JSON."""
    try:
        json.loads(body, parse_constant=_not_a_number, parse_float=_finite)
    except (ValueError, RecursionError):
        pass  # not JSON at all (or nested too deep): the route's own parsing answers that
