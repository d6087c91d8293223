"""Login, logout, the caller, users (admin), and the audit log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException
from fastapi.security import HTTPAuthorizationCredentials

from kakou.central import audit, auth
from kakou.central.auth import Role
from kakou.central.routes.deps import CentralDep, Limit, Offset
from kakou.central.routes.security import Admin, LoggedIn, bearer, domain_errors
from kakou.central.schemas import AuditOut, AuditVerifyOut, LoginIn, MeOut, PasswordChangeIn, TokenOut, UserIn, UserOut

router = APIRouter(prefix="/api/v1", tags=["auth"])


@router.post("/auth/login")
def login(body: LoginIn, central: CentralDep) -> TokenOut:
    try:
        token, expires, role = auth.login(central, body.username, body.password)
        must_change = auth.authenticate(central, token).must_change_password
    except auth.LockedOut as exc:
        wait = max(1, int((exc.until - datetime.now(UTC)).total_seconds()))
        raise HTTPException(429, str(exc), headers={"Retry-After": str(wait)}) from exc
    except auth.AuthError as exc:
        raise HTTPException(401, str(exc)) from exc
    return TokenOut(access_token=token, expires_at=expires, role=role.value, password_change_required=must_change)


@router.post("/auth/password", status_code=204)
def change_password(body: PasswordChangeIn, central: CentralDep, me: LoggedIn) -> None:
    """Change one's own password (required at first login after an admin set it, and when expired)."""
    with domain_errors():
        auth.change_password(central, me.username, body.current_password, body.new_password)


@router.post("/auth/logout", status_code=204)
def logout(central: CentralDep, me: LoggedIn,
           cred: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]) -> None:
    assert cred is not None  # current_principal already required it
    auth.logout(central, me, cred.credentials)


@router.get("/auth/me")
def whoami(me: LoggedIn) -> MeOut:
    return MeOut(username=me.username, role=me.role.value, password_change_required=me.must_change_password)


@router.get("/users")
def list_users(central: CentralDep, _me: Admin) -> list[UserOut]:
    return [UserOut.model_validate(u) for u in auth.list_users(central)]


@router.post("/users", status_code=201)
def add_user(body: UserIn, central: CentralDep, me: Admin) -> UserOut:
    with domain_errors():
        auth.add_user(central, me.username, body.username, Role(body.role), body.password, body.display_name,
                      must_change=True)  # the admin knows it: the user must choose their own at first login
    return UserOut(username=body.username, display_name=body.display_name, role=body.role, disabled=False)


@router.post("/users/{username}/disable", status_code=204)
def disable_user(username: str, central: CentralDep, me: Admin) -> None:
    with domain_errors():
        auth.set_disabled(central, me.username, username, True)


@router.get("/audit")
def list_audit(central: CentralDep, _me: Admin, limit: Limit = 50, offset: Offset = 0, target: str | None = None,
               actor: str | None = None) -> list[AuditOut]:
    return [AuditOut.model_validate(r) for r in audit.list_entries(central, limit, offset, target, actor)]


@router.get("/audit/verify")
def verify_audit(central: CentralDep, _me: Admin) -> AuditVerifyOut:
    r = audit.verify(central)
    return AuditVerifyOut(entries=r.entries, ok=r.ok, problem=r.problem, seq=r.seq)
