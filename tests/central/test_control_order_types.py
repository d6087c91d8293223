"""Control-order types as data (issue 18 item 1, seed 002): 随机布控 (random: a share of the
target's passes), 重点人员 (key person: a driver), 风险车辆 (risk vehicle), reviewed by a second
officer like every control order; the lane says which type stopped the truck. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from central_helpers import Api
from lane_inputs import observation

from kakou.central import changelog
from kakou.central.service import Central
from kakou.edge.decision import Parameters, decide
from kakou.edge.records import LaneRecords
from kakou.edge.store import EdgeStore
from kakou.sync.checks import CheckCode


def issue(api: Api, body: dict[str, Any]) -> str:
    r = api("alice").post("/api/v1/control-orders", json=body)
    assert r.status_code == 201, r.text
    no = r.json()["order_no"]
    assert api("rita").post(f"/api/v1/control-orders/{no}/review", json={"approve": True}).status_code == 200
    return no


def lane(central: Central, tmp_path: Path) -> LaneRecords:
    store = EdgeStore(tmp_path / f"edge-{datetime.now(UTC).timestamp()}.db")
    for stream in changelog.stream_heads(central):
        store.apply_batch(changelog.changes_after(central, 0, stream=stream), datetime.now(UTC))
    return LaneRecords(store, tmp_path / "images")


def test_types_are_checked_against_their_targets(api: Api) -> None:
    alice = api("alice")
    base = {"target_kind": "vehicle", "target_value": "粤B1", "reason": "线报"}
    assert alice.post("/api/v1/control-orders", json={**base, "order_type": "key_person"}).status_code == 422
    assert alice.post("/api/v1/control-orders", json={**base, "order_type": "random"}).status_code == 422
    assert alice.post("/api/v1/control-orders", json={**base, "random_rate": 0.5}).status_code == 422
    assert (
        alice.post("/api/v1/control-orders", json={**base, "order_type": "random", "random_rate": 1.5}).status_code
        == 422
    )
    ok = alice.post("/api/v1/control-orders", json={**base, "order_type": "risk_vehicle"})
    assert ok.status_code == 201
    assert (ok.json()["order_type"], ok.json()["status"]) == ("risk_vehicle", "pending_review")


def test_random_and_key_person_orders_at_the_lane(api: Api, central: Central, tmp_path: Path) -> None:
    random_no = issue(
        api,
        {
            "target_kind": "vehicle",
            "target_value": "粤B77777",
            "reason": "随机布控",
            "order_type": "random",
            "random_rate": 0.3,
            "action": "inspect",
        },
    )
    person_no = issue(
        api,
        {
            "target_kind": "driver",
            "target_value": "IC-42",
            "reason": "重点人员",
            "order_type": "key_person",
            "action": "hold",
        },
    )
    records = lane(central, tmp_path)
    try:
        now = datetime.now(UTC)
        k = records.knowledge_for("粤B77777", None)
        held = 0
        for i in range(200):  # the same truck, 200 passes: about 30 % are stopped, each pass decided once
            obs = observation(pass_id=f"p{i}", at=now, plate="粤B77777", plate_confidence=0.95)
            d = decide(obs, k, Parameters())
            hits = [c for c in d.checks if c.code is CheckCode.CONTROL_ORDER_HIT]
            if hits:
                held += 1
                assert hits[0].params["order_type"] == "random" and hits[0].params["order_no"] == random_no
                assert d.outcome == "inspection"
            assert decide(obs, k, Parameters()).outcome == d.outcome  # a replay draws the same
        # Binomial(200, 0.3): mean 60, sd 6.5. The order number (and so every draw) differs
        # between runs; 40-80 (3 sd) failed about once in a thousand runs (39 held, seen in CI).
        # 5 sd either way still tells "about 30 %" from never and always.
        assert 28 <= held <= 92
        k2 = records.knowledge_for("粤B12345", "IC-42")
        d = decide(
            observation(pass_id="q1", at=now, plate_confidence=0.95, ic_card="IC-42"),
            k2,
            Parameters(),
        )
        hit = next(c for c in d.checks if c.code is CheckCode.CONTROL_ORDER_HIT)
        assert d.outcome == "officer"
        assert (hit.params["order_type"], hit.params["order_no"]) == ("key_person", person_no)
    finally:
        records.store.close()
