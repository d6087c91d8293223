"""Login, logout, the caller, users (admin), and the audit log."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated

from fastapi import APIRouter, Depends, HTTPException, Query, Response
from fastapi.security import HTTPAuthorizationCredentials

from kakou.central import audit, audit_archive, auth
from kakou.central.auth import Role
from kakou.central.list_queries import AuditQuery
from kakou.central.routes.deps import CentralDep, Offset
from kakou.central.routes.security import AuditAdmin, LoggedIn, SecurityAdmin, bearer, domain_errors
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
def logout(
    central: CentralDep, me: LoggedIn, cred: Annotated[HTTPAuthorizationCredentials | None, Depends(bearer)]
) -> None:
    assert cred is not None  # current_principal already required it
    auth.logout(central, me, cred.credentials)


@router.get("/auth/me")
def whoami(me: LoggedIn) -> MeOut:
    return MeOut(username=me.username, role=me.role.value, password_change_required=me.must_change_password)


@router.get("/users")
def list_users(central: CentralDep, _me: SecurityAdmin) -> list[UserOut]:
    return [UserOut.model_validate(u) for u in auth.list_users(central)]


@router.post("/users", status_code=201)
def add_user(body: UserIn, central: CentralDep, me: SecurityAdmin) -> UserOut:
    if Role(body.role) in auth.ADMINISTRATORS and me.role is not Role.ADMIN:
        raise HTTPException(
            403,
            "管理员账户只能在服务器上添加（kakou central user add）/ administrator accounts are "
            "added on the server (kakou central user add), not through the API",
        )
    with domain_errors():
        auth.add_user(
            central, me.username, body.username, Role(body.role), body.password, body.display_name, must_change=True
        )  # the admin knows it: the user must choose their own at first login
    return UserOut(username=body.username, display_name=body.display_name, role=body.role, disabled=False)


@router.post("/users/{username}/disable", status_code=204)
def disable_user(username: str, central: CentralDep, me: SecurityAdmin) -> None:
    target = next((u for u in auth.list_users(central) if u.username == username), None)
    if target is not None and Role(target.role) in auth.ADMINISTRATORS and me.role is not Role.ADMIN:
        # The security administrator must not be able to silence the auditor (or the others).
        raise HTTPException(403, "管理员账户只能在服务器上停用 / administrator accounts are managed on the server")
    with domain_errors():
        auth.set_disabled(central, me.username, username, True)


@router.get("/audit")
def list_audit(central: CentralDep, _me: AuditAdmin, q: Annotated[AuditQuery, Query()]) -> list[AuditOut]:
    return [AuditOut.model_validate(r) for r in audit.list_entries(central, q)]


@router.get("/audit/verify")
def verify_audit(central: CentralDep, _me: AuditAdmin) -> AuditVerifyOut:
    r = audit.verify(central)
    return AuditVerifyOut(entries=r.entries, ok=r.ok, problem=r.problem, seq=r.seq)


@router.get(
    "/audit/export",
    response_class=Response,
    responses={
        200: {
            "content": {"application/x-ndjson": {}},
            "description": "one JSON entry a line, oldest first, with its hashes",
        }
    },
)
def export_audit(
    central: CentralDep, me: AuditAdmin, after: Offset = 0, limit: Annotated[int, Query(ge=1, le=50_000)] = 10_000
) -> Response:
    """The audit log's entries after `after` (seq), as JSON lines to keep or check elsewhere; the
    export itself is audited."""
    lines = audit_archive.export_lines(central, after, limit)
    with audit.write(central, me.username) as w:
        w.audit("audit.export", "audit", {"after": after, "entries": len(lines)})
    return Response(
        "".join(lines),
        media_type="application/x-ndjson",
        headers={"Content-Disposition": f'attachment; filename="audit-after-{after}.jsonl"'},
    )
