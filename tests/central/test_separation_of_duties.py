"""三员分立 (GB/T 22239 三级, issue 15): the system, security and audit administrators each do their
own work only; none reads business data, none can make itself another, none erases its trail;
with --separate-duties the all-powerful admin role is refused."""

from __future__ import annotations

import json

import pytest
from central_helpers import PASSWORD, Api, ingest

from kakou.central import auth
from kakou.central.auth import Role
from kakou.central.service import Central

ADMINS = {"sam": Role.SYSTEM_ADMIN, "sec": Role.SECURITY_ADMIN, "aud": Role.AUDIT_ADMIN}
NEW_USER = {"username": "newbie", "password": "Fresh-password-2026", "role": "lane_officer"}


@pytest.fixture
def admins(api: Api, central: Central) -> Api:
    for name, role in ADMINS.items():
        auth.add_user(central, "cli", name, role, PASSWORD)
    return api


# Business data every officer reads, and what each administrator's own work is.
BUSINESS = [
    "/api/v1/passes",
    "/api/v1/alerts",
    "/api/v1/release-orders",
    "/api/v1/control-orders",
    "/api/v1/registrations/vehicle",
    "/api/v1/declarations",
    "/api/v1/transits",
]


def test_no_administrator_reads_business_data(admins: Api, central: Central) -> None:
    ingest(central, 1, "粤B12345")
    for name in ADMINS:
        for path in BUSINESS:
            r = admins(name).get(path)
            assert r.status_code == 403, (name, path, r.status_code)
            assert "三员分立" in r.json()["title"]
    assert admins("alice").get("/api/v1/passes").json()["total"] == 1  # an officer still does


def test_the_security_administrator_manages_users_and_nothing_else(admins: Api) -> None:
    sec = admins("sec")
    assert sec.post("/api/v1/users", json=NEW_USER).status_code == 201
    assert "newbie" in [u["username"] for u in sec.get("/api/v1/users").json()]
    assert sec.post("/api/v1/users/newbie/disable").status_code == 204
    # Not the audit log, not the system's operation.
    assert sec.get("/api/v1/audit").status_code == 403
    assert sec.get("/api/v1/audit/export").status_code == 403
    assert sec.post("/api/v1/projections/run").status_code == 403
    assert sec.post("/api/v1/nodes/n1/resync").status_code == 403
    # No administrator made through the API: it would be another's powers, or a way round the auditor.
    for role in ("audit_admin", "system_admin", "security_admin", "admin"):
        r = sec.post("/api/v1/users", json={**NEW_USER, "username": f"x-{role}", "role": role})
        assert r.status_code == 403, role
    assert sec.post("/api/v1/users/aud/disable").status_code == 403  # cannot silence the auditor
    assert admins("aud").get("/api/v1/audit").status_code == 200


def test_the_audit_administrator_reads_verifies_and_exports_the_log_and_changes_nothing(admins: Api) -> None:
    admins("sec").post("/api/v1/users", json=NEW_USER)
    aud = admins("aud")
    entries = aud.get("/api/v1/audit", params={"actor": "sec"}).json()
    assert "user.add" in [e["action"] for e in entries]
    assert aud.get("/api/v1/audit/verify").json()["ok"] is True
    r = aud.get("/api/v1/audit/export")
    assert r.status_code == 200 and r.headers["content-type"].startswith("application/x-ndjson")
    lines = [json.loads(x) for x in r.text.splitlines()]
    assert any(e["action"] == "user.add" and e["actor"] == "sec" for e in lines)
    assert all(set(e) >= {"seq", "hash", "prev_hash"} for e in lines)
    # The export is itself on the record.
    assert aud.get("/api/v1/audit", params={"actor": "aud"}).json()[0]["action"] == "audit.export"
    for method, path, body in (
        ("post", "/api/v1/users", NEW_USER),
        ("get", "/api/v1/users", None),
        ("post", "/api/v1/users/newbie/disable", None),
        ("post", "/api/v1/projections/run", None),
        ("post", "/api/v1/alert-routes", {"kind": "*", "role": "field_staff"}),
        ("put", "/api/v1/parameters", {}),
    ):
        r = getattr(aud, method)(path, **({"json": body} if body is not None else {}))
        assert r.status_code == 403, (path, r.status_code)


def test_the_system_administrator_runs_the_system_not_users_nor_the_audit_log(admins: Api) -> None:
    sam = admins("sam")
    assert sam.post("/api/v1/projections/run").status_code == 200
    assert sam.get("/api/v1/nodes").status_code == 200
    assert sam.get("/api/v1/users").status_code == 403
    assert sam.post("/api/v1/users", json=NEW_USER).status_code == 403
    assert sam.get("/api/v1/audit").status_code == 403
    assert sam.get("/api/v1/audit/verify").status_code == 403


def test_separated_duties_refuse_the_all_powerful_admin(admins: Api, central: Central) -> None:
    assert admins("admin").get("/api/v1/users").status_code == 200  # a small site's single admin
    central.separate_duties = True
    fresh = Api(central)
    for path in ("/api/v1/users", "/api/v1/audit", "/api/v1/passes"):
        assert fresh("admin").get(path).status_code == 403, path
    assert fresh("sec").get("/api/v1/users").status_code == 200
    assert fresh("aud").get("/api/v1/audit").status_code == 200
