"""Password rules and the idle session timeout (GB/T 22239 三级, issue 15): length and character
classes, no reuse of the last 5, a change at first login and every 90 days, 30 minutes idle."""

from __future__ import annotations

import itertools
from datetime import UTC, datetime, timedelta

import pytest
from central_helpers import PASSWORD, Api
from sqlalchemy import update

from kakou.central import auth
from kakou.central.service import Central
from kakou.central.tables import TokenRow, UserRow

MUST_CHANGE = "urn:kakou:problem:password-change-required"


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("Sh0rt-pw", "至少需要 12 个字符"),
        ("alllowercaseletters", "至少 3 类"),
        ("lowercase-and-symbols", "至少 3 类"),
    ],
)
def test_weak_passwords_are_refused_with_the_rule_they_break(api: Api, password: str, why: str) -> None:
    r = api("admin").post("/api/v1/users", json={"username": "dave", "password": password, "role": "reviewer"})
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    assert why in r.json()["title"]
    assert api("admin").get("/api/v1/users").json() and "dave" not in [
        u["username"] for u in api("admin").get("/api/v1/users").json()
    ]


def test_a_user_an_admin_created_must_change_the_password_before_anything_else(api: Api) -> None:
    first = "Given-by-admin-1"
    assert (
        api("admin")
        .post("/api/v1/users", json={"username": "erin", "password": first, "role": "central_officer"})
        .status_code
        == 201
    )
    erin = api.anonymous()
    login = erin.post("/api/v1/auth/login", json={"username": "erin", "password": first})
    assert login.status_code == 200 and login.json()["password_change_required"] is True
    erin.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
    r = erin.get("/api/v1/control-orders")
    assert r.status_code == 403 and r.json()["type"] == MUST_CHANGE
    assert "须先修改密码" in r.json()["title"]
    assert erin.get("/api/v1/auth/me").json()["password_change_required"] is True
    # The same password again, or a weak one, is refused; a wrong current password too.
    change = "/api/v1/auth/password"
    assert erin.post(change, json={"current_password": first, "new_password": first}).status_code == 422
    assert erin.post(change, json={"current_password": first, "new_password": "weak"}).status_code == 422
    assert (
        erin.post(change, json={"current_password": "Wrong-pass-1", "new_password": "Her-own-choice-1"}).status_code
        == 403
    )
    assert erin.post(change, json={"current_password": first, "new_password": "Her-own-choice-1"}).status_code == 204
    assert erin.get("/api/v1/control-orders").status_code == 200
    again = api.anonymous().post("/api/v1/auth/login", json={"username": "erin", "password": "Her-own-choice-1"})
    assert again.json()["password_change_required"] is False


def test_none_of_the_last_5_passwords_may_be_reused(central: Central, users: dict[str, auth.Role]) -> None:
    passwords = [PASSWORD] + [f"Rotation-pass-{i}" for i in range(1, 6)]
    for old, new in itertools.pairwise(passwords):
        auth.change_password(central, "alice", old, new)
    current = passwords[-1]
    for reused in passwords[-5:]:  # the current one and the 4 before it
        with pytest.raises(auth.WeakPassword, match="最近 5 次"):
            auth.change_password(central, "alice", current, reused)
    auth.change_password(central, "alice", current, passwords[0])  # the 6th last may come back
    central.password_rules = auth.PasswordRules(history=1)  # configurable
    auth.change_password(central, "alice", passwords[0], passwords[-1])


def test_a_password_expires_after_90_days(api: Api, central: Central) -> None:
    assert api("alice").get("/api/v1/control-orders").status_code == 200
    with central.sessions.begin() as s:
        s.execute(
            update(UserRow)
            .where(UserRow.username == "bob")
            .values(password_changed_at=datetime.now(UTC) - timedelta(days=90, minutes=1))
        )
    login = api.anonymous().post("/api/v1/auth/login", json={"username": "bob", "password": PASSWORD})
    assert login.json()["password_change_required"] is True
    bob = api.anonymous()
    bob.headers["Authorization"] = f"Bearer {login.json()['access_token']}"
    assert bob.get("/api/v1/control-orders").json()["type"] == MUST_CHANGE
    central.password_rules = auth.PasswordRules(max_age=timedelta(days=180))  # configurable
    token = auth.login(central, "bob", PASSWORD)[0]
    assert auth.authenticate(central, token).must_change_password is False


def test_the_rules_are_configurable(central: Central) -> None:
    central.password_rules = auth.PasswordRules(min_length=20, min_classes=4)
    with pytest.raises(auth.WeakPassword, match="至少需要 20 个字符"):
        auth.add_user(central, "test", "frank", auth.Role.REVIEWER, "Only-16-chars-1x")
    with pytest.raises(auth.WeakPassword, match="至少 4 类"):
        auth.add_user(central, "test", "frank", auth.Role.REVIEWER, "twenty-or-more-chars-but-3")
    auth.add_user(central, "test", "frank", auth.Role.REVIEWER, "Twenty-or-more-chars-4")


def test_a_session_idle_for_30_minutes_is_refused(api: Api, central: Central) -> None:
    token = auth.login(central, "alice", PASSWORD)[0]
    now = datetime.now(UTC)
    assert auth.authenticate(central, token, now + timedelta(minutes=29)).username == "alice"  # and refreshes
    assert auth.authenticate(central, token, now + timedelta(minutes=58)).username == "alice"
    central.token_cache.clear()
    with pytest.raises(auth.AuthError, match="空闲"):
        auth.authenticate(central, token, now + timedelta(minutes=88, seconds=1))
    with pytest.raises(auth.AuthError):  # gone for good, not only for that moment
        auth.authenticate(central, token, now + timedelta(minutes=59))
    # Over HTTP: a token last used 31 minutes ago answers 401; logging in again works.
    client = api("bob")
    assert client.get("/api/v1/auth/me").status_code == 200
    with central.sessions.begin() as s:
        s.execute(update(TokenRow).where(TokenRow.username == "bob").values(last_used_at=now - timedelta(minutes=31)))
    central.token_cache.clear()
    r = client.get("/api/v1/auth/me")
    assert r.status_code == 401 and "空闲" in r.json()["title"]
    central.idle_timeout = timedelta(minutes=5)  # configurable
    token = auth.login(central, "bob", PASSWORD)[0]
    central.token_cache.clear()
    with pytest.raises(auth.AuthError):
        auth.authenticate(central, token, datetime.now(UTC) + timedelta(minutes=5, seconds=1))
