"""Control orders (布控): two-officer lifecycle, emergency orders, revocation, expiry — and what
the lanes see, checked by applying central's change log to a real edge store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from central_helpers import Api

from kakou.central import changelog, control
from kakou.central.service import Central
from kakou.edge.knowledge import ControlOrder, parse_rows
from kakou.edge.store import EdgeStore


def _lane_orders(central: Central, tmp_path: Path) -> dict[str, ControlOrder]:
    """What a lane holds after applying everything central published."""
    store = EdgeStore(tmp_path / f"edge-{datetime.now(UTC).timestamp()}.db")
    store.apply_batch(changelog.changes_after(central, 0), datetime.now(UTC))
    rows = store.query("SELECT data FROM knowledge WHERE kind = 'control_order'")
    store.close()
    return {o.order_no: o for o in parse_rows(ControlOrder, rows)}


def _new(api: Api, who: str = "alice", **extra: object) -> dict:
    body = {
        "target_kind": "container",
        "target_value": "msku1234565",
        "action": "inspect",
        "reason": "intelligence: undeclared goods",
        **extra,
    }
    r = api(who).post("/api/v1/control-orders", json=body)
    assert r.status_code == 201, r.text
    return r.json()


def test_order_reaches_lanes_only_after_review_by_another_officer(api: Api, central: Central, tmp_path: Path) -> None:
    order = _new(api)
    no = order["order_no"]
    assert order["status"] == "pending_review" and order["target_value"] == "MSKU1234565"
    assert _lane_orders(central, tmp_path) == {}

    r = api("alice").post(f"/api/v1/control-orders/{no}/review", json={"approve": True})
    assert r.status_code == 403 and "preparer" in r.json()["title"]
    assert api("lena").post(f"/api/v1/control-orders/{no}/review", json={"approve": True}).status_code == 403

    r = api("rita").post(f"/api/v1/control-orders/{no}/review", json={"approve": True, "note": "agreed"})
    assert r.status_code == 200 and r.json()["status"] == "active" and r.json()["reviewed_by"] == "rita"
    lane = _lane_orders(central, tmp_path)
    assert lane[no].target == "container" and lane[no].value == "MSKU1234565" and lane[no].action == "inspect"
    assert lane[no].applies(datetime.now(UTC))
    assert api("bob").post(f"/api/v1/control-orders/{no}/review", json={"approve": True}).status_code == 409


def test_rejected_order_never_reaches_the_lanes(api: Api, central: Central, tmp_path: Path) -> None:
    no = _new(api)["order_no"]
    r = api("rita").post(f"/api/v1/control-orders/{no}/review", json={"approve": False, "note": "no basis"})
    assert r.json()["status"] == "rejected"
    assert _lane_orders(central, tmp_path) == {}


def test_emergency_order_is_in_force_before_review_and_flagged(api: Api, central: Central, tmp_path: Path) -> None:
    no = _new(api, target_kind="vehicle", target_value="粤B12345", action="hold", emergency=True)["order_no"]
    lane = _lane_orders(central, tmp_path)
    assert lane[no].status == "emergency" and lane[no].emergency and lane[no].action == "hold"
    api("rita").post(f"/api/v1/control-orders/{no}/review", json={"approve": True})
    lane = _lane_orders(central, tmp_path)
    assert lane[no].status == "active" and lane[no].emergency  # reviewed, still marked as born in an emergency

    other = _new(api, target_kind="driver", target_value="IC0001", emergency=True)["order_no"]
    api("rita").post(f"/api/v1/control-orders/{other}/review", json={"approve": False})
    assert other not in _lane_orders(central, tmp_path)


def test_revoke_needs_a_second_officer_and_withdraws_the_order(api: Api, central: Central, tmp_path: Path) -> None:
    no = _new(api)["order_no"]
    api("rita").post(f"/api/v1/control-orders/{no}/review", json={"approve": True})
    assert api("bob").post(f"/api/v1/control-orders/{no}/revoke", json={"reason": ""}).status_code == 422
    r = api("bob").post(f"/api/v1/control-orders/{no}/revoke", json={"reason": "inspected, nothing found"})
    assert r.json()["status"] == "revoke_pending"
    assert no in _lane_orders(central, tmp_path)  # still enforced until the revocation is reviewed
    assert api("bob").post(f"/api/v1/control-orders/{no}/revoke/review", json={"approve": True}).status_code == 403
    r = api("alice").post(f"/api/v1/control-orders/{no}/revoke/review", json={"approve": True})
    assert r.json()["status"] == "revoked" and r.json()["revoked_by"] == "alice"
    assert _lane_orders(central, tmp_path) == {}
    # Re-control (复控) of the same container: a new order that refers to the revoked one.
    again = _new(api, "bob", previous_order=no)
    assert again["previous_order"] == no and again["status"] == "pending_review"


def test_orders_expire_and_are_withdrawn(api: Api, central: Central, tmp_path: Path) -> None:
    now = datetime.now(UTC)
    no = _new(api, valid_until=(now + timedelta(hours=1)).isoformat())["order_no"]
    api("rita").post(f"/api/v1/control-orders/{no}/review", json={"approve": True})
    assert control.expire_due(central, now + timedelta(minutes=30)) == []
    assert control.expire_due(central, now + timedelta(hours=2)) == [no]
    assert control.get(central, no).status == "expired"
    assert _lane_orders(central, tmp_path) == {}


def test_bad_input_is_a_clear_422(api: Api) -> None:
    r = api("alice").post("/api/v1/control-orders", json={"target_kind": "ship", "target_value": "X", "reason": "r"})
    assert r.status_code == 422 and r.json()["errors"][0]["loc"][-1] == "target_kind"
    now = datetime.now(UTC)
    r = api("alice").post(
        "/api/v1/control-orders",
        json={
            "target_kind": "vehicle",
            "target_value": "粤B1",
            "reason": "r",
            "valid_from": now.isoformat(),
            "valid_until": (now - timedelta(hours=1)).isoformat(),
        },
    )
    assert r.status_code == 422
    assert api("alice").get("/api/v1/control-orders/NOPE").status_code == 404
    listing = api("lena").get("/api/v1/control-orders", params={"status": "pending_review"}).json()
    assert listing["total"] == 0 and json.dumps(listing)
