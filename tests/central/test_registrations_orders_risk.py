"""Registrations, release orders (batch exits, vehicle change) and risk rules / parameters,
checked through the API and in what reaches a real edge store."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from central_helpers import Api, ingest, issue_order, order_json, steel_origin_rule
from lane_inputs import observation

from kakou.central import changelog, projections
from kakou.central.service import Central
from kakou.edge.decision import Knowledge, Parameters, decide
from kakou.edge.knowledge import VehicleReg, parse_release_orders, parse_rows
from kakou.edge.store import EdgeStore
from kakou.sync.messages import Outcome

NOW = datetime.now(UTC)


def _lane(central: Central, tmp_path: Path, kind: str) -> list[tuple[str]]:
    store = EdgeStore(tmp_path / f"edge-{datetime.now(UTC).timestamp()}.db")
    for stream in changelog.stream_heads(central):  # a lane holding every scope (broadcast, site, node)
        store.apply_batch(changelog.changes_after(central, 0, stream=stream), datetime.now(UTC))
    rows = store.query("SELECT data FROM knowledge WHERE kind = ? ORDER BY key", (kind,))
    store.close()
    return rows


def test_vehicle_needs_a_registered_carrier_and_deleting_flags_and_withdraws(
    api: Api, central: Central, tmp_path: Path
) -> None:
    alice = api("alice")
    truck = {"plate": "粤B12345", "e_plate": "E0001", "tare_kg": 14500, "carrier": "C01"}
    r = alice.put("/api/v1/registrations/vehicle", json=truck)
    assert r.status_code == 422 and "not a registered carrier" in r.json()["title"]
    assert (
        alice.put(
            "/api/v1/registrations/carrier", json={"code": "C01", "name": "Sino Haul", "credit_grade": "A"}
        ).status_code
        == 200
    )
    r = alice.put("/api/v1/registrations/vehicle", json=truck)
    assert r.status_code == 200 and r.json()["key"] == "粤B12345" and r.json()["revision"] == 1
    lane = parse_rows(VehicleReg, _lane(central, tmp_path, "vehicle"))
    assert [(v.plate, v.tare_kg, v.e_plate) for v in lane] == [("粤B12345", 14500, "E0001")]

    # An edit based on a stale revision is refused rather than silently overwriting.
    assert (
        alice.put(
            "/api/v1/registrations/vehicle", params={"expect_revision": 5}, json={**truck, "tare_kg": 15000}
        ).status_code
        == 409
    )
    assert (
        alice.put(
            "/api/v1/registrations/vehicle", params={"expect_revision": 1}, json={**truck, "tare_kg": 15000}
        ).json()["revision"]
        == 2
    )

    assert api("lena").delete("/api/v1/registrations/vehicle/粤B12345").status_code == 403
    assert alice.delete("/api/v1/registrations/vehicle/粤B12345").json()["deleted"] is True
    assert api("lena").get("/api/v1/registrations/vehicle").json()["total"] == 0
    kept = alice.get("/api/v1/registrations/vehicle", params={"include_deleted": True}).json()["items"]
    assert [(v["key"], v["deleted"], v["data"]["tare_kg"]) for v in kept] == [("粤B12345", True, 15000)]
    assert _lane(central, tmp_path, "vehicle") == []
    assert alice.put("/api/v1/registrations/ship", json={}).status_code == 422


def test_sites_lanes_and_devices_stay_central(api: Api, central: Central, tmp_path: Path) -> None:
    alice = api("alice")
    assert alice.put("/api/v1/registrations/site", json={"code": "GATE1", "name": "North gate"}).status_code == 200
    r = alice.put(
        "/api/v1/registrations/lane",
        json={"node": "n1", "lane": "L1", "site": "GATE1", "direction": "in", "lane_class": "B"},
    )
    assert r.json()["key"] == "n1/L1"
    assert alice.get("/api/v1/registrations/lane/n1/L1").json()["data"]["lane_class"] == "B"
    assert (
        alice.put(
            "/api/v1/registrations/device",
            json={"device_id": "WB-1", "device_kind": "weighbridge", "node": "n1", "lane": "L1"},
        ).status_code
        == 200
    )
    # The lane's own settings go to its node alone; sites and devices stay central.
    assert [json.loads(d)["lane_class"] for (d,) in _lane(central, tmp_path, "lane")] == ["B"]
    assert set(changelog.stream_heads(central)) == {"node:n1"}
    kinds = {c.kind.value for c in changelog.changes_after(central, 0, stream="node:n1").changes}
    assert kinds == {"lane"}


def _order(no: str, plate: str, **extra: Any) -> dict:
    return order_json(no, plate, "out", at=NOW, **extra)


def test_batch_exit_counts_each_pass_once_and_withdraws_when_used_up(
    api: Api, central: Central, tmp_path: Path
) -> None:
    alice = api("alice")
    issue_order(
        api,
        _order(
            "HF9",
            "粤B12345",
            batch_unit="passes",
            total_quantity=2,
            goods=[{"name": "steel coil", "hs_code": "7208", "quantity": 40000, "origin": "CN"}],
        ),
    )
    assert [o.order_no for o in parse_release_orders(_lane(central, tmp_path, "release_order"))] == ["HF9"]
    ingest(central, 1, "粤B12345", release_order="HF9")
    ingest(central, 1, "粤B12345", release_order="HF9")  # redelivered: no double count
    projections.run_all(central)
    detail = alice.get("/api/v1/release-orders/HF9").json()
    assert detail["order"]["remaining_quantity"] == 1 and len(detail["passes"]) == 1
    assert detail["order"]["goods"][0]["hs_code"] == "7208"
    ingest(central, 2, "粤B12345", release_order="HF9")
    assert projections.run_all(central) == 1 and projections.run_all(central) == 0
    detail = alice.get("/api/v1/release-orders/HF9").json()
    assert detail["order"]["status"] == "used" and detail["order"]["remaining_quantity"] == 0
    assert _lane(central, tmp_path, "release_order") == []


def test_batch_in_kg_uses_net_weight_and_an_overrun_raises_an_alert(api: Api, central: Central) -> None:
    alice = api("alice")
    alice.put("/api/v1/registrations/vehicle", json={"plate": "粤B12345", "tare_kg": 15000})
    issue_order(api, _order("HF10", "粤B12345", batch_unit="kg", total_quantity=30000))
    ingest(central, 1, "粤B12345", release_order="HF10", gross_kg=35000)
    ingest(central, 2, "粤B12345", release_order="HF10", gross_kg=27000)
    projections.run_all(central)
    order = alice.get("/api/v1/release-orders/HF10").json()["order"]
    assert order["remaining_quantity"] == -2000 and order["status"] == "used"
    alerts = api("bob").get("/api/v1/alerts", params={"kind": "batch_exceeded"}).json()["items"]
    assert len(alerts) == 1 and alerts[0]["code"] == "order_exceeded"
    assert alerts[0]["message"] == alerts[0]["texts"]["zh"] == "核放单 HF10 超出 2000 kg"
    assert "exceeded by 2000 kg" in alerts[0]["texts"]["en"]


def test_a_truck_on_two_orders_is_released_by_the_lane_and_counted_on_each(
    api: Api, central: Central, tmp_path: Path
) -> None:
    """2×20' under two release orders: the lane's decide() releases on both (from what central
    published), and central counts the exit on each order and traces the pass from either."""
    alice = api("alice")
    issue_order(api, _order("HF21", "粤B12345", containers=["CSQU3054383"], batch_unit="passes", total_quantity=2))
    issue_order(api, _order("HF22", "粤B12345", containers=["TGHU1234561"]))
    known = parse_release_orders(_lane(central, tmp_path, "release_order"))
    seen = observation(direction="out", at=NOW, plate_confidence=0.97, containers=["TGHU1234561", "CSQU3054383"])
    d = decide(seen, Knowledge(version=2, release_orders=known), Parameters())
    assert d.outcome is Outcome.RELEASE and d.release_orders == ["HF21", "HF22"]
    for _delivery in range(2):  # the second is a redelivery: counted once
        ingest(
            central,
            1,
            "粤B12345",
            containers=seen.containers,
            release_order=d.release_order,
            release_orders=d.release_orders,
        )
    ingest(central, 2, "粤B12345", release_order="HF21")  # a lane that only knows one order per pass
    assert projections.run_all(central) == 2
    hf21 = alice.get("/api/v1/release-orders/HF21").json()
    hf22 = alice.get("/api/v1/release-orders/HF22").json()
    assert [p["pass_id"] for p in hf21["passes"]] == ["n1-L1-1", "n1-L1-2"]
    assert hf21["order"]["remaining_quantity"] == 0 and hf21["order"]["status"] == "used"
    assert [p["pass_id"] for p in hf22["passes"]] == ["n1-L1-1"]
    for no in ("HF21", "HF22"):
        trace = alice.get(f"/api/v1/trace/order/{no}").json()
        assert "n1-L1-1" in {e["ref"] for e in trace if e["kind"] == "pass"}, trace


def test_a_kg_batch_sharing_a_truck_counts_nothing_and_raises_an_alert(api: Api, central: Central) -> None:
    alice = api("alice")
    alice.put("/api/v1/registrations/vehicle", json={"plate": "粤B12345", "tare_kg": 15000})
    issue_order(api, _order("HF23", "粤B12345", containers=["CSQU3054383"], batch_unit="kg", total_quantity=30000))
    issue_order(api, _order("HF24", "粤B12345", containers=["TGHU1234561"]))
    ingest(central, 1, "粤B12345", release_order="HF23", release_orders=["HF23", "HF24"], gross_kg=40000)
    projections.run_all(central)
    assert alice.get("/api/v1/release-orders/HF23").json()["order"]["remaining_quantity"] == 30000
    alerts = api("bob").get("/api/v1/alerts", params={"kind": "batch_exceeded"}).json()["items"]
    assert len(alerts) == 1 and "shares pass n1-L1-1 with HF24" in alerts[0]["texts"]["en"]
    assert "与 HF24 共用通行 n1-L1-1" in alerts[0]["message"]


def test_declared_net_weight_reaches_the_lane_and_is_never_more_than_the_gross(
    api: Api, central: Central, tmp_path: Path
) -> None:
    issue_order(api, _order("HF25", "粤B12345", declared_net_kg=21000, declared_gross_kg=38000))
    issue_order(api, _order("HF26", "粤B12346", declared_gross_kg=30000))
    rows = _lane(central, tmp_path, "release_order")
    by_no = {o.order_no: o for o in parse_release_orders(rows)}
    assert by_no["HF25"].declared_net_kg == 21000 and by_no["HF26"].declared_net_kg is None
    # An order without a net weight is published exactly as lanes before declared_net_kg read it.
    assert all("declared_net_kg" not in data for (data,) in rows if '"HF26"' in data)
    r = api("alice").post(
        "/api/v1/release-orders", json=_order("HF27", "粤B12345", declared_net_kg=40000, declared_gross_kg=38000)
    )
    assert r.status_code == 422 and "more than declared_gross_kg" in r.text


def test_vehicle_change_moves_the_order_to_the_new_truck(api: Api, central: Central, tmp_path: Path) -> None:
    alice = api("alice")
    issue_order(api, _order("HF11", "粤B12345"))
    assert (
        alice.post("/api/v1/release-orders/HF11/vehicle", json={"plate": "粤B99999", "reason": ""}).status_code == 422
    )
    r = alice.post("/api/v1/release-orders/HF11/vehicle", json={"plate": "粤B99999", "reason": "breakdown"})
    assert (r.json()["plate"], r.json()["pending_plate"]) == ("粤B12345", "粤B99999")  # until reviewed
    assert [o.plate for o in parse_release_orders(_lane(central, tmp_path, "release_order"))] == ["粤B12345"]
    assert alice.post("/api/v1/release-orders/HF11/vehicle/review", json={"approve": True}).status_code == 403
    r = api("rita").post("/api/v1/release-orders/HF11/vehicle/review", json={"approve": True})
    assert r.json()["plate"] == "粤B99999" and r.json()["plate_history"][0]["plate"] == "粤B12345"
    assert r.json()["plate_history"][0]["approved_by"] == "rita" and r.json()["pending_plate"] is None
    assert api("rita").post("/api/v1/release-orders/HF11/vehicle/review", json={"approve": True}).status_code == 409
    alice.post("/api/v1/release-orders/HF11/vehicle", json={"plate": "粤B77777", "reason": "second breakdown"})
    refused = api("bob").post("/api/v1/release-orders/HF11/vehicle/review", json={"approve": False}).json()
    assert (refused["plate"], refused["pending_plate"], len(refused["plate_history"])) == ("粤B99999", None, 1)
    assert [o.plate for o in parse_release_orders(_lane(central, tmp_path, "release_order"))] == ["粤B99999"]
    assert alice.post("/api/v1/release-orders/HF11/cancel", json={"reason": "trade cancelled"}).status_code == 200
    assert _lane(central, tmp_path, "release_order") == []


def test_release_order_rejects_unknown_declarations_and_bad_windows(api: Api) -> None:
    alice = api("alice")
    r = alice.post("/api/v1/release-orders", json=_order("HF12", "粤B1", declarations=["D-404"]))
    assert r.status_code == 422 and "D-404" in r.json()["title"]
    bad = _order("HF13", "粤B1", valid_until=(NOW - timedelta(hours=2)).isoformat())
    assert alice.post("/api/v1/release-orders", json=bad).status_code == 422
    assert alice.post("/api/v1/release-orders", json=_order("HF14", "粤B1", total_quantity=3)).status_code == 422


def test_risk_rules_are_versioned_and_published(api: Api, central: Central, tmp_path: Path) -> None:
    alice = api("alice")
    rule = steel_origin_rule("R-origin", "XX")
    assert alice.post("/api/v1/risk-rules", json=rule).json()["version"] == 1
    assert api("rita").post("/api/v1/risk-rules/R-origin/versions/1/review", json={"approve": True}).status_code == 200
    changed = {**rule, "conditions": [*rule["conditions"], {"kind": "weight_deviation", "over_pct": 2}]}
    assert alice.post("/api/v1/risk-rules", json=changed).json()["version"] == 2
    assert api("bob").post("/api/v1/risk-rules/R-origin/versions/2/review", json={"approve": True}).status_code == 200
    versions = alice.get("/api/v1/risk-rules/R-origin/versions").json()
    assert [(v["version"], v["active"], v["reviewed_by"]) for v in versions] == [(1, False, "rita"), (2, True, "bob")]
    import json

    lane = [json.loads(d) for (d,) in _lane(central, tmp_path, "risk_rule")]
    assert [(r["rule_id"], r["version"], r["outcome"], len(r["conditions"])) for r in lane] == [
        ("R-origin", 2, "inspection", 3)
    ]
    bad = alice.post("/api/v1/risk-rules", json={**rule, "conditions": [{"kind": "weight_deviation"}]})
    assert bad.status_code == 422 and "over_pct or over_kg" in str(bad.json()["errors"])
    assert alice.delete("/api/v1/risk-rules/R-origin").status_code == 204
    assert _lane(central, tmp_path, "risk_rule") == [] and alice.get("/api/v1/risk-rules").json() == []


def test_lane_parameters_fall_back_to_the_defaults_for_every_lane(api: Api, central: Central, tmp_path: Path) -> None:
    alice = api("alice")

    def issue(params: dict) -> dict:
        draft = alice.put("/api/v1/parameters", json=params).json()
        return api("rita").post(f"/api/v1/parameters/drafts/{draft['id']}/review", json={"approve": True}).json()

    assert issue({"scope": "*", "weight_tolerance_pct": 2.0})["revision"] == 1
    issue({"scope": "n1/L2", "random_inspection_rate": 0.05, "tare_mode": "measured"})
    eff = alice.get("/api/v1/parameters/effective", params={"lane": "n1/L1"}).json()
    assert eff["weight_tolerance_pct"] == 2.0 and eff["random_inspection_rate"] == 0.0
    eff = alice.get("/api/v1/parameters/effective", params={"lane": "n1/L2"}).json()
    assert eff["random_inspection_rate"] == 0.05 and eff["tare_mode"] == "measured"
    assert alice.put("/api/v1/parameters", json={"scope": "*", "random_inspection_rate": 2}).status_code == 422
    assert len(_lane(central, tmp_path, "parameters")) == 2
