"""decide(): legality of container, carrier and yard (each switchable), and the lane's settings
from central (container sizes, cargo type, gate role, appointment, direction)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from lane_inputs import AT, BOX, PLATE, observation, release_order

from kakou.edge.decision import Knowledge, Observation, Parameters, decide
from kakou.edge.knowledge import AppointmentReg, CarrierReg, ContainerReg, OtherOrder, VehicleReg, YardReg
from kakou.sync.checks import CheckCode as C
from kakou.sync.checks import render
from kakou.sync.messages import Outcome, ReleaseOrderData


def order(**kw: object) -> ReleaseOrderData:
    return release_order(**{"containers": [BOX], **kw})


def obs(**kw: object) -> Observation:
    return observation(**{"containers": [BOX], **kw})


VEHICLE = VehicleReg(plate=PLATE, carrier="C01", tare_kg=15_000)
CARRIER = CarrierReg(code="C01", credit_grade="A", valid_until=AT + timedelta(days=30))


def know(**kw: object) -> Knowledge:
    base: dict[str, object] = {
        "version": 7,
        "release_orders": [order()],
        "vehicle": VEHICLE,
        "carrier": CARRIER,
        "containers": [ContainerReg(container_no=BOX, size_type="22G1")],
    }
    return Knowledge(**{**base, **kw})


def failed(d: object) -> list[tuple[C, dict]]:
    return [(c.code, c.params) for c in d.checks if not c.ok]  # type: ignore[attr-defined]


def test_switches_off_by_default_change_nothing() -> None:
    d = decide(obs(), know(containers=[], carrier=None, vehicle=None), Parameters())
    assert d.outcome is Outcome.RELEASE
    assert not {c.name for c in d.checks} & {"container_reg", "carrier", "yard", "lane", "appointment"}


def test_container_must_be_registered_and_active_when_required() -> None:
    on = Parameters(require_registered_container=True)
    d = decide(obs(), know(), on)
    assert d.outcome is Outcome.RELEASE
    ok = next(c for c in d.checks if c.code is C.CONTAINER_REGISTERED)
    assert ok.params == {"container": BOX, "size_type": "22G1"}
    assert ok.text() == f"集装箱 {BOX} 已备案（箱型 22G1）"

    d = decide(obs(), know(containers=[]), on)
    assert d.outcome is Outcome.OFFICER and failed(d) == [(C.CONTAINER_NOT_REGISTERED, {"container": BOX})]
    assert d.reasons[0].text() == f"集装箱 {BOX} 未备案"
    assert d.reasons[0].text("en") == f"container {BOX} not registered"
    assert d.release_orders == []  # nothing opens by itself
    # A registration that is there but not in force holds the truck whatever the switch.
    scrapped = [ContainerReg(container_no=BOX, size_type="22G1", status="scrapped")]
    d = decide(obs(), know(containers=scrapped), Parameters())
    assert d.outcome is Outcome.OFFICER
    assert failed(d) == [(C.CONTAINER_NOT_VALID, {"container": BOX, "status": "scrapped"})]


def test_container_on_an_open_order_of_another_vehicle_goes_to_the_officer() -> None:
    other = OtherOrder(
        container=BOX, order_no="HF9", plate="粤B99999", direction="in", valid_until=AT + timedelta(hours=2)
    )
    d = decide(obs(), know(other_orders=[other]), Parameters())
    assert d.outcome is Outcome.OFFICER
    assert failed(d) == [(C.CONTAINER_ON_OTHER_ORDER, {"container": BOX, "order_no": "HF9", "plate": "粤B99999"})]
    assert d.reasons[0].text() == f"集装箱 {BOX} 在车辆 粤B99999 的核放单 HF9 上"
    # Not a conflict: the other truck's order has expired, or it brought the box in and this one takes it out.
    expired = other.model_copy(update={"valid_until": AT - timedelta(minutes=1)})
    inward = other.model_copy(update={"direction": "out"})
    for o in (expired, inward):
        assert decide(obs(), know(other_orders=[o]), Parameters()).outcome is Outcome.RELEASE


@pytest.mark.parametrize(
    ("carrier", "vehicle", "code", "params"),
    [
        (CARRIER, VehicleReg(plate=PLATE), C.CARRIER_UNKNOWN, {"plate": PLATE}),
        (CARRIER, None, C.CARRIER_UNKNOWN, {"plate": PLATE}),
        (None, VEHICLE, C.CARRIER_NOT_REGISTERED, {"carrier": "C01"}),
        (
            CarrierReg(code="C01", status="suspended"),
            VEHICLE,
            C.CARRIER_NOT_VALID,
            {"carrier": "C01", "status": "suspended"},
        ),
        (
            CarrierReg(code="C01", valid_from=AT + timedelta(days=1)),
            VEHICLE,
            C.CARRIER_NOT_YET_VALID,
            {"carrier": "C01", "at": (AT + timedelta(days=1)).isoformat()},
        ),
        (
            CarrierReg(code="C01", valid_until=AT - timedelta(days=1)),
            VEHICLE,
            C.CARRIER_EXPIRED,
            {"carrier": "C01", "at": (AT - timedelta(days=1)).isoformat()},
        ),
    ],
)
def test_carrier_must_be_registered_and_valid_when_required(
    carrier: CarrierReg | None, vehicle: VehicleReg | None, code: C, params: dict
) -> None:
    k = know(carrier=carrier, vehicle=vehicle)
    # Switch off: an unknown or unregistered carrier passes; a registered one not in force never does.
    registered_but_not_valid = carrier is not None and vehicle is not None and vehicle.carrier is not None
    assert decide(obs(), k, Parameters()).outcome is (Outcome.OFFICER if registered_but_not_valid else Outcome.RELEASE)
    d = decide(obs(), k, Parameters(require_valid_carrier=True))
    assert d.outcome is Outcome.OFFICER and failed(d) == [(code, params)]
    assert "{" not in d.reasons[0].text() and "{" not in d.reasons[0].text("en")


def test_carrier_credit_grade_refused_by_the_parameter_library() -> None:
    # Refusing grades alone does not hold a truck whose carrier is unknown (that is require_valid_carrier's).
    only_grades = Parameters(refused_carrier_grades=("D",))
    assert decide(obs(), know(vehicle=VehicleReg(plate=PLATE)), only_grades).outcome is Outcome.RELEASE
    d = decide(obs(), know(carrier=CarrierReg(code="C01", credit_grade="D")), only_grades)
    assert [code for code, _ in failed(d)] == [C.CARRIER_GRADE_REFUSED]
    p = Parameters(require_valid_carrier=True, refused_carrier_grades=("C", "D"))
    d = decide(obs(), know(), p)
    assert d.outcome is Outcome.RELEASE
    assert next(c for c in d.checks if c.code is C.CARRIER_OK).params == {"carrier": "C01", "grade": "A"}
    d = decide(obs(), know(carrier=CarrierReg(code="C01", credit_grade="D")), p)
    assert d.outcome is Outcome.OFFICER and failed(d) == [(C.CARRIER_GRADE_REFUSED, {"carrier": "C01", "grade": "D"})]
    assert d.reasons[0].text() == "运输企业 C01 信用等级 D，本通道不予自动放行"


def test_yard_of_the_lane_must_be_registered_and_in_force() -> None:
    p = Parameters(require_yard=True, yard="Y01")
    assert decide(obs(), know(yard=YardReg(code="Y01")), p).outcome is Outcome.RELEASE
    d = decide(obs(), know(), p)
    assert failed(d) == [(C.YARD_NOT_REGISTERED, {"yard": "Y01"})] and d.outcome is Outcome.OFFICER
    d = decide(obs(), know(yard=YardReg(code="Y01", status="suspended")), p)
    assert failed(d) == [(C.YARD_NOT_VALID, {"yard": "Y01", "status": "suspended"})]
    d = decide(obs(), know(yard=YardReg(code="Y01", valid_until=AT - timedelta(days=1))), p)
    assert [code for code, _ in failed(d)] == [C.YARD_EXPIRED]
    # Required, but central never said which yard the lane serves: the officer decides.
    d = decide(obs(), know(), Parameters(require_yard=True))
    assert failed(d) == [(C.YARD_NOT_SET, {})] and d.reasons[0].text() == "中心未设定本通道所属场站"


def test_a_20_foot_lane_holds_a_40_foot_container_and_an_unknown_size() -> None:
    p = Parameters(allowed_sizes=("20",))
    assert decide(obs(), know(), p).outcome is Outcome.RELEASE
    forty = [ContainerReg(container_no=BOX, size_type="45G1")]
    d = decide(obs(), know(containers=forty), p)
    assert d.outcome is Outcome.OFFICER
    assert failed(d) == [(C.LANE_SIZE_NOT_ALLOWED, {"container": BOX, "size": "40", "sizes": "20"})]
    assert d.reasons[0].text() == f"集装箱 {BOX} 为 40 尺箱，本通道只通行 20 尺"
    d = decide(obs(), know(containers=[]), p)  # no registered size/type: the lane cannot tell
    assert failed(d) == [(C.LANE_SIZE_UNKNOWN, {"container": BOX, "sizes": "20"})]
    forty_five = [ContainerReg(container_no=BOX, size_type="L5G1")]
    assert decide(obs(), know(containers=forty_five), Parameters(allowed_sizes=("40", "45"))).outcome is Outcome.RELEASE


def test_the_size_read_by_the_camera_counts_for_a_container_without_a_registered_size() -> None:
    p = Parameters(allowed_sizes=("20",))
    d = decide(obs(container_types={BOX: "45G1"}), know(containers=[]), p)
    assert failed(d) == [(C.LANE_SIZE_NOT_ALLOWED, {"container": BOX, "size": "40", "sizes": "20"})]
    assert decide(obs(container_types={BOX: "22G1"}), know(containers=[]), p).outcome is Outcome.RELEASE
    # The register is believed before the camera (a size/type code has no check digit).
    assert decide(obs(container_types={BOX: "45G1"}), know(), p).outcome is Outcome.RELEASE
    assert [code for code, _ in failed(decide(obs(container_types={BOX: "X"}), know(containers=[]), p))] == [
        C.LANE_SIZE_UNKNOWN
    ]


def test_cargo_type_of_the_lane() -> None:
    bulk_order = order(containers=[])
    d = decide(obs(containers=[]), know(release_orders=[bulk_order]), Parameters(cargo_types=("container",)))
    assert d.outcome is Outcome.OFFICER and failed(d) == [(C.LANE_CONTAINERS_ONLY, {})]
    d = decide(obs(), know(), Parameters(cargo_types=("bulk",)))
    assert failed(d) == [(C.LANE_NO_CONTAINERS, {"containers": BOX})]
    # An unreadable container is still a container truck.
    d = decide(obs(containers=[], containers_unreadable=1), know(), Parameters(cargo_types=("bulk",)))
    assert (C.LANE_NO_CONTAINERS, {"containers": "-"}) in failed(d)
    assert decide(obs(), know(), Parameters(cargo_types=("container", "bulk"))).outcome is Outcome.RELEASE


def test_an_entry_lane_refuses_an_exit_pass() -> None:
    d = decide(obs(direction="in"), know(release_orders=[order(direction="out")]), Parameters())
    assert d.outcome is Outcome.OFFICER and d.reasons[0].code is C.RELEASE_ORDER_WRONG_DIRECTION


def test_gate_roles() -> None:
    sure = Parameters(random_inspection_rate=1.0)
    assert decide(obs(), know(), sure).outcome is Outcome.INSPECTION  # an ordinary gate selects
    assert decide(obs(), know(), sure.model_copy(update={"gate_role": "pre_judgment"})).outcome is Outcome.INSPECTION
    for role in ("release_control", "post_inspection"):  # selected before: not drawn again
        d = decide(obs(), know(), sure.model_copy(update={"gate_role": role}))
        assert d.outcome is Outcome.RELEASE and any(c.code is C.LANE_NOT_SELECTING and c.ok for c in d.checks)
    d = decide(obs(), know(), Parameters(gate_role="inspection"))  # the inspecting officer decides
    assert d.outcome is Outcome.OFFICER and failed(d) == [(C.LANE_INSPECTION, {})]
    assert d.release_orders == []


def test_appointment_required_but_missing() -> None:
    p = Parameters(require_appointment=True)
    d = decide(obs(), know(), p)
    assert d.outcome is Outcome.OFFICER and failed(d) == [(C.APPOINTMENT_MISSING, {"plate": PLATE})]
    assert d.reasons[0].text() == f"车辆 {PLATE} 无有效预约"
    booked = AppointmentReg(
        appointment_no="YY1", plate=PLATE, valid_from=AT - timedelta(minutes=30), valid_until=AT + timedelta(minutes=30)
    )
    d = decide(obs(), know(appointments=[booked]), p)
    assert d.outcome is Outcome.RELEASE
    assert next(c for c in d.checks if c.code is C.APPOINTMENT_OK).params == {"appointment_no": "YY1", "plate": PLATE}
    for stale in (
        booked.model_copy(update={"status": "cancelled"}),
        booked.model_copy(update={"valid_until": AT - timedelta(minutes=1)}),
        booked.model_copy(update={"plate": "粤B99999"}),
    ):
        assert decide(obs(), know(appointments=[stale]), p).outcome is Outcome.OFFICER
    assert decide(obs(), know(), Parameters()).outcome is Outcome.RELEASE  # a site without appointments


def test_a_control_order_hit_still_wins_over_every_setting() -> None:
    from kakou.edge.knowledge import ControlOrder

    hit = ControlOrder(order_no="BK1", target="container", value=BOX, action="inspect")
    d = decide(obs(), know(control_orders=[hit]), Parameters(gate_role="release_control", require_appointment=True))
    assert d.outcome is Outcome.INSPECTION


def test_bad_values_in_the_cache_are_bounded_not_fatal() -> None:
    # A status of 1 000 characters from a corrupt record is cut to its bound, the decision stands.
    weird = [ContainerReg(container_no=BOX, status="x" * 1000)]
    d = decide(obs(), know(containers=weird), Parameters())
    assert d.outcome is Outcome.OFFICER and len(d.reasons[0].params["status"]) <= 24  # type: ignore[arg-type]
    assert render(C.CONTAINER_NOT_VALID, d.reasons[0].params).startswith(f"集装箱 {BOX} 备案无效")
