"""decide(): every rule a lane officer relies on, and replay-stability."""

from __future__ import annotations

from datetime import timedelta

from hypothesis import given, settings
from hypothesis import strategies as st
from lane_inputs import AT, BOX, PLATE
from lane_inputs import observation as obs
from lane_inputs import release_order as order

from kakou.edge.decision import Knowledge, Parameters, decide
from kakou.edge.knowledge import ContainerReg, ControlOrder, DriverReg, EntryWeighing, VehicleReg
from kakou.sync.checks import CheckCode as C
from kakou.sync.checks import Finding
from kakou.sync.messages import Outcome


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
    assert codes(decide(obs(ic_card="C1"), know(), strict).reasons) == [C.VEHICLE_NOT_REGISTERED, C.DRIVER_CARD_INVALID]
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
@given(
    plate=st.one_of(st.none(), st.text(max_size=10)),
    conf=st.floats(0, 1),
    gross=st.one_of(st.none(), st.floats(allow_nan=False, allow_infinity=False)),
    faults=st.lists(st.text(max_size=5), max_size=2),
)
def test_never_releases_without_a_matching_order_or_with_a_fault(plate, conf, gross, faults) -> None:
    d = decide(
        obs(plate=plate, plate_confidence=conf, gross_kg=gross, faults=faults),
        know(release_orders=[order(declared_gross_kg=20_000)]),
        P,
    )
    if d.outcome is Outcome.RELEASE:
        assert plate == PLATE and not faults and conf >= P.min_plate_confidence
        assert gross is None or abs(gross - 20_000) <= 600


# -- several release orders, one truck --------------------------------------------------------

BOX2 = "TGHU1234561"
BOX3 = "MSKU7654329"


def test_two_containers_under_two_orders_release_and_record_both() -> None:
    k = know(release_orders=[order(order_no="HF2", containers=[BOX2]), order(order_no="HF1", containers=[BOX])])
    d = decide(obs(containers=[BOX, BOX2]), k, P)
    assert d.outcome is Outcome.RELEASE
    assert d.release_orders == ["HF1", "HF2"] and d.release_order == "HF1"
    assert [(r.code, r.params["order_no"], r.params["containers"]) for r in d.reasons] == [
        (C.RELEASE_ORDER_VALID_PART, "HF1", BOX),
        (C.RELEASE_ORDER_VALID_PART, "HF2", BOX2),
    ]
    assert d.reasons[0].text() == f"核放单 HF1 有效（{PLATE}：{BOX}）"


def test_an_unrelated_order_for_the_plate_is_left_unused() -> None:
    k = know(release_orders=[order(order_no="HF1", containers=[BOX, BOX2]), order(order_no="HF3", containers=[BOX3])])
    d = decide(obs(containers=[BOX2, BOX]), k, P)
    assert d.outcome is Outcome.RELEASE and d.release_orders == ["HF1"]
    assert codes(d.reasons) == [C.RELEASE_ORDER_VALID]


def test_a_container_without_a_valid_order_holds_and_says_which() -> None:
    k = know(
        release_orders=[
            order(order_no="HF1", containers=[BOX]),
            order(order_no="HF2", containers=[BOX2], valid_until=AT - timedelta(minutes=5)),
        ]
    )
    d = decide(obs(containers=[BOX, BOX2]), k, P)
    assert d.outcome is Outcome.OFFICER and d.release_orders == [] and d.release_order is None
    assert codes(d.reasons) == [C.RELEASE_ORDER_EXPIRED, C.RELEASE_ORDER_CONTAINERS_NOT_COVERED]
    assert d.reasons[1].params == {"containers": BOX2}


def test_an_order_is_used_whole_its_other_containers_must_be_on_the_truck() -> None:
    k = know(release_orders=[order(order_no="HF1", containers=[BOX, BOX2])])
    d = decide(obs(containers=[BOX]), k, P)
    assert d.outcome is Outcome.OFFICER and d.reasons[0].code is C.RELEASE_ORDER_CONTAINERS_MISSING
    assert d.reasons[0].params == {"order_no": "HF1", "containers": BOX2}
    extra = decide(obs(containers=[BOX, BOX2, BOX3]), k, P)
    assert extra.outcome is Outcome.OFFICER
    assert [(r.code, r.params) for r in extra.reasons] == [
        (C.RELEASE_ORDER_CONTAINERS_NOT_COVERED, {"containers": BOX3})
    ]


