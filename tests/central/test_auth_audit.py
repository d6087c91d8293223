"""Login, roles per endpoint, and the tamper-evident audit log."""

from __future__ import annotations

import argparse
from datetime import UTC, datetime, timedelta

import pytest
from central_helpers import PASSWORD, Api, order_json
from sqlalchemy import text

from kakou.central import audit, auth
from kakou.central.service import Central
from kakou.cli_central import register_central

NOW = datetime.now(UTC)


def _order(no: str, plate: str = "粤B12345") -> dict:
    return order_json(no, plate, hours=5, at=NOW)


def test_login_gives_a_token_and_wrong_password_or_no_token_is_refused(api: Api) -> None:
    anon = api.anonymous()
    assert anon.post("/api/v1/auth/login", json={"username": "alice", "password": "wrong-one"}).status_code == 401
    assert anon.post("/api/v1/auth/login", json={"username": "nobody", "password": PASSWORD}).status_code == 401
    r = anon.get("/api/v1/passes")
    assert r.status_code == 401 and r.headers["content-type"].startswith("application/problem+json")
    assert anon.get("/api/v1/passes", headers={"Authorization": "Bearer forged"}).status_code == 401
    assert api("alice").get("/api/v1/auth/me").json() == {
        "username": "alice",
        "role": "central_officer",
        "password_change_required": False,
    }
    assert api("alice").get("/api/v1/passes").status_code == 200


def test_five_wrong_passwords_lock_the_login_for_15_minutes_without_growing_the_audit(
    api: Api, central: Central
) -> None:
    anon = api.anonymous()

    def attempt(password: str) -> int:
        return anon.post("/api/v1/auth/login", json={"username": "bob", "password": password}).status_code

    assert [attempt(f"guess-{i}") for i in range(5)] == [401] * 5
    for i in range(40):  # the lock holds, even for the right password, and writes nothing more
        r = anon.post("/api/v1/auth/login", json={"username": "bob", "password": PASSWORD if i == 0 else f"g{i}"})
        assert r.status_code == 429 and int(r.headers["retry-after"]) > 14 * 60
        assert r.headers["content-type"].startswith("application/problem+json")
    with central.sessions() as s:
        rows = (
            s.execute(
                text("SELECT action FROM audit_log WHERE target = 'user:bob' AND action LIKE 'auth.%' ORDER BY seq")
            )
            .scalars()
            .all()
        )
    assert rows == ["auth.login_failed"] * 5 + ["auth.locked"]
    assert attempt(PASSWORD) == 429
    # 15 minutes later the lock is over; a success clears the count.
    later = datetime.now(UTC) + timedelta(minutes=15, seconds=5)
    token, _exp, _role = auth.login(central, "bob", PASSWORD, now=later)
    assert token
    # Other users are not affected, and the limits are configurable.
    assert api("alice").get("/api/v1/auth/me").status_code == 200
    central.login_lock_after = 2
    assert anon.post("/api/v1/auth/login", json={"username": "rita", "password": "x"}).status_code == 401
    assert anon.post("/api/v1/auth/login", json={"username": "rita", "password": "y"}).status_code == 401
    assert anon.post("/api/v1/auth/login", json={"username": "rita", "password": PASSWORD}).status_code == 429


def test_roles_decide_who_may_write(api: Api) -> None:
    assert api("lena").post("/api/v1/release-orders", json=_order("HF1")).status_code == 403
    assert api("fred").post("/api/v1/release-orders", json=_order("HF1")).status_code == 403
    assert api("alice").post("/api/v1/release-orders", json=_order("HF1")).status_code == 201
    assert api("admin").post("/api/v1/release-orders", json=_order("HF2")).status_code == 201
    assert api("lena").get("/api/v1/release-orders").status_code == 200  # everyone logged in may read
    assert api("alice").get("/api/v1/users").status_code == 403
    assert api("alice").get("/api/v1/audit").status_code == 403


def test_password_is_stored_salted_and_a_disabled_user_loses_access(api: Api, central: Central) -> None:
    with central.sessions() as s:
        hashes = [h for (h,) in s.execute(text("SELECT password_hash FROM users WHERE username IN ('alice','bob')"))]
    assert all(h.startswith("$argon2id$") and PASSWORD not in h for h in hashes)
    assert hashes[0] != hashes[1]  # same password, different salt
    bob = api("bob")
    assert bob.get("/api/v1/auth/me").status_code == 200
    assert api("admin").post("/api/v1/users/bob/disable").status_code == 204
    assert bob.get("/api/v1/auth/me").status_code == 401
    r = api.anonymous().post("/api/v1/auth/login", json={"username": "bob", "password": PASSWORD})
    assert r.status_code == 401


