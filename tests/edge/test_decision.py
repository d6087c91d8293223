"""decide(): every rule a lane officer relies on, and replay-stability."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from kakou.edge.decision import Knowledge, Observation, Parameters, decide
from kakou.edge.knowledge import ControlOrder, DriverReg, VehicleReg
from kakou.sync.checks import CheckCode as C
from kakou.sync.checks import Finding
from kakou.sync.messages import Outcome, ReleaseOrderData

AT = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
PLATE = "粤B12345"
BOX = "CSQU3054383"


def order(**kw: object) -> ReleaseOrderData:
    base: dict[str, object] = dict(order_no="HF1", plate=PLATE, direction="in", valid_from=AT - timedelta(hours=1),
                                   valid_until=AT + timedelta(hours=1))
    return ReleaseOrderData(**{**base, **kw})


def obs(**kw: object) -> Observation:
    base: dict[str, object] = dict(pass_id="n1-L1-1", lane="L1", direction="in", at=AT, plate=PLATE,
                                   plate_confidence=0.99)
    return Observation(**{**base, **kw})


def know(**kw: object) -> Knowledge:
    return Knowledge(**{"version": 7, "release_orders": [order()], **kw})


P = Parameters()


def codes(reasons: list[Finding]) -> list[C]:
    return [r.code for r in reasons]


def test_valid_order_releases_and_names_it() -> None:
    d = decide(obs(), know(), P)
    assert d.outcome is Outcome.RELEASE and d.release_order == "HF1" and d.knowledge_version == 7
    assert [(r.code, r.params) for r in d.reasons] == [(C.RELEASE_ORDER_VALID, {"order_no": "HF1", "plate": PLATE})]
    assert d.reasons[0].text() == f"核放单 HF1 有效（{PLATE}）"
    assert d.reasons[0].text("en") == f"release order HF1 valid for {PLATE}"


def test_unreadable_or_doubtful_plate_goes_to_officer() -> None:
    assert decide(obs(plate=None), know(), P).outcome is Outcome.OFFICER
    d = decide(obs(plate_confidence=0.5), know(), P)
    assert d.outcome is Outcome.OFFICER and d.reasons[0].code is C.PLATE_LOW_CONFIDENCE
    assert d.reasons[0].text() == f"车牌 {PLATE} 置信度不足（0.50）"


def test_officer_entered_plate_is_trusted_without_confidence() -> None:
    d = decide(obs(plate_confidence=0.0, entered_by="officer1"), know(), P)
    assert d.outcome is Outcome.RELEASE
    assert [c.code for c in d.checks if c.name == "plate"] == [C.PLATE_ENTERED]


def test_any_device_fault_means_no_automatic_open() -> None:
    d = decide(obs(faults=["camera timed out"]), know(), P)
    assert d.outcome is Outcome.OFFICER and codes(d.reasons) == [C.DEVICE_FAULT]
    assert d.reasons[0].params == {"fault": "camera timed out"}


def test_order_mismatches_are_each_explained() -> None:
    cases = {
        C.RELEASE_ORDER_EXPIRED: know(release_orders=[order(valid_until=AT - timedelta(minutes=1))]),
        C.RELEASE_ORDER_NOT_YET_VALID: know(release_orders=[order(valid_from=AT + timedelta(minutes=1))]),
        C.RELEASE_ORDER_WRONG_DIRECTION: know(release_orders=[order(direction="out")]),
        C.RELEASE_ORDER_CONTAINERS_MISSING: know(release_orders=[order(containers=[BOX])]),
        C.RELEASE_ORDER_OTHER_PLATE: know(release_orders=[order(plate="粤B99999")]),
    }
    for code, k in cases.items():
        d = decide(obs(), k, P)
        assert d.outcome is Outcome.OFFICER and codes(d.reasons) == [code], (code, d.reasons)
        assert d.reasons[0].params["order_no"] == "HF1"
    d = decide(obs(direction="out"), know(release_orders=[order()]), P)
    assert d.reasons[0].text() == "核放单 HF1 方向为 in，本通道为 out"
    d = decide(obs(), know(release_orders=[]), P)
    assert [(r.code, r.params) for r in d.reasons] == [(C.RELEASE_ORDER_MISSING, {"plate": PLATE})]
    assert d.reasons[0].text() == f"无核放单：{PLATE}"


def test_control_order_on_container_overrides_a_valid_release() -> None:
    c = ControlOrder(order_no="BK1", target="container", value=BOX, action="inspect", reason="intel tip")
    d = decide(obs(containers=[BOX]), know(release_orders=[order(containers=[BOX])], control_orders=[c]), P)
    assert d.outcome is Outcome.INSPECTION and d.release_order is None
    hit = next(r for r in d.reasons if r.code is C.CONTROL_ORDER_HIT)
    assert hit.params == {"order_no": "BK1", "target": "container", "value": BOX, "note": "intel tip"}


def test_control_order_on_driver_holds_and_revoked_or_expired_orders_do_not() -> None:
    hold = ControlOrder(order_no="BK2", target="driver", value="CARD9", action="hold")
    d = decide(obs(ic_card="CARD9"), know(control_orders=[hold]), P)
    assert d.outcome is Outcome.OFFICER
    revoked = hold.model_copy(update={"status": "revoked"})
    expired = hold.model_copy(update={"valid_until": AT - timedelta(seconds=1)})
    for c in (revoked, expired):
        assert decide(obs(), know(control_orders=[c]), P).outcome is Outcome.RELEASE


def test_weight_outside_tolerance_sends_to_inspection_inside_releases() -> None:
    k = know(release_orders=[order(declared_gross_kg=30_000)])
    allowed = max(P.weight_tolerance_kg, 30_000 * P.weight_tolerance_pct / 100)  # 900 kg
    assert decide(obs(gross_kg=30_000 + allowed), k, P).outcome is Outcome.RELEASE
    d = decide(obs(gross_kg=30_000 + allowed + 1), k, P)
    assert d.outcome is Outcome.INSPECTION and codes(d.reasons) == [C.WEIGHT_OVER]
    assert d.reasons[0].params == {"gross_kg": 30_901, "expected_kg": 30_000, "diff_kg": 901, "tolerance_kg": 900}
    assert d.reasons[0].text() == "超重：毛重 30901 kg，预期 30000 kg（+901 kg，允差 ±900 kg）"
    assert codes(decide(obs(gross_kg=29_000), k, P).reasons) == [C.WEIGHT_UNDER]
    impossible = decide(obs(gross_kg=-5), k, P)
    assert impossible.outcome is Outcome.OFFICER and codes(impossible.reasons) == [C.WEIGHT_IMPOSSIBLE]


def test_e_plate_disagreeing_with_camera_goes_to_officer() -> None:
    d = decide(obs(e_plate="粤B99999"), know(), P)
    assert d.outcome is Outcome.OFFICER and codes(d.reasons) == [C.E_PLATE_MISMATCH]
    assert d.reasons[0].params == {"e_plate": "粤B99999", "plate": PLATE}


def test_registration_and_driver_policy() -> None:
    strict = Parameters(require_registered_vehicle=True, require_driver_card=True)
    assert codes(decide(obs(ic_card="C1"), know(), strict).reasons) == [C.VEHICLE_NOT_REGISTERED,
                                                                          C.DRIVER_CARD_INVALID]
    v = VehicleReg(plate=PLATE, carrier="ACME")
    drv = DriverReg(driver_id="D1", ic_card="C1", name="Li")
    assert decide(obs(ic_card="C1"), know(vehicle=v, driver=drv), strict).outcome is Outcome.RELEASE
    assert codes(decide(obs(), know(vehicle=v, driver=drv), strict).reasons) == [C.DRIVER_CARD_MISSING]
    blocked = v.model_copy(update={"status": "suspended"})
    assert decide(obs(ic_card="C1"), know(vehicle=blocked, driver=drv), strict).outcome is Outcome.OFFICER


def test_face_mismatch_goes_to_officer() -> None:
    assert decide(obs(face_score=0.9), know(), P).outcome is Outcome.RELEASE
    d = decide(obs(face_score=0.2), know(), P)
    assert codes(d.reasons) == [C.FACE_MISMATCH] and d.reasons[0].params == {"score": 0.2, "threshold": 0.7}
    assert d.reasons[0].text("en") == "face match 0.20 < 0.70"
    strict = Parameters(require_face_match=True)
    assert codes(decide(obs(), know(), strict).reasons) == [C.FACE_NOT_VERIFIED]
    assert codes(decide(obs(face_score=-0.4), know(), P).reasons) == [C.FACE_MISMATCH]  # not a crash


def test_random_inspection_rate_is_respected_and_replayable() -> None:
    p = Parameters(random_inspection_rate=0.25)
    outcomes = [decide(obs(pass_id=f"p{i}"), know(), p).outcome for i in range(2000)]
    share = outcomes.count(Outcome.INSPECTION) / len(outcomes)
    assert 0.21 < share < 0.29
    assert [decide(obs(pass_id=f"p{i}"), know(), p).outcome for i in range(2000)] == outcomes


@settings(max_examples=200, deadline=None)
@given(plate=st.one_of(st.none(), st.text(max_size=10)), conf=st.floats(0, 1), gross=st.one_of(
    st.none(), st.floats(allow_nan=False, allow_infinity=False)), faults=st.lists(st.text(max_size=5), max_size=2))
def test_never_releases_without_a_matching_order_or_with_a_fault(plate, conf, gross, faults) -> None:  # type: ignore[no-untyped-def]
    d = decide(obs(plate=plate, plate_confidence=conf, gross_kg=gross, faults=faults),
               know(release_orders=[order(declared_gross_kg=20_000)]), P)
    if d.outcome is Outcome.RELEASE:
        assert plate == PLATE and not faults and conf >= P.min_plate_confidence
        assert gross is None or abs(gross - 20_000) <= 600
