"""The reviewer of a release order, a risk-rule version or a lane-parameter change is never its
preparer; only approved versions reach the lanes (checked in what a real edge store applies)."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from central_helpers import Api, credit_rule, order_json

from kakou.central import changelog
from kakou.central.service import Central
from kakou.edge.store import EdgeStore

NOW = datetime.now(UTC)
RULE = credit_rule()


def _lane(central: Central, tmp_path: Path, kind: str) -> list[dict]:
    store = EdgeStore(tmp_path / f"edge-{datetime.now(UTC).timestamp()}.db")
    store.apply_batch(changelog.changes_after(central, 0), datetime.now(UTC))
    rows = store.query("SELECT data FROM knowledge WHERE kind = ? ORDER BY key", (kind,))
    store.close()
    return [json.loads(d) for (d,) in rows]


def _order(no: str, **extra: Any) -> dict:
    return order_json(no, "粤B12345", "out", at=NOW, **extra)


def _review(api: Api, who: str, no: str, approve: bool = True, note: str = "") -> dict:
    r = api(who).post(f"/api/v1/release-orders/{no}/review", json={"approve": approve, "note": note})
    return {**r.json(), "http": r.status_code, "type": r.headers["content-type"]}


def test_release_order_reaches_the_lanes_only_when_another_officer_approves(
    api: Api, central: Central, tmp_path: Path
) -> None:
    filed = api("alice").post("/api/v1/release-orders", json=_order("HF1"))
    assert filed.status_code == 201 and filed.json() == {"order_no": "HF1", "status": "draft", "version": None}
    assert _lane(central, tmp_path, "release_order") == []
    assert api("lena").get("/api/v1/release-orders", params={"status": "draft"}).json()[0]["order_no"] == "HF1"

    own = _review(api, "alice", "HF1")
    assert own["http"] == 403 and own["type"].startswith("application/problem+json")
    assert "must not be its preparer" in own["title"]
    assert _review(api, "lena", "HF1")["http"] == 403  # a lane officer reviews nothing
    # A draft is not on the lanes, so there is nothing to move to another truck yet.
    assert (
        api("alice")
        .post("/api/v1/release-orders/HF1/vehicle", json={"plate": "粤B99999", "reason": "breakdown"})
        .status_code
        == 409
    )

    ok = _review(api, "rita", "HF1", note="documents checked")
    assert (ok["http"], ok["order_no"], ok["status"]) == (200, "HF1", "active")
    assert ok["version"] == changelog.latest_version(central)
    assert [o["order_no"] for o in _lane(central, tmp_path, "release_order")] == ["HF1"]
    again = _review(api, "bob", "HF1")
    assert again["http"] == 409 and "not awaiting review" in again["title"]
    detail = api("bob").get("/api/v1/release-orders/HF1").json()["order"]
    assert (detail["status"], detail["created_by"], detail["reviewed_by"], detail["review_note"]) == (
        "active",
        "alice",
        "rita",
        "documents checked",
    )
    trail = api("admin").get("/api/v1/audit", params={"target": "release_order:HF1"}).json()
    assert [(e["actor"], e["action"]) for e in reversed(trail)] == [
        ("alice", "release_order.prepare"),
        ("rita", "release_order.approve"),
    ]


def test_rejected_or_expired_drafts_never_reach_the_lanes(api: Api, central: Central, tmp_path: Path) -> None:
    # The admin may prepare too, and is held to the same rule.
    assert api("admin").post("/api/v1/release-orders", json=_order("HF2")).status_code == 201
    assert _review(api, "admin", "HF2")["http"] == 403
    assert _review(api, "bob", "HF2", approve=False, note="wrong plate")["http"] == 200
    assert api("bob").get("/api/v1/release-orders/HF2").json()["order"]["status"] == "rejected"
    assert _review(api, "rita", "HF2")["http"] == 409

    stale = _order(
        "HF3", valid_from=(NOW - timedelta(hours=3)).isoformat(), valid_until=(NOW - timedelta(minutes=1)).isoformat()
    )
    assert api("alice").post("/api/v1/release-orders", json=stale).status_code == 201
    late = _review(api, "rita", "HF3")
    assert late["http"] == 409 and "expired" in late["title"]
    assert api("rita").post("/api/v1/release-orders/HF404/review", json={"approve": True}).status_code == 404
    assert _lane(central, tmp_path, "release_order") == []


def test_risk_rule_versions_go_in_force_only_after_review_by_someone_else(
    api: Api, central: Central, tmp_path: Path
) -> None:
    alice, bob = api("alice"), api("bob")
    v1 = alice.post("/api/v1/risk-rules", json=RULE)
    assert v1.status_code == 201 and (v1.json()["version"], v1.json()["review_status"]) == (1, "draft")
    assert alice.get("/api/v1/risk-rules").json() == [] and _lane(central, tmp_path, "risk_rule") == []
    assert [(p["rule_id"], p["version"]) for p in bob.get("/api/v1/risk-rules/pending").json()] == [("R-credit", 1)]

    own = alice.post("/api/v1/risk-rules/R-credit/versions/1/review", json={"approve": True})
    assert own.status_code == 403 and own.headers["content-type"].startswith("application/problem+json")
    assert api("lena").post("/api/v1/risk-rules/R-credit/versions/1/review", json={"approve": True}).status_code == 403
    assert bob.post("/api/v1/risk-rules/R-credit/versions/1/review", json={"approve": True}).status_code == 200
    assert [(r["rule_id"], r["version"]) for r in _lane(central, tmp_path, "risk_rule")] == [("R-credit", 1)]

    # A new version waits for its review; the approved one stays in force meanwhile.
    stricter = {**RULE, "conditions": [{"kind": "carrier_credit", "grades": ["C", "D"]}]}
    assert bob.post("/api/v1/risk-rules", json=stricter).json()["version"] == 2
    assert bob.post("/api/v1/risk-rules", json={**stricter, "outcome": "inspection"}).json()["version"] == 3
    assert [r["version"] for r in alice.get("/api/v1/risk-rules").json()] == [1]
    assert api("rita").post("/api/v1/risk-rules/R-credit/versions/3/review", json={"approve": True}).status_code == 200
    (on_lane,) = _lane(central, tmp_path, "risk_rule")
    assert (on_lane["version"], on_lane["outcome"]) == (3, "inspection")
    # Approving the older draft now would silently roll the rule back.
    stale = alice.post("/api/v1/risk-rules/R-credit/versions/2/review", json={"approve": True})
    assert stale.status_code == 409 and "version 3 was approved" in stale.json()["title"]
    assert (
        alice.post(
            "/api/v1/risk-rules/R-credit/versions/2/review", json={"approve": False, "note": "superseded"}
        ).status_code
        == 200
    )
    assert alice.post("/api/v1/risk-rules/R-credit/versions/9/review", json={"approve": True}).status_code == 404
    versions = alice.get("/api/v1/risk-rules/R-credit/versions").json()
    assert [(v["version"], v["review_status"], v["active"], v["created_by"], v["reviewed_by"]) for v in versions] == [
        (1, "approved", False, "alice", "bob"),
        (2, "rejected", False, "bob", "alice"),
        (3, "approved", True, "bob", "rita"),
    ]
    assert bob.get("/api/v1/risk-rules/pending").json() == []


def test_lane_parameters_change_only_when_another_officer_approves(api: Api, central: Central, tmp_path: Path) -> None:
    alice, bob = api("alice"), api("bob")
    draft = alice.put("/api/v1/parameters", json={"scope": "*", "weight_tolerance_pct": 2.5})
    assert draft.status_code == 201 and (draft.json()["status"], draft.json()["based_on"]) == ("draft", None)
    assert alice.get("/api/v1/parameters").json() == [] and _lane(central, tmp_path, "parameters") == []
    d = draft.json()["id"]
    own = alice.post(f"/api/v1/parameters/drafts/{d}/review", json={"approve": True})
    assert own.status_code == 403 and own.headers["content-type"].startswith("application/problem+json")
    approved = bob.post(f"/api/v1/parameters/drafts/{d}/review", json={"approve": True}).json()
    assert (approved["status"], approved["revision"], approved["reviewed_by"]) == ("approved", 1, "bob")
    assert [p["weight_tolerance_pct"] for p in _lane(central, tmp_path, "parameters")] == [2.5]
    assert bob.post(f"/api/v1/parameters/drafts/{d}/review", json={"approve": True}).status_code == 409

    # Two edits written against revision 1: the first approved wins, the second is stale.
    first = bob.put("/api/v1/parameters", json={"scope": "*", "weight_tolerance_pct": 3.0}).json()["id"]
    second = alice.put("/api/v1/parameters", json={"scope": "*", "weight_tolerance_pct": 1.0}).json()["id"]
    assert [x["id"] for x in api("lena").get("/api/v1/parameters/drafts").json()] == [first, second]
    assert api("rita").post(f"/api/v1/parameters/drafts/{first}/review", json={"approve": True}).json()["revision"] == 2
    stale = api("rita").post(f"/api/v1/parameters/drafts/{second}/review", json={"approve": True})
    assert stale.status_code == 409 and "changed since" in stale.json()["title"]
    assert (
        api("rita")
        .post(f"/api/v1/parameters/drafts/{second}/review", json={"approve": False, "note": "stale"})
        .json()["status"]
        == "rejected"
    )
    assert alice.get("/api/v1/parameters/effective").json()["weight_tolerance_pct"] == 3.0
    assert (
        alice.put(
            "/api/v1/parameters", params={"expect_revision": 1}, json={"scope": "*", "weight_tolerance_pct": 9.0}
        ).status_code
        == 409
    )