def test_a_container_on_two_valid_orders_is_left_to_the_officer() -> None:
    k = know(release_orders=[order(order_no="HF1", containers=[BOX]), order(order_no="HF2", containers=[BOX, BOX2])])
    d = decide(obs(containers=[BOX, BOX2]), k, P)
    assert d.outcome is Outcome.OFFICER and d.release_orders == []
    assert [(r.code, r.params) for r in d.reasons] == [
        (C.RELEASE_ORDER_CONTAINER_ON_SEVERAL, {"container": BOX, "orders": "HF1, HF2"})
    ]


def test_batch_order_without_containers_still_covers_each_trip() -> None:
    k = know(release_orders=[order(order_no="HF9")])
    assert decide(obs(pass_id="t1"), k, P).release_orders == ["HF9"]
    assert decide(obs(pass_id="t2"), k, P).release_orders == ["HF9"]
    d = decide(obs(containers=[BOX]), k, P)  # a container is not bulk cargo of the batch
    assert d.outcome is Outcome.OFFICER and codes(d.reasons) == [C.RELEASE_ORDER_CONTAINERS_NOT_COVERED]


def _basis(d) -> list[tuple[C, dict]]:
    """The ok weight checks that say what the expected gross is made of."""
    return [
        (c.code, c.params)
        for c in d.checks
        if c.name == "weight" and c.code not in (C.WEIGHT_WITHIN, C.WEIGHT_OVER, C.WEIGHT_UNDER, C.WEIGHT_NOT_COMPARED)
    ]


def _compared(d):
    return next(c for c in d.checks if c.code in (C.WEIGHT_WITHIN, C.WEIGHT_OVER, C.WEIGHT_UNDER))


def test_weight_of_a_shared_truck_is_the_orders_gross_less_the_tare_counted_twice() -> None:
    k = know(
        release_orders=[
            order(order_no="HF1", containers=[BOX], declared_gross_kg=30_000),
            order(order_no="HF2", containers=[BOX2], declared_gross_kg=28_000),
        ],
        vehicle=VehicleReg(plate=PLATE, tare_kg=15_000),
    )
    ok = decide(obs(containers=[BOX, BOX2], gross_kg=43_300), k, P)  # expected 43 000, tolerance 1 290
    assert ok.outcome is Outcome.RELEASE and ok.release_orders == ["HF1", "HF2"]
    assert (C.DECLARED_GROSS, {"order_count": 2, "less_kg": 15_000}) in _basis(ok)
    heavy = decide(obs(containers=[BOX, BOX2], gross_kg=47_000), k, P)
    assert heavy.outcome is Outcome.INSPECTION and heavy.reasons[0].params["expected_kg"] == 43_000
    unknown_tare = decide(obs(containers=[BOX, BOX2], gross_kg=47_000), know(release_orders=k.release_orders), P)
    assert unknown_tare.outcome is Outcome.RELEASE
    assert (C.WEIGHT_NOT_COMBINED, {"order_count": 2}) in _basis(unknown_tare)


@settings(max_examples=150, deadline=None)
@given(
    boxes=st.lists(st.from_regex(r"[A-Z]{4}[0-9]{7}", fullmatch=True), min_size=1, max_size=4, unique=True),
    cuts=st.lists(st.booleans(), min_size=3, max_size=3),
    seen_order=st.randoms(use_true_random=False),
)
def test_any_split_of_the_containers_over_valid_orders_releases_on_all_of_them(boxes, cuts, seen_order) -> None:
    groups: list[list[str]] = [[boxes[0]]]
    for box, cut in zip(boxes[1:], cuts, strict=False):
        groups.append([box]) if cut else groups[-1].append(box)
    orders = [order(order_no=f"HF{i}", containers=g) for i, g in enumerate(groups)]
    seen = list(boxes)
    seen_order.shuffle(seen)
    d = decide(obs(containers=seen), know(release_orders=orders), P)
    assert d.outcome is Outcome.RELEASE and sorted(d.release_orders) == sorted(o.order_no for o in orders)
    # Without any one of the orders, the truck is held.
    for missing in orders:
        rest = [o for o in orders if o is not missing]
        assert decide(obs(containers=seen), know(release_orders=rest), P).outcome is Outcome.OFFICER


