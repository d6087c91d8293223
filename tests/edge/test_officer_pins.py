"""Lane officer PINs cannot be guessed (issue 15, item 6): an officer id locks after 5 wrong PINs for
15 minutes, the node takes at most 10 wrong PINs a minute, and an unknown officer id costs the
same hashing as a known one."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from kakou.edge.config import OfficerSection
from kakou.edge.events import LaneEvents
from kakou.edge.officers import LOCK_FOR_S, OfficerSessions, PinLocked, hash_pin


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def _sessions(clock: Clock) -> OfficerSessions:
    officers = {
        i: OfficerSection.model_validate({"id": i, "name": i, "pin_hash": hash_pin("1234")})
        for i in ("officer1", "officer2")
    }
    return OfficerSessions(officers, clock=clock)


def test_an_officer_id_locks_after_five_wrong_pins_for_15_minutes() -> None:
    clock = Clock()
    s = _sessions(clock)
    for pin in ("0000", "1111", "2222", "3333", "4444"):
        assert s.login("officer1", pin) is None
    with pytest.raises(PinLocked):
        s.login("officer1", "1234")  # even the right PIN, while locked
    assert s.login("officer2", "1234")  # another officer is not affected
    clock.now += LOCK_FOR_S + 1
    assert s.login("officer1", "1234")
    assert s.login("officer1", "0000") is None  # the count started again after the success


def test_the_node_takes_at_most_ten_wrong_pins_a_minute_whoever_they_are_for() -> None:
    clock = Clock()
    s = _sessions(clock)
    for i in range(10):  # spread over officer ids (made-up ones too) to dodge the per-officer lock
        assert s.login(f"guess{i}", "0000") is None
    with pytest.raises(PinLocked):
        s.login("officer2", "1234")
    clock.now += 61
    assert s.login("officer2", "1234")


def test_the_lane_api_answers_a_locked_login_429() -> None:
    from kakou.edge.api import create_app

    s = _sessions(Clock())
    node = SimpleNamespace(id="n1", officers=s, events=LaneEvents(), status=dict)
    client = TestClient(create_app(node))  # type: ignore[arg-type]
    for _ in range(5):
        assert client.post("/api/v1/officer/login", json={"officer": "officer1", "pin": "9999"}).status_code == 401
    r = client.post("/api/v1/officer/login", json={"officer": "officer1", "pin": "1234"})
    assert r.status_code == 429 and int(r.headers["retry-after"]) > 14 * 60


def test_what_an_officer_keys_is_bounded_as_the_pass_record_is() -> None:
    from kakou.edge.api import create_app

    s = _sessions(Clock())
    token = s.login("officer1", "1234")
    node = SimpleNamespace(id="n1", officers=s, events=LaneEvents(), status=dict, lanes={})
    client = TestClient(create_app(node))  # type: ignore[arg-type]
    auth = {"Authorization": f"Bearer {token}"}
    for body in (
        {"action": "manual_entry", "plate": "粤" * 17},
        {"action": "manual_entry", "containers": ["MSKU1234565"] * 9},
        {"action": "override", "reason": "x" * 2001},
    ):
        assert client.post("/api/v1/lanes/L1/actions", json=body, headers=auth).status_code == 422, body
    assert (
        client.post(
            "/api/v1/lanes/L1/actions", json={"action": "manual_entry", "plate": "粤B12345"}, headers=auth
        ).status_code
        == 404
    )  # within bounds: on to the lane (none here)


def test_a_fault_in_the_lane_api_is_a_page_for_a_browser_and_json_for_the_screen() -> None:
    from kakou.edge.api import create_app

    def broken() -> dict:
        raise RuntimeError("a bug")

    node = SimpleNamespace(id="n1", officers=_sessions(Clock()), events=LaneEvents(), status=broken)
    client = TestClient(create_app(node), raise_server_exceptions=False)  # type: ignore[arg-type]
    page = client.get("/api/v1/status", headers={"Accept": "text/html"})
    assert page.status_code == 500 and 'data-testid="error-page"' in page.text and "a bug" not in page.text
    api = client.get("/api/v1/status", headers={"Accept": "application/json"})
    assert api.status_code == 500 and api.json()["detail"].startswith("internal error") and "a bug" not in api.text
