"""The lane node's read API is not open to anyone on the network (issue 15): passes (IC card
numbers), frames, interventions and the event stream need an officer's session, the node's read
key, or a request from the node itself."""

from __future__ import annotations

import os
from pathlib import Path
from types import SimpleNamespace

import pytest
from fastapi.testclient import TestClient

from kakou.edge import read_access
from kakou.edge.config import HttpSection, OfficerSection
from kakou.edge.events import LaneEvents
from kakou.edge.officers import OfficerSessions, hash_pin
from kakou.edge.records import LaneRecords
from kakou.edge.store import EdgeStore

READS = [
    "/api/v1/passes",
    "/api/v1/passes/p1",
    "/api/v1/interventions",
    "/api/v1/backfill",
    "/api/v1/balance",
    "/api/v1/network/messages",
    "/api/v1/lanes/L1/stats",
    "/api/v1/images/" + "a" * 64,
    "/api/v1/images/" + "a" * 64 + "/marks",
    "/api/v1/events",
    "/api/v1/lanes/L1/snapshot.jpg",
]
NEIGHBOUR = ("192.0.2.10", 40000)  # another machine on the lane network


def _node(tmp_path: Path, loopback: bool = True) -> SimpleNamespace:
    from kakou.edge.api import create_app

    store = EdgeStore(tmp_path / "edge.db")
    officers = OfficerSessions(
        {
            "officer1": OfficerSection.model_validate(
                {"id": "officer1", "name": "officer1", "pin_hash": hash_pin("1234")}
            )
        }
    )
    cfg = SimpleNamespace(http=HttpSection(reads_from_loopback=loopback), node=SimpleNamespace(data_dir=tmp_path))
    node = SimpleNamespace(
        id="n1",
        cfg=cfg,
        officers=officers,
        events=LaneEvents(),
        status=dict,
        store=store,
        records=LaneRecords(store, tmp_path / "images"),
        lanes={},
    )
    node.app = create_app(node)  # type: ignore[arg-type]
    return node


def test_a_stranger_on_the_network_reads_nothing(tmp_path: Path) -> None:
    node = _node(tmp_path)
    stranger = TestClient(node.app, client=NEIGHBOUR)
    for path in READS:
        r = stranger.get(path)
        assert r.status_code == 401, (path, r.status_code)
        assert "officer login or the node's read key required" in r.json()["detail"]
    assert stranger.get("/api/v1/status").status_code == 200  # health stays open: it holds no records
    wrong = TestClient(node.app, client=NEIGHBOUR, headers={"Authorization": "Bearer not-the-key"})
    assert wrong.get("/api/v1/passes").status_code == 401


def test_an_officer_session_reads_by_header_and_by_cookie_until_logout(tmp_path: Path) -> None:
    node = _node(tmp_path)
    officer = TestClient(node.app, client=NEIGHBOUR)
    login = officer.post("/api/v1/officer/login", json={"officer": "officer1", "pin": "1234"})
    assert login.status_code == 200
    cookie = login.headers["set-cookie"]
    assert "HttpOnly" in cookie and "SameSite=strict" in cookie
    token = login.json()["token"]
    assert officer.get("/api/v1/passes").status_code == 200  # the cookie (an <img> sends nothing else)
    bearer = TestClient(node.app, client=NEIGHBOUR, headers={"Authorization": f"Bearer {token}"})
    assert bearer.get("/api/v1/passes").status_code == 200
    assert officer.post("/api/v1/officer/logout", headers={"Authorization": f"Bearer {token}"}).status_code == 204
    assert officer.get("/api/v1/passes").status_code == 401
    assert bearer.get("/api/v1/passes").status_code == 401


def test_the_lane_screen_opened_with_the_node_key_keeps_reading(tmp_path: Path) -> None:
    node = _node(tmp_path)
    key_file = read_access.key_path(tmp_path)
    assert key_file.exists() and (os.name != "posix" or key_file.stat().st_mode & 0o077 == 0)
    key = key_file.read_text().strip()
    assert read_access.load_or_create_key(key_file) == key  # the next start: the same key

    kiosk = TestClient(node.app, client=NEIGHBOUR, follow_redirects=False)
    assert kiosk.get("/lane", params={"key": "wrong"}).status_code == 200  # the page, but no cookie
    assert kiosk.get("/api/v1/passes").status_code == 401
    r = kiosk.get("/lane", params={"key": key})
    assert r.status_code == 303 and r.headers["location"] == "/lane"  # the key leaves the address bar
    assert "HttpOnly" in r.headers["set-cookie"]
    assert kiosk.get("/api/v1/passes").status_code == 200
    tool = TestClient(node.app, client=NEIGHBOUR, headers={"Authorization": f"Bearer {key}"})
    assert tool.get("/api/v1/interventions").status_code == 200


@pytest.mark.parametrize("loopback", [True, False])
def test_the_node_itself_reads_unless_told_not_to(tmp_path: Path, loopback: bool) -> None:
    node = _node(tmp_path, loopback=loopback)
    local = TestClient(node.app, client=("127.0.0.1", 50000))
    assert local.get("/api/v1/passes").status_code == (200 if loopback else 401)
