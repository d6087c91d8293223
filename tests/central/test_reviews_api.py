"""`GET /api/v1/reviews`: what awaits review, every kind in one paged list, against a real central.

A reviewer finds each kind filed by officers through the ordinary endpoints, pages through them,
filters by kind, and approves an item at the endpoint the item names; it then leaves the list."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from central_helpers import Api, credit_rule

from kakou.demo import demo_order


def _file_one_of_each(api: Api) -> None:
    alice = api("alice")
    for no, plate in (("RV1", "粤B10001"), ("RV2", "粤B10002"), ("RV3", "粤B10003")):
        order = demo_order(plate, no).model_dump(mode="json")
        assert alice.post("/api/v1/release-orders", json=order).status_code == 201
    assert api("bob").post("/api/v1/release-orders/RV3/review", json={"approve": True}).status_code == 200
    asked = alice.post("/api/v1/release-orders/RV3/vehicle", json={"plate": "粤B99999", "reason": "breakdown"})
    assert asked.status_code == 200, asked.text
    control = {"target_kind": "vehicle", "target_value": "粤B77777", "reason": "tip-off"}
    assert alice.post("/api/v1/control-orders", json=control).status_code == 201
    rule = credit_rule("R-queue", "grade D carriers")
    assert alice.post("/api/v1/risk-rules", json=rule).status_code == 201
    assert alice.put("/api/v1/parameters", json={"scope": "*", "weight_tolerance_kg": 321}).status_code == 201
    entry = {"target_kind": "vehicle", "value": "粤B55555", "reason": "AEO carrier"}
    assert alice.post("/api/v1/risk-whitelist", json=entry).status_code == 201


def test_a_reviewer_pages_through_every_kind_awaiting_review_and_decides_at_the_named_endpoint(api: Api) -> None:
    _file_one_of_each(api)
    rita = api("rita")
    got = rita.get("/api/v1/reviews").json()
    assert got["total"] == 7
    counts = {k["kind"]: k["count"] for k in got["kinds"]}
    assert counts == {
        "control_order": 1,
        "control_revoke": 0,
        "release_order": 2,
        "vehicle_change": 1,
        "parameters": 1,
        "manual_match": 0,
        "risk_rule": 1,
        "declaration": 0,
        "reconciliation": 0,
        "whitelist": 1,
    }
    labels = {k["kind"]: k["label"] for k in got["kinds"]}
    assert (labels["release_order"], labels["vehicle_change"], labels["whitelist"]) == ("核放单", "换车", "白名单")
    by_kind = {(i["kind"], i["key"]): i for i in got["items"]}
    change = by_kind["vehicle_change", "RV3"]
    assert change["summary"] == "RV3: 粤B10003 → 粤B99999"
    assert change["submitted_by"] == "alice"
    assert change["approve_url"] == "/api/v1/release-orders/RV3/vehicle/review"
    assert by_kind["risk_rule", "R-queue/1"]["approve_url"] == "/api/v1/risk-rules/R-queue/versions/1/review"
    first = by_kind["release_order", "RV1"]
    assert (first["summary"], first["submitted_by"], first["label"]) == ("RV1 · 粤B10001", "alice", "核放单")
    # Oldest first, each by when it was filed or asked for: the vehicle change, asked after the
    # second order was filed and before the control order, sits between them.
    assert [i["kind"] for i in got["items"]] == [
        "release_order",
        "release_order",
        "vehicle_change",
        "control_order",
        "risk_rule",
        "parameters",
        "whitelist",
    ]
    times = [datetime.fromisoformat(i["submitted_at"]) for i in got["items"]]
    assert times == sorted(times) and all(t.utcoffset() == timedelta(0) for t in times)

    # Pages of 3: every item once, in the same order.
    paged: list[tuple[str, str]] = []
    for offset in (0, 3, 6):
        page = rita.get("/api/v1/reviews", params={"limit": 3, "offset": offset}).json()
        assert page["total"] == 7 and len(page["items"]) == min(3, 7 - offset)
        paged += [(i["kind"], i["key"]) for i in page["items"]]
    assert paged == [(i["kind"], i["key"]) for i in got["items"]]

    only = rita.get("/api/v1/reviews", params=[("kind", "release_order"), ("kind", "whitelist")]).json()
    assert only["total"] == 3 and {i["kind"] for i in only["items"]} == {"release_order", "whitelist"}
    assert [k["kind"] for k in only["kinds"]] == ["release_order", "whitelist"]

    # The named endpoint decides it, and it leaves the list.
    assert rita.post(first["approve_url"], json={"approve": True, "note": "ok"}).status_code == 200
    assert api("alice").post(change["reject_url"], json={"approve": False}).status_code == 403  # four eyes
    after = rita.get("/api/v1/reviews", params={"kind": "release_order"}).json()
    assert [i["key"] for i in after["items"]] == ["RV2"]


def test_only_reviewers_see_the_queue_and_bad_paging_is_refused(api: Api) -> None:
    assert api("alice").get("/api/v1/reviews").status_code == 200  # a central officer reviews too
    empty = api("rita").get("/api/v1/reviews").json()
    assert (empty["total"], empty["limit"], empty["offset"], empty["items"]) == (0, 50, 0, [])
    assert len(empty["kinds"]) == 10 and all(k["count"] == 0 and k["label"] for k in empty["kinds"])
    for user in ("lena", "fred"):
        assert api(user).get("/api/v1/reviews").status_code == 403
    assert api.anonymous().get("/api/v1/reviews").status_code == 401
    assert api("rita").get("/api/v1/reviews", params={"limit": 201}).status_code == 422
    assert api("rita").get("/api/v1/reviews", params={"kind": "nonsense"}).status_code == 422


def _decl(doc_no: str, stage: str, amount: float) -> dict[str, object]:
    """A one-item declaration; two a cent apart are not matched automatically."""
    fields = dict(doc_type="declaration", direction="in", trade_mode="0110", item_count=1, total_quantity=10)
    return fields | {"stage": stage, "doc_no": doc_no, "total_amount": amount}


def test_emergency_orders_revocations_and_manual_matches_are_listed_while_they_await_review(api: Api) -> None:
    alice, bob, rita = api("alice"), api("bob"), api("rita")
    urgent = {"target_kind": "vehicle", "target_value": "粤B66666", "reason": "tip-off", "emergency": True}
    order_no = alice.post("/api/v1/control-orders", json=urgent).json()["order_no"]
    draft = alice.post("/api/v1/declarations", json=_decl("D-Q", "draft", 100.0)).json()
    official = alice.post("/api/v1/declarations", json=_decl("O-Q", "official", 100.01)).json()
    pair = {"draft_id": draft["id"], "official_id": official["id"]}

    def queue() -> list[tuple[str, str, str, str | None]]:
        page = rita.get("/api/v1/reviews").json()
        assert page["total"] == len(page["items"])
        return [(i["kind"], i["key"], i["summary"], i["submitted_by"]) for i in page["items"]]

    def asked_at(kind: str) -> datetime:
        items = rita.get("/api/v1/reviews", params={"kind": kind}).json()["items"]
        assert len(items) == 1
        return datetime.fromisoformat(items[0]["submitted_at"])

    before = datetime.now(UTC)
    assert bob.post("/api/v1/declarations/match", json=pair).status_code == 204
    assert before <= asked_at("manual_match") <= datetime.now(UTC)
    later = alice.post("/api/v1/declarations", json=_decl("D-L", "draft", 200.0)).json()

    low = str(min(draft["id"], official["id"]))
    # In force at once, yet awaiting its review; both documents; the match once, under the lower id,
    # in the order each was filed or proposed: the match before the document filed after it.
    assert queue() == [
        ("control_order", order_no, f"{order_no} · 粤B66666", "alice"),
        ("declaration", str(draft["id"]), "D-Q · declaration/draft", "alice"),
        ("declaration", str(official["id"]), "O-Q · declaration/official", "alice"),
        ("manual_match", low, "D-Q ↔ O-Q" if low == str(draft["id"]) else "O-Q ↔ D-Q", "bob"),
        ("declaration", str(later["id"]), "D-L · declaration/draft", "alice"),
    ]
    assert rita.post(f"/api/v1/control-orders/{order_no}/review", json={"approve": True}).status_code == 200
    assert rita.post(f"/api/v1/declarations/{low}/match/review", json={"approve": True}).status_code == 200
    before = datetime.now(UTC)
    assert bob.post(f"/api/v1/control-orders/{order_no}/revoke", json={"reason": "cleared"}).status_code == 200
    assert before <= asked_at("control_revoke") <= datetime.now(UTC)
    last = alice.post("/api/v1/declarations", json=_decl("D-M", "draft", 300.0)).json()
    waiting = [(k, key) for k, key, *_ in queue()]
    assert waiting[-2:] == [("control_revoke", order_no), ("declaration", str(last["id"]))]
    revoke = rita.get("/api/v1/reviews", params={"kind": "control_revoke"}).json()["items"][0]
    assert (revoke["key"], revoke["submitted_by"], revoke["label"]) == (order_no, "bob", "撤控")
    assert revoke["approve_url"] == f"/api/v1/control-orders/{order_no}/revoke/review"
    assert bob.post(revoke["approve_url"], json={"approve": True}).status_code == 403  # asked by bob
    assert rita.post(revoke["approve_url"], json={"approve": True}).status_code == 200
    assert [k for k, *_ in queue()] == ["declaration"] * 4
