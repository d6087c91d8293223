"""Risk evaluated where the data is (issue 18 item 1): central evaluates the declaration-side
conditions of the rules in force (origin, HS code, declared value, transit time, seed 001's risk
tags with their thresholds) on each release order and publishes the verdict with the order; the
lane, from its own cache, fires the rule and says which rule and what was found.

The lane side is real: central's change log applied to a lane's store, the lane's knowledge
lookup, and decide(). SQLite and PostgreSQL.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from central_helpers import Api, issue_order, order_json, steel_origin_rule, transit_row
from lane_inputs import observation
from sqlalchemy import select, update

from kakou.central import changelog, risk_eval
from kakou.central.service import Central
from kakou.central.tables import DeclarationRow, ReleaseOrderRow
from kakou.central.tables_sync import ChangeRow
from kakou.edge.decision import Decision, Parameters, decide
from kakou.edge.records import LaneRecords
from kakou.edge.store import EdgeStore
from kakou.sync.checks import CheckCode
from kakou.sync.knowledge import RiskRule

NOW = datetime.now(UTC).replace(microsecond=0)
TRANSIT_OVERDUE_RULE = {  # a truck more than 48 h in transit goes to inspection
    "rule_id": "R-TRANSIT",
    "name": "转关超时",
    "outcome": "inspection",
    "explanation": "在途超时",
    "conditions": [{"kind": "transit_time", "over_hours": 48}],
}


def order(no: str, plate: str, goods: list[dict[str, Any]], **extra: Any) -> dict[str, Any]:
    return order_json(no, plate, hours=6, at=NOW, goods=goods, **extra)


def steel(origin: str) -> dict[str, Any]:
    return {"name": "热轧钢卷", "hs_code": "7208", "quantity": 40000, "origin": origin, "amount": 200000}


KP_STEEL = steel_origin_rule("R-KP", "KP", name="高风险原产地钢材", explanation="该原产地钢材须查验")


def put_in_force(api: Api, rule: dict[str, Any]) -> None:
    r = api("alice").post("/api/v1/risk-rules", json=rule)
    assert r.status_code == 201, r.text
    ok = api("rita").post(
        f"/api/v1/risk-rules/{rule['rule_id']}/versions/{r.json()['version']}/review", json={"approve": True}
    )
    assert ok.status_code == 200, ok.text


def at_lane(central: Central, tmp_path: Path, plate: str, at: datetime = NOW) -> Decision:
    """What a lane holding every change stream decides for this truck (no containers, no scale)."""
    store = EdgeStore(tmp_path / f"edge-{datetime.now(UTC).timestamp()}.db")
    try:
        for stream in changelog.stream_heads(central):
            store.apply_batch(changelog.changes_after(central, 0, stream=stream), datetime.now(UTC))
        k = LaneRecords(store, tmp_path / "images").knowledge_for(plate, None)
        obs = observation(pass_id=f"p-{plate}-{at.timestamp()}", at=at, plate=plate, plate_confidence=0.95)
        return decide(obs, k, Parameters())
    finally:
        store.close()


def failed(d: Decision) -> list[CheckCode]:
    return [c.code for c in d.checks if not c.ok]


def test_a_rule_on_origin_and_hs_code_stops_the_truck_with_what_central_found(
    api: Api, central: Central, tmp_path: Path
) -> None:
    put_in_force(api, KP_STEEL)
    issue_order(
        api,
        order("HF-KP", "粤B10001", [{"name": "螺栓", "hs_code": "7318", "quantity": 5, "origin": "CN"}, steel("KP")]),
    )
    issue_order(api, order("HF-CN", "粤B10002", [steel("CN")]))
    d = at_lane(central, tmp_path, "粤B10001")
    assert d.outcome == "inspection"
    assert failed(d) == [CheckCode.RISK_RULE_HIT, CheckCode.RISK_ORIGIN, CheckCode.RISK_HS_CODE]
    texts = [f.text() for f in d.reasons]
    assert texts[0] == "风险规则 R-KP v1（高风险原产地钢材）：该原产地钢材须查验"
    assert texts[1] == "核放单 HF-KP 第 2 项 热轧钢卷：原产地 KP 属风险国家/地区"
    assert texts[2] == "核放单 HF-KP 第 2 项 热轧钢卷：商品编码 7208 属风险税号 72"
    assert at_lane(central, tmp_path, "粤B10002").outcome == "release"  # same steel, another origin
    # The console reads the same verdict, rendered in either language.
    r = api("lena").get("/api/v1/release-orders/HF-KP/risk", params={"lang": "en"})
    assert r.status_code == 200 and r.json()[0]["rule_id"] == "R-KP"
    assert r.json()[0]["texts"][0] == "release order HF-KP line 2 热轧钢卷: origin KP is a risk country"
    assert api("lena").get("/api/v1/release-orders/NOPE/risk").status_code == 404


def test_orders_on_the_lanes_follow_the_rules_as_they_come_and_go(api: Api, central: Central, tmp_path: Path) -> None:
    issue_order(api, order("HF-1", "粤B20001", [steel("KP")]))
    assert at_lane(central, tmp_path, "粤B20001").outcome == "release"  # no rule yet
    put_in_force(api, KP_STEEL)  # the order already on the lanes is republished with its verdict
    assert at_lane(central, tmp_path, "粤B20001").outcome == "inspection"
    # A new version that no longer covers the order: republished without a verdict.
    put_in_force(api, {**KP_STEEL, "conditions": [{"kind": "origin", "countries": ["IR"]}]})
    assert at_lane(central, tmp_path, "粤B20001").outcome == "release"
    put_in_force(api, {**KP_STEEL, "conditions": [{"kind": "origin", "countries": ["KP"]}]})
    assert at_lane(central, tmp_path, "粤B20001").outcome == "inspection"
    assert api("alice").delete("/api/v1/risk-rules/R-KP").status_code == 204
    assert at_lane(central, tmp_path, "粤B20001").outcome == "release"


def _verdict(central: Central, order_no: str, rule: dict[str, Any]) -> list[tuple[str, dict[str, Any]]]:
    with central.sessions() as s:
        row = s.get(ReleaseOrderRow, order_no)
        assert row is not None
        hits = risk_eval.verdict(s, row, [RiskRule(version=1, **rule)])
    return [(f.code.value, f.params) for h in hits for f in h.findings]


def _tag(tag: str, **params: Any) -> dict[str, Any]:
    return {
        "rule_id": f"T-{tag}",
        "name": tag,
        "outcome": "officer",
        "explanation": tag,
        "conditions": [{"kind": "risk_tag", "tag": tag, **params}],
    }


def test_seed_001_risk_tags_with_their_thresholds(api: Api, central: Central) -> None:
    coffee = {
        "name": "生咖啡豆",
        "hs_code": "0901",
        "quantity": 100,
        "origin": "CO",
        "traced_origin": "BR",
        "amount": 7000,
    }  # unit price 70
    cleared = {
        **coffee,
        "name": "已检疫咖啡",
        "quantity": 10,
        "amount": 12000,
        "quarantine_no": "Q-1",
        "traced_origin": "CO",
    }  # unit price 1200
    issue_order(api, order("HF-T", "粤B30001", [coffee, cleared, steel("CN")]))
    # 价格异常: below the reference by more than the percentage, among the goods it names.
    assert _verdict(central, "HF-T", _tag("price", reference_unit_price=100, below_pct=20, hs_prefixes=["09"])) == [
        (
            "risk_price",
            {
                "order_no": "HF-T",
                "item": 1,
                "goods": "生咖啡豆",
                "unit_price": 70.0,
                "reference": 100.0,
                "below_pct": 20.0,
            },
        )
    ]
    assert _verdict(central, "HF-T", _tag("price", reference_unit_price=100, below_pct=40, hs_prefixes=["09"])) == []
    # 有高价值: a line over the threshold.
    assert [p["item"] for _c, p in _verdict(central, "HF-T", _tag("high_value", unit_price_over=1000))] == [2]
    # 未检疫: goods that need quarantine, without a batch number.
    assert _verdict(central, "HF-T", _tag("quarantine", hs_prefixes=["0901"])) == [
        ("risk_quarantine", {"order_no": "HF-T", "item": 1, "goods": "生咖啡豆", "hs_code": "0901"})
    ]
    # 原产地不一致: declared CO, traced BR.
    assert [(p["origin"], p["traced_origin"]) for _c, p in _verdict(central, "HF-T", _tag("traced_origin"))] == [
        ("CO", "BR")
    ]
    # Declared value over the limit: 200000 + 7000 + 12000.
    assert _verdict(central, "HF-T", {**_tag("x"), "conditions": [{"kind": "declared_value", "over_amount": 2e5}]}) == [
        ("risk_declared_value", {"order_no": "HF-T", "amount": 219000.0, "limit": 200000.0})
    ]
    assert (
        _verdict(central, "HF-T", {**_tag("x"), "conditions": [{"kind": "declared_value", "over_amount": 3e5}]}) == []
    )
    # A threshold a tag needs is asked for when the rule is written.
    bad = api("alice").post("/api/v1/risk-rules", json=_tag("price", below_pct=10))
    assert bad.status_code == 422 and "reference_unit_price" in str(bad.json())


def test_time_limits_hold_from_their_instant_at_the_lane(api: Api, central: Central, tmp_path: Path) -> None:
    """Transit time and long storage depend on when the truck comes: the verdict says from when."""
    decl = {
        "doc_type": "declaration",
        "stage": "official",
        "doc_no": "D-OLD",
        "direction": "in",
        "trade_mode": "0110",
        "item_count": 0,
        "total_quantity": 1,
        "total_amount": 1,
    }
    filed = api("alice").post("/api/v1/declarations", json=decl)
    assert filed.status_code == 201
    with central.sessions.begin() as s:  # declared 29 days 21 hours ago
        s.execute(
            update(DeclarationRow)
            .where(DeclarationRow.doc_no == "D-OLD")
            .values(created_at=NOW - timedelta(days=29, hours=21))
        )
        s.add(transit_row("TR-1", 48, plate="粤B40001", status="en_route", started_at=NOW - timedelta(hours=47)))
    put_in_force(
        api,
        {
            "rule_id": "R-STORE",
            "name": "长期滞留",
            "outcome": "officer",
            "explanation": "滞留超过30天",
            "conditions": [{"kind": "risk_tag", "tag": "long_storage", "days_over": 30}],
        },
    )
    put_in_force(api, TRANSIT_OVERDUE_RULE)
    issue_order(api, order("HF-S", "粤B40002", [steel("CN")], declarations=["D-OLD"]))
    issue_order(api, order("HF-TR", "粤B40001", [steel("CN")]))
    assert at_lane(central, tmp_path, "粤B40002").outcome == "release"  # not yet 30 days
    late = at_lane(central, tmp_path, "粤B40002", NOW + timedelta(hours=4))
    assert late.outcome == "officer" and CheckCode.RISK_LONG_STORAGE in failed(late)
    # The declaration withdrawn: the order is republished without the verdict it gave.
    assert api("alice").delete(f"/api/v1/declarations/{filed.json()['id']}").status_code == 204
    assert at_lane(central, tmp_path, "粤B40002", NOW + timedelta(hours=4)).outcome == "release"
    assert at_lane(central, tmp_path, "粤B40001").outcome == "release"  # 47 h under way
    transit = at_lane(central, tmp_path, "粤B40001", NOW + timedelta(hours=2))
    assert transit.outcome == "inspection"
    assert next(f.text() for f in transit.reasons if f.code is CheckCode.RISK_TRANSIT_TIME).endswith("在途超过 48 小时")


def test_a_whitelisted_vehicle_gets_no_verdict_once_a_second_officer_approves(
    api: Api, central: Central, tmp_path: Path
) -> None:
    put_in_force(api, KP_STEEL)
    issue_order(api, order("HF-W", "粤B50001", [steel("KP")]))
    entry = api("alice").post(
        "/api/v1/risk-whitelist", json={"target_kind": "vehicle", "value": "粤B50001", "reason": "AEO高级认证企业车辆"}
    )
    assert entry.status_code == 201 and entry.json()["status"] == "draft"
    wid = entry.json()["id"]
    assert at_lane(central, tmp_path, "粤B50001").outcome == "inspection"  # a draft changes nothing
    own = api("alice").post(f"/api/v1/risk-whitelist/{wid}/review", json={"approve": True})
    assert own.status_code == 403
    assert api("rita").post(f"/api/v1/risk-whitelist/{wid}/review", json={"approve": True}).json()["status"] == "active"
    assert at_lane(central, tmp_path, "粤B50001").outcome == "release"
    assert api("rita").post(f"/api/v1/risk-whitelist/{wid}/review", json={"approve": True}).status_code == 409
    assert api("bob").delete(f"/api/v1/risk-whitelist/{wid}").json()["status"] == "revoked"
    assert at_lane(central, tmp_path, "粤B50001").outcome == "inspection"
    bad = api("alice").post("/api/v1/risk-whitelist", json={"target_kind": "driver", "value": "x", "reason": "r"})
    assert bad.status_code == 422


@pytest.mark.parametrize("version", [2])
def test_a_verdict_for_another_rule_version_does_not_fire(
    api: Api, central: Central, tmp_path: Path, version: int
) -> None:
    """The lane fires only the version it holds: a verdict for another version is no verdict."""
    put_in_force(api, KP_STEEL)
    issue_order(api, order("HF-V", "粤B60001", [steel("KP")]))
    with central.sessions.begin() as s:  # the lanes' copy of the order, as another version's verdict
        from kakou.central.tables_sync import ChangeRow

        row = s.query(ChangeRow).filter(ChangeRow.key == "HF-V").order_by(ChangeRow.version.desc()).first()
        assert row is not None and row.data["risk"][0]["version"] == 1
        row.data = {**row.data, "risk": [{**row.data["risk"][0], "version": version}]}
    assert at_lane(central, tmp_path, "粤B60001").outcome == "release"


def test_a_transit_that_starts_after_the_order_was_issued_updates_its_verdict(
    api: Api, central: Central, tmp_path: Path
) -> None:
    """The transit clock starts from the entry gate's pass (central's projection): the order for the
    destination, issued before, is republished with the verdict that holds 48 h after the start."""
    from central_helpers import ingest

    from kakou.central import projections

    alice = api("alice")
    for code in ("ENTRY", "DEST"):
        assert alice.put("/api/v1/registrations/site", json={"code": code, "name": code}).status_code == 200
    alice.put("/api/v1/registrations/lane", json={"node": "a", "lane": "L1", "site": "ENTRY", "direction": "out"})
    put_in_force(api, TRANSIT_OVERDUE_RULE)
    assert (
        alice.post(
            "/api/v1/transits",
            json={
                "transit_no": "ZG9",
                "plate": "粤B70001",
                "entry_site": "ENTRY",
                "destination_site": "DEST",
                "time_limit_h": 72,
            },
        ).status_code
        == 201
    )
    issue_order(api, order("HF-DEST", "粤B70001", [steel("CN")]))
    assert at_lane(central, tmp_path, "粤B70001", NOW + timedelta(hours=5)).outcome == "release"  # not under way
    ingest(central, 1, "粤B70001", node="a", at=NOW - timedelta(hours=44))
    projections.run_all(central)
    # The order on the lanes now carries the verdict, from 48 h after the start. (At the lane, a
    # truck arriving on its transit is decided on the transit, not on release orders: the verdict
    # counts for a truck that goes out on the order.)
    with central.sessions() as s:
        lane_copy = s.scalars(
            select(ChangeRow.data)
            .where(ChangeRow.kind == "release_order", ChangeRow.key == "HF-DEST")
            .order_by(ChangeRow.version.desc())
            .limit(1)
        ).one()
    hit = lane_copy["risk"][0]
    assert (hit["rule_id"], hit["findings"][0]["code"]) == ("R-TRANSIT", "risk_transit_time")
    started = datetime.fromisoformat(hit["after"].replace("Z", "+00:00")) - timedelta(hours=48)
    assert abs(started - (NOW - timedelta(hours=44))) < timedelta(seconds=1)
