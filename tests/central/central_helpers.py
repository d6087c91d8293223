"""Helpers shared by central's tests (imported by name: tests/ is not a package)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

from fastapi.testclient import TestClient
from lane_inputs import pass_record

from kakou.central.api import create_app
from kakou.central.service import Central
from kakou.central.tables import TransitRow
from kakou.sync.messages import PassRecord

PASSWORD = "Correct horse battery 9"


class Api:
    """A TestClient per user, logged in through the real login endpoint."""

    def __init__(self, central: Central) -> None:
        self.central = central
        self.app = create_app(central)
        self._clients: dict[str, TestClient] = {}

    def anonymous(self) -> TestClient:
        return TestClient(self.app)

    def __call__(self, username: str) -> TestClient:
        if username not in self._clients:
            client = TestClient(self.app)
            r = client.post("/api/v1/auth/login", json={"username": username, "password": PASSWORD})
            assert r.status_code == 200, r.text
            client.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
            self._clients[username] = client
        return self._clients[username]


def lane_pass(
    seq: int,
    plate: str | None,
    at: datetime,
    *,
    node: str = "n1",
    lane: str = "L1",
    confidence: float = 0.95,
    **kw: Any,
) -> PassRecord:
    """Pass `seq` of lane `node`/`lane` (pass id NODE-LANE-SEQ) as the lane records it, its plate read
    at `confidence` (none read: 0); `kw` sets the other fields (lane_inputs.pass_record)."""
    return pass_record(
        at,
        pass_id=f"{node}-{lane}-{seq}",
        node=node,
        lane=lane,
        plate=plate,
        plate_confidence=confidence if plate else 0.0,
        **kw,
    )


def ingest(
    central: Central,
    seq: int,
    plate: str | None,
    *,
    node: str = "n1",
    lane: str = "L1",
    outcome: str = "release",
    release_order: str | None = None,
    containers: list[str] | None = None,
    gross_kg: float | None = None,
    checks: list[dict] | None = None,
    reasons: list | None = None,
    at: datetime | None = None,
    entered_by: str | None = None,
    release_orders: list[str] | None = None,
    transit_no: str | None = None,
    direction: str = "out",
) -> str:
    """A pass as a lane would send it, through central's real ingest."""
    from kakou.central import ingest as central_ingest
    from kakou.sync.messages import Envelope

    at = at or datetime.now(UTC)
    rec = lane_pass(
        seq,
        plate,
        at,
        node=node,
        lane=lane,
        direction=direction,
        containers=containers or [],
        gross_kg=gross_kg,
        outcome=outcome,
        reasons=reasons or ["ok"],
        release_order=release_order,
        checks=checks or [],
        entered_by=entered_by,
        release_orders=release_orders or [],
        transit_no=transit_no,
    )
    central_ingest.ingest_pass(central, Envelope(node=node, seq=seq, kind="pass", sent_at=at, body=rec))
    return rec.pass_id


def credit_rule(rule_id: str = "R-credit", name: str = "low-credit carriers") -> dict[str, Any]:
    """A risk rule as the API takes it: carriers of credit grade D go to an officer."""
    return {
        "rule_id": rule_id,
        "name": name,
        "conditions": [{"kind": "carrier_credit", "grades": ["D"]}],
        "outcome": "officer",
        "explanation": "carrier credit grade D",
    }


def steel_origin_rule(
    rule_id: str, country: str, name: str = "高风险原产地钢材", explanation: str = "该原产地钢材须查验"
) -> dict[str, Any]:
    """A risk rule as the API takes it: steel (HS 72…) from `country` goes to inspection."""
    return {
        "rule_id": rule_id,
        "name": name,
        "conditions": [{"kind": "origin", "countries": [country]}, {"kind": "hs_code", "prefixes": ["72"]}],
        "outcome": "inspection",
        "explanation": explanation,
    }


def order_json(
    no: str, plate: str, direction: str = "in", hours: float = 8, at: datetime | None = None, **extra: object
) -> dict[str, Any]:
    """A release order as the API takes it: valid from an hour before `at` (now) to `hours` after."""
    at = at or datetime.now(UTC)
    return {
        "order_no": no,
        "plate": plate,
        "direction": direction,
        "valid_from": (at - timedelta(hours=1)).isoformat(),
        "valid_until": (at + timedelta(hours=hours)).isoformat(),
        **extra,
    }


def transit_row(transit_no: str, time_limit_h: int, **kw: Any) -> TransitRow:
    """A transit from site A to B of plate 粤B1 with no containers, stored as is (no API checks);
    `kw` adds or overrides columns."""
    base: dict[str, Any] = dict(plate="粤B1", containers=[], entry_site="A", destination_site="B", created_by="test")
    return TransitRow(transit_no=transit_no, time_limit_h=time_limit_h, **{**base, **kw})


def issue_order(api: Api, order: dict, preparer: str = "alice", reviewer: str = "rita") -> int:
    """File a release order as `preparer` and approve it as `reviewer`; the lanes' version."""
    filed = api(preparer).post("/api/v1/release-orders", json=order)
    assert filed.status_code == 201 and filed.json()["status"] == "draft", filed.text
    approved = api(reviewer).post(f"/api/v1/release-orders/{order['order_no']}/review", json={"approve": True})
    assert approved.status_code == 200, approved.text
    return int(approved.json()["version"])


def transit_sites(api: Api) -> None:
    """A transit's two ends: site ENTRY with node a's exit lane, site DEST with node b's entry lane."""
    alice = api("alice")
    for code in ("ENTRY", "DEST"):
        alice.put("/api/v1/registrations/site", json={"code": code, "name": code})
    alice.put("/api/v1/registrations/lane", json={"node": "a", "lane": "L1", "site": "ENTRY", "direction": "out"})
    alice.put("/api/v1/registrations/lane", json={"node": "b", "lane": "L1", "site": "DEST", "direction": "in"})