# -- tare modes ---------------------------------------------------------------------------------

TRUCK = VehicleReg(plate=PLATE, tare_kg=15_000)
BOXES = [ContainerReg(container_no=BOX, tare_kg=2_200), ContainerReg(container_no=BOX2, tare_kg=2_300)]


def test_registered_tare_adds_the_vehicle_and_each_registered_container_to_the_declared_net() -> None:
    k = know(
        release_orders=[order(containers=[BOX, BOX2], declared_net_kg=20_000, declared_gross_kg=99_000)],
        vehicle=TRUCK,
        containers=BOXES,
    )
    d = decide(obs(containers=[BOX, BOX2], gross_kg=39_600), k, P)  # 20 000 + 15 000 + 2 200 + 2 300
    assert d.outcome is Outcome.RELEASE and _compared(d).params["expected_kg"] == 39_500
    assert _basis(d) == [(C.TARE_REGISTERED, {"net_kg": 20_000, "vehicle_kg": 15_000, "containers_kg": 4_500})]
    assert (
        next(c for c in d.checks if c.code is C.TARE_REGISTERED).text("en")
        == "registered tare: net 20000 + vehicle 15000 + containers 4500 kg"
    )
    # Only the vehicle's tare when the container is not registered.
    k1 = know(release_orders=[order(containers=[BOX], declared_net_kg=20_000)], vehicle=TRUCK)
    assert _basis(decide(obs(containers=[BOX], gross_kg=35_000), k1, P))[0][1]["containers_kg"] == 0


def test_measured_tare_is_the_entry_weighing_and_a_missing_one_falls_back_to_the_declared_gross() -> None:
    measured = Parameters(tare_mode="measured")
    entry = EntryWeighing(pass_id="n1-L1-3", gross_kg=17_400, at=AT - timedelta(hours=2))
    k = know(release_orders=[order(declared_net_kg=25_000, declared_gross_kg=41_000)], entry_weighing=entry)
    d = decide(obs(gross_kg=42_300), k, measured)
    assert d.outcome is Outcome.RELEASE and _compared(d).params["expected_kg"] == 42_400
    assert _basis(d) == [(C.TARE_MEASURED, {"net_kg": 25_000, "entry_kg": 17_400, "entry_pass": "n1-L1-3"})]
    k_none = know(release_orders=[order(declared_net_kg=25_000, declared_gross_kg=41_000)])
    fallback = decide(obs(gross_kg=42_300), k_none, measured)
    assert _compared(fallback).params["expected_kg"] == 41_000
    assert [code for code, _ in _basis(fallback)] == [C.NO_ENTRY_WEIGHING, C.DECLARED_GROSS]


def test_declared_mode_compares_with_the_declared_gross_only() -> None:
    k = know(release_orders=[order(declared_net_kg=25_000, declared_gross_kg=41_000)], vehicle=TRUCK)
    assert decide(obs(gross_kg=39_500), k, P).outcome is Outcome.RELEASE  # registered: 25 000 + 15 000
    d = decide(obs(gross_kg=39_500), k, Parameters(tare_mode="declared"))
    assert d.outcome is Outcome.INSPECTION and d.reasons[0].params["expected_kg"] == 41_000
    assert C.NO_DECLARED_NET in [code for code, _ in _basis(decide(obs(gross_kg=40_000), know(vehicle=TRUCK), P))]


def test_a_tare_larger_than_the_gross_goes_to_the_officer_with_the_numbers() -> None:
    k = know(release_orders=[order(declared_net_kg=10_000)], vehicle=TRUCK)
    d = decide(obs(gross_kg=12_000), k, P)
    assert d.outcome is Outcome.OFFICER
    assert [(r.code, r.params) for r in d.reasons] == [(C.TARE_OVER_GROSS, {"gross_kg": 12_000, "tare_kg": 15_000})]
