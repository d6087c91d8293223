"""decide() at a transit (转关) destination: the arriving truck against the open transit, and the
e-seal (电子关锁) heard at the lane."""

from __future__ import annotations

from datetime import timedelta

from lane_inputs import AT, PLATE, observation, release_order

from kakou.edge.decision import Knowledge, Observation, Parameters, decide
from kakou.edge.knowledge import TransitView
from kakou.sync.checks import CheckCode as C
from kakou.sync.checks import finding
from kakou.sync.knowledge import OriginIn, RiskRule, TransitTime
from kakou.sync.messages import Outcome, ReleaseOrderData
from kakou.sync.risk_verdicts import RiskVerdictHit

BOXES = ["CSQU3054383", "MSKU1234565"]
SEAL = "CNSZ-ES0012345"
P = Parameters()


def obs(**kw: object) -> Observation:
    seal = {"e_seal_reader": True, "e_seal": SEAL, "e_seal_status": "intact"}
    return observation(**{"containers": BOXES, **seal, **kw})


def transit(**kw: object) -> TransitView:
    return TransitView(**{"transit_no": "ZG001", "plate": PLATE, "containers": list(BOXES), "e_seal": SEAL, **kw})


def know(*transits: TransitView) -> Knowledge:
    return Knowledge(version=3, transits=list(transits or [transit()]))


def failed(d: object) -> list[C]:
    return [c.code for c in d.checks if not c.ok]  # type: ignore[attr-defined]


def test_a_matching_arrival_is_released_on_the_transit_and_names_it() -> None:
    d = decide(obs(), know(), P)
    assert d.outcome is Outcome.RELEASE and d.transit_no == "ZG001"
    assert d.release_orders == []  # the transit is the document it arrives on: no release order needed
    assert [r.code for r in d.reasons] == [C.TRANSIT_ARRIVED]
    assert d.reasons[0].text() == f"转关 ZG001 运抵：车辆、集装箱（{', '.join(BOXES)}）与关锁相符"
    assert {C.E_SEAL_READ, C.TRANSIT_ARRIVED} <= {c.code for c in d.checks}


def test_a_container_found_on_another_truck_or_missing_is_held_with_both_lists() -> None:
    d = decide(obs(containers=[BOXES[0], "TGHU9876543"]), know(), P)
    assert d.outcome is Outcome.OFFICER and d.transit_no is None
    (r,) = d.reasons
    assert r.code is C.TRANSIT_CONTAINERS_MISMATCH
    assert r.params == {"transit_no": "ZG001", "missing": BOXES[1], "extra": "TGHU9876543"}
    assert r.text() == f"转关 ZG001 集装箱不符：申报未见 {BOXES[1]}，未申报 TGHU9876543"
    # found through its container alone, under another plate: the vehicle differs as well
    d = decide(obs(plate="粤B99999"), know(), P)
    assert d.outcome is Outcome.OFFICER and failed(d) == [C.TRANSIT_PLATE_MISMATCH]


def test_seal_mismatch_not_read_and_tampered_are_held_with_typed_reasons() -> None:
    d = decide(obs(e_seal="CNSZ-ES0099999"), know(), P)
    assert d.outcome is Outcome.OFFICER and failed(d) == [C.TRANSIT_SEAL_MISMATCH]
    assert d.reasons[0].text() == "转关 ZG001 电子关锁不符：申报 CNSZ-ES0012345，读到 CNSZ-ES0099999"
    d = decide(obs(e_seal=None, e_seal_status=None), know(), P)  # a reader, and nothing heard
    assert d.outcome is Outcome.OFFICER and failed(d) == [C.TRANSIT_SEAL_NOT_READ]
    d = decide(obs(e_seal_status="tampered"), know(), P)
    assert d.outcome is Outcome.OFFICER and failed(d) == [C.E_SEAL_TAMPERED] and d.transit_no is None
    assert d.reasons[0].text("en") == f"e-seal {SEAL} has been opened or tampered with"


def test_a_lane_without_a_seal_reader_releases_and_says_the_seal_was_not_checked() -> None:
    d = decide(obs(e_seal_reader=False, e_seal=None, e_seal_status=None), know(), P)
    assert d.outcome is Outcome.RELEASE and d.transit_no == "ZG001"
    assert not [c for c in d.checks if c.name == "e_seal"]  # central reads this as "no reader here"
    assert C.TRANSIT_SEAL_NOT_CHECKED in {c.code for c in d.checks if c.ok}


def test_low_battery_is_noted_not_held_and_a_tampered_seal_holds_any_truck() -> None:
    d = decide(obs(e_seal_status="low_battery"), know(), P)
    assert d.outcome is Outcome.RELEASE and C.E_SEAL_LOW_BATTERY in {c.code for c in d.checks if c.ok}
    # no transit known here (not synced yet, or none declared): a tampered seal still stops the truck
    d = decide(obs(e_seal_status="tampered"), Knowledge(version=1), P)
    assert d.outcome is Outcome.OFFICER and C.E_SEAL_TAMPERED in failed(d)


def test_two_open_transits_for_one_truck_are_the_officers_call() -> None:
    d = decide(obs(), know(transit(), transit(transit_no="ZG002", containers=[BOXES[1]])), P)
    assert d.outcome is Outcome.OFFICER and failed(d) == [C.TRANSIT_SEVERAL]
    assert d.reasons[0].params == {"transits": "ZG001, ZG002"}