def test_admin_adds_a_user_who_can_then_log_in(api: Api) -> None:
    r = api("admin").post(
        "/api/v1/users", json={"username": "carol", "password": "Long enough pw 1", "role": "reviewer"}
    )
    assert r.status_code == 201
    assert (
        api("admin")
        .post("/api/v1/users", json={"username": "carol", "password": "Long enough pw 1", "role": "reviewer"})
        .status_code
        == 409
    )
    login = api.anonymous().post("/api/v1/auth/login", json={"username": "carol", "password": "Long enough pw 1"})
    assert login.status_code == 200 and login.json()["role"] == "reviewer"


def test_every_write_is_audited_with_who_did_it(api: Api) -> None:
    api("alice").post("/api/v1/release-orders", json=_order("HF7"))
    entries = api("admin").get("/api/v1/audit", params={"target": "release_order:HF7"}).json()
    assert [(e["actor"], e["action"]) for e in entries] == [("alice", "release_order.prepare")]
    assert entries[0]["detail"]["plate"] == "粤B12345"
    assert api("admin").get("/api/v1/audit/verify").json()["ok"] is True


def test_audit_chain_detects_an_edited_entry(api: Api, central: Central) -> None:
    for i in range(3):
        api("alice").post("/api/v1/release-orders", json=_order(f"HF{i}"))
    good = audit.verify(central)
    assert good.ok and good.entries >= 3
    target = good.entries - 1
    with central.sessions.begin() as s:
        s.execute(text("UPDATE audit_log SET actor = 'mallory' WHERE seq = :n"), {"n": target})
    bad = audit.verify(central)
    assert (bad.ok, bad.seq, bad.problem) == (False, target, f"entry {target} was altered")


def test_audit_chain_detects_removed_entries(api: Api, central: Central) -> None:
    api("alice").post("/api/v1/release-orders", json=_order("HF1"))
    n = audit.verify(central).entries
    with central.sessions.begin() as s:
        s.execute(text("DELETE FROM audit_log WHERE seq = :n"), {"n": n})  # the newest: no successor to break
    bad = audit.verify(central)
    assert not bad.ok and "removed" in (bad.problem or "")
    with central.sessions.begin() as s:
        s.execute(text("DELETE FROM audit_log WHERE seq = 2"))
    assert audit.verify(central).problem == "entry 2 is missing"


def test_cli_adds_the_first_admin_and_verifies_the_audit_log(tmp_path, capsys: pytest.CaptureFixture[str]) -> None:
    parser = argparse.ArgumentParser()
    register_central(parser.add_subparsers(dest="sub"))
    db = ["--data-dir", str(tmp_path)]

    def run(*argv: str) -> int:
        args = parser.parse_args(list(argv))
        return args.func(args)

    assert run("user", "add", "root", "--role", "admin", "--password", "s3cret-enough", *db) == 0
    assert run("user", "add", "root", "--role", "admin", "--password", "s3cret-enough", *db) == 2
    assert run("audit", "verify", *db) == 0
    assert "1 entries, hash chain verified" in capsys.readouterr().out
    from kakou.central.db import make_engine

    engine = make_engine(f"sqlite:///{tmp_path / 'central.db'}")
    with engine.begin() as conn:
        conn.execute(text('UPDATE audit_log SET detail = \'{"role": "reviewer"}\''))
    assert run("audit", "verify", *db) == 1
    assert "entry 1 was altered" in capsys.readouterr().err
    c = Central.__new__(Central)  # the stored password logs in
    from kakou.central.db import make_sessionmaker

    c.__init__(make_sessionmaker(engine))  # type: ignore[misc]
    assert auth.login(c, "root", "s3cret-enough")[2] is auth.Role.ADMIN


def test_concurrent_writers_never_fork_the_chain(central: Central) -> None:
    from concurrent.futures import ThreadPoolExecutor

    from kakou.central import registry

    def write(i: int) -> None:
        registry.upsert(central, f"officer{i % 4}", "carrier", {"code": f"C{i:03d}", "name": f"carrier {i}"})

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(write, range(40)))
    result = audit.verify(central)
    assert result.ok, result.problem
    assert result.entries == 40