def test_without_a_transit_or_on_an_outward_lane_the_release_order_rules_apply() -> None:
    d = decide(obs(e_seal_reader=False, e_seal=None, e_seal_status=None), Knowledge(version=1), P)
    assert d.outcome is Outcome.OFFICER and failed(d) == [C.RELEASE_ORDER_MISSING]
    d = decide(obs(direction="out"), know(), P)
    assert d.transit_no is None and C.RELEASE_ORDER_MISSING in failed(d)


# -- central's risk verdicts (kakou.central.risk_eval) at a transit arrival ------------------------

ORIGIN_RULE = RiskRule(
    rule_id="R-origin",
    version=2,
    name="watched origin",
    conditions=[OriginIn(countries=["XX"])],
    outcome=Outcome.INSPECTION,
    explanation="origin under watch",
)
SLOW_RULE = RiskRule(
    rule_id="R-slow",
    version=1,
    name="slow transit",
    conditions=[TransitTime(over_hours=6)],
    outcome=Outcome.OFFICER,
    explanation="transit over 6 h",
)
ORIGIN_XX = finding(C.RISK_ORIGIN, order_no="HF1", item=1, goods="copper", origin="XX")
SLOW = finding(C.RISK_TRANSIT_TIME, order_no="HF1", transit_no="ZG001", started_at="2026-11-24 20:00", limit_h=6)


def order(*hits: RiskVerdictHit, **kw: object) -> ReleaseOrderData:
    """The truck's inward release order for its containers, with central's verdict on it."""
    return release_order(**{"containers": list(BOXES), "risk": list(hits) or None, **kw})


def ruled(*transits: TransitView, orders: list[ReleaseOrderData], rules: list[RiskRule]) -> Knowledge:
    return Knowledge(version=3, transits=list(transits), release_orders=orders, risk_rules=rules)


def hits(d: object) -> list[tuple[C, dict[str, object]]]:
    return [(c.code, c.params) for c in d.checks if c.name == "risk"]  # type: ignore[attr-defined]


def test_a_transit_arrival_is_held_on_central_s_verdict_as_an_ordinary_release_would_be() -> None:
    verdict = RiskVerdictHit(rule_id="R-origin", version=2, findings=[ORIGIN_XX])
    orders, rules = [order(verdict)], [ORIGIN_RULE]
    ordinary = decide(obs(), ruled(orders=orders, rules=rules), P)
    assert ordinary.outcome is Outcome.INSPECTION
    arrival = decide(obs(), ruled(transit(), orders=orders, rules=rules), P)
    # The transit matches (plate, containers, seal) and still the verdict sends the truck to inspection,
    # with the same check codes and reasons the officer sees on an ordinary release.
    assert C.TRANSIT_ARRIVED in {c.code for c in arrival.checks if c.ok}
    assert arrival.outcome is Outcome.INSPECTION and arrival.transit_no is None
    rule_hit = {"rule_id": "R-origin", "version": 2, "rule_name": "watched origin", "explanation": "origin under watch"}
    assert hits(arrival) == hits(ordinary) == [(C.RISK_RULE_HIT, rule_hit), (C.RISK_ORIGIN, ORIGIN_XX.params)]
    assert [r.code for r in arrival.reasons] == [r.code for r in ordinary.reasons] == [C.RISK_RULE_HIT, C.RISK_ORIGIN]
    assert arrival.reasons[1].text() == ordinary.reasons[1].text()
    assert arrival.release_orders == []  # the transit is still the document it arrives on: no order counted

    # No verdict (or one for another version of the rule, or on another truck's order): released on the transit.
    for orders in (
        [order()],
        [order(RiskVerdictHit(rule_id="R-origin", version=1, findings=[ORIGIN_XX]))],
        [order(verdict, plate="粤B99999")],
    ):
        d = decide(obs(), ruled(transit(), orders=orders, rules=rules), P)
        assert (d.outcome, d.transit_no, hits(d)) == (Outcome.RELEASE, "ZG001", [])


def test_a_transit_time_verdict_holds_the_arrival_once_its_limit_has_passed() -> None:
    late = RiskVerdictHit(rule_id="R-slow", version=1, after=AT - timedelta(hours=1), findings=[SLOW])
    d = decide(obs(), ruled(transit(), orders=[order(late)], rules=[SLOW_RULE]), P)
    ordinary = decide(obs(), ruled(orders=[order(late)], rules=[SLOW_RULE]), P)
    assert d.outcome is ordinary.outcome is Outcome.OFFICER and d.transit_no is None
    assert d.reasons == ordinary.reasons and [r.code for r in d.reasons] == [C.RISK_RULE_HIT, C.RISK_TRANSIT_TIME]
    assert d.reasons[1].text() == "核放单 HF1：转关 ZG001（2026-11-24 20:00 起运）在途超过 6 小时"
    in_time = late.model_copy(update={"after": AT + timedelta(hours=1)})  # arrived before the limit
    d = decide(obs(), ruled(transit(), orders=[order(in_time)], rules=[SLOW_RULE]), P)
    assert (d.outcome, d.transit_no) == (Outcome.RELEASE, "ZG001")
