"""The lane decision: a pure function of what was observed, what is known and the parameters.

No I/O, no clock and no randomness here: the time and the pass id come in the observation and the
random-inspection draw is a hash of the pass id, so a recorded pass can be replayed
(`kakou edge replay`) and gives the same decision.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Annotated, Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from kakou.edge.inspections import InspectionMark, judge_against_mark
from kakou.edge.knowledge import (
    AppointmentReg,
    CarrierReg,
    ContainerReg,
    ControlOrder,
    DriverReg,
    EntryWeighing,
    OtherOrder,
    TransitView,
    VehicleReg,
    YardReg,
    container_size,
)
from kakou.edge.transit_check import seal_checks, transit_checks
from kakou.sync.checks import Check, CheckCode, Finding
from kakou.sync.checks import check as make_check
from kakou.sync.knowledge import CENTRAL_CONDITIONS, Condition, RiskRule
from kakou.sync.messages import Outcome, ReleaseOrderData
from kakou.sync.risk_verdicts import RiskVerdictHit


class Parameters(BaseModel):
    """The lane's part of the parameter library (参数库)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_plate_confidence: float = Field(0.80, ge=0, le=1)
    # Weight comparison (重量比对误差): allowed |measured − expected| is the larger of the two.
    weight_tolerance_kg: float = Field(500.0, ge=0)
    weight_tolerance_pct: float = Field(3.0, ge=0, le=100)
    # How tare is obtained (重量扣减方式) when the order declares net cargo weight (expected_weight).
    tare_mode: Literal["registered", "measured", "declared"] = "registered"
    random_inspection_rate: float = Field(0.0, ge=0, le=1)
    require_registered_vehicle: bool = False
    require_driver_card: bool = False
    face_match_threshold: float = Field(0.7, ge=0, le=1)
    require_face_match: bool = False  # the lane policy asks for a 1:1 driver face check
    max_gross_kg: float = Field(100_000.0, gt=0)  # beyond this a reading is impossible, not heavy
    # Legality (合法性) of container, carrier and yard from the cache (004 parameter library 6).
    require_registered_container: bool = False
    require_valid_carrier: bool = False
    refused_carrier_grades: tuple[Literal["AA", "A", "B", "C", "D"], ...] = Field((), max_length=5)
    require_yard: bool = False
    # The lane's settings from central (kakou.sync.knowledge.LaneSettings): what it may pass.
    gate_role: Literal["gate", "pre_judgment", "release_control", "post_inspection", "inspection"] = "gate"
    cargo_types: tuple[Literal["container", "bulk"], ...] = Field((), max_length=2)  # empty: any
    allowed_sizes: tuple[Literal["10", "20", "30", "40", "45", "48"], ...] = Field((), max_length=6)  # empty: any
    require_appointment: bool = False
    yard: str | None = Field(None, max_length=40)  # the yard (场站) the lane serves


class Observation(BaseModel):
    """Everything the lane read about one vehicle (or an officer entered for it)."""

    model_config = ConfigDict(frozen=True)

    pass_id: str
    lane: str
    direction: Literal["in", "out"]
    at: datetime
    plate: str | None
    plate_confidence: float = 0.0
    containers: list[str] = Field(default_factory=list)
    containers_unreadable: int = 0  # container faces seen but not read with a valid check digit
    gross_kg: float | None = None  # stable weighbridge reading, None if the lane has none
    e_plate: str | None = None  # plate registered to the RFID tag that was read
    ic_card: str | None = None
    face_score: float | None = None
    faults: list[str] = Field(default_factory=list)  # device faults during this pass
    entered_by: str | None = None  # officer who keyed plate/containers (manual entry)
    # The electronic seal (电子关锁) heard at the lane; e_seal_reader False: the lane has no reader.
    e_seal: str | None = None
    e_seal_status: Literal["intact", "tampered", "low_battery"] | None = None
    e_seal_reader: bool = False
    # ISO 6346 size/type code the camera read on a container, by container number (when seen):
    # the lane's size limits use it for a container without a registered size/type.
    container_types: dict[str, Annotated[str, StringConstraints(max_length=4)]] = Field(
        default_factory=dict, max_length=16
    )


class Knowledge(BaseModel):
    """The slice of the cache relevant to this vehicle, and the version it was read at."""

    model_config = ConfigDict(frozen=True)

    version: int
    release_orders: list[ReleaseOrderData] = Field(default_factory=list)
    control_orders: list[ControlOrder] = Field(default_factory=list)
    vehicle: VehicleReg | None = None
    driver: DriverReg | None = None
    carrier_grade: str | None = None  # credit grade of the vehicle's carrier
    risk_rules: list[RiskRule] = Field(default_factory=list)
    containers: list[ContainerReg] = Field(default_factory=list)  # registrations of the containers seen
    entry_weighing: EntryWeighing | None = None  # measured tare mode at an exit lane
    transits: list[TransitView] = Field(default_factory=list)  # open transits to this site for this truck
    inspection: InspectionMark | None = None  # its latest inspection result (kakou.edge.inspections)
    carrier: CarrierReg | None = None  # the registration of the vehicle's carrier
    yard: YardReg | None = None  # the registration of the lane's yard
    appointments: list[AppointmentReg] = Field(default_factory=list)  # the plate's appointments (预约)
    other_orders: list[OtherOrder] = Field(default_factory=list)  # other vehicles' orders naming a container seen


class CheckFn(Protocol):
    """How the helpers of decide() record a check: its code, whether it passed, its parameters."""

    def __call__(self, code: CheckCode, ok: bool, /, **params: Any) -> bool: ...


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True)

    outcome: Outcome
    reasons: list[Finding]
    checks: list[Check] = Field(default_factory=list)
    release_order: str | None = None  # the first of release_orders (what a single-order reader needs)
    release_orders: list[str] = Field(default_factory=list)  # every order the pass goes out on
    knowledge_version: int
    transit_no: str | None = None  # the transit (转关) this release is the arrival of


def decide(obs: Observation, knowledge: Knowledge, params: Parameters) -> Decision:
    checks: list[Check] = []

    def check(code: CheckCode, ok: bool, /, **params: Any) -> bool:
        checks.append(make_check(code, ok, **params))
        return ok

    # Control orders (布控) override every other outcome, so they are checked first and always.
    hits = [
        c
        for c in knowledge.control_orders
        if c.applies(obs.at)
        and _hit(c, obs, knowledge)
        and (c.random_rate is None or _random_draw(f"{c.order_no}:{obs.pass_id}") < c.random_rate)
    ]
    for c in hits:
        check(
            CheckCode.CONTROL_ORDER_HIT,
            False,
            order_no=c.order_no,
            target=c.target,
            value=c.value,
            note=c.reason or c.action,
            **({"order_type": c.order_type} if c.order_type != "general" else {}),
        )
    if not hits:
        check(CheckCode.NO_CONTROL_ORDER, True)

    for fault in obs.faults:
        check(CheckCode.DEVICE_FAULT, False, fault=fault)
    _identity_checks(obs, knowledge, params, check)
    seal_checks(obs, check)
    _legality_checks(obs, knowledge, params, check)
    _lane_checks(obs, knowledge, params, check)
    transit = transit_checks(obs, knowledge.transits, check)  # None: no transit concerns this truck
    orders = _release_order_check(obs, knowledge, check) if transit is None else []
    if orders:
        _weight_check(obs, orders, knowledge, params, check)

    # A transit arrival goes in on the transit, not on a release order; but a risk rule still judges
    # the truck as it would an ordinary release, against the orders covering it: central's verdict
    # on them (origin, HS code, transit time…) holds or inspects it here too.
    rule_orders = orders if transit is None else orders_for(obs, knowledge)
    rule_outcome = _risk_rules(obs, knowledge, rule_orders, params, check)
    failed = [c for c in checks if not c.ok]
    if hits:
        outcome = Outcome.INSPECTION if any(c.action == "inspect" for c in hits) else Outcome.OFFICER
    elif any(c.name == "weight" for c in failed) and len(failed) == 1:
        outcome = Outcome.INSPECTION  # the documents fit, the cargo does not: inspect it
    elif failed:
        outcome = Outcome.OFFICER
    elif _random_draw(obs.pass_id) < params.random_inspection_rate and _selects(params, check):
        check(CheckCode.RANDOM_INSPECTION, False, rate=params.random_inspection_rate)
        failed = [checks[-1]]
        outcome = Outcome.INSPECTION
    else:
        outcome = Outcome.RELEASE
    if rule_outcome is not None and SEVERITY[rule_outcome] > SEVERITY[outcome]:
        outcome = rule_outcome  # a risk rule can only make the outcome stricter
    if knowledge.inspection is not None:  # back from inspection: judged against its result
        outcome, failed = judge_against_mark(
            knowledge.inspection,
            obs.plate,
            obs.containers,
            obs.at,
            bool(hits),
            outcome,
            failed,
            rule_outcome,
            check,
            checks,
        )
    reasons = [c.finding() for c in failed or [c for c in checks if c.name in ("release_order", "transit")]]
    used = [o.order_no for o in orders] if outcome is Outcome.RELEASE else []
    return Decision(
        outcome=outcome,
        reasons=reasons,
        checks=checks,
        release_order=used[0] if used else None,
        release_orders=used,
        knowledge_version=knowledge.version,
        transit_no=transit if transit and outcome is Outcome.RELEASE else None,
    )


SEVERITY = {Outcome.RELEASE: 0, Outcome.OFFICER: 1, Outcome.INSPECTION: 2}


def _risk_rules(
    obs: Observation, k: Knowledge, orders: list[ReleaseOrderData], params: Parameters, check: CheckFn
) -> Outcome | None:
    """Risk rules (data from central) fire when every condition holds; return the strictest outcome."""
    strictest: Outcome | None = None
    for rule in sorted(k.risk_rules, key=lambda r: (r.priority, r.rule_id)):
        if all(_condition(c, obs, k, orders, params, rule.rule_id, rule.version) for c in rule.conditions):
            check(
                CheckCode.RISK_RULE_HIT,
                False,
                rule_id=rule.rule_id,
                version=rule.version,
                rule_name=rule.name,
                explanation=rule.explanation,
            )
            for f in _central_findings(rule.rule_id, rule.version, obs, orders):  # what central found, typed
                check(f.code, False, **f.params)
            if strictest is None or SEVERITY[rule.outcome] > SEVERITY[strictest]:
                strictest = rule.outcome
    return strictest


def _verdicts(
    rule_id: str, version: int | None, obs: Observation, orders: list[ReleaseOrderData]
) -> list[RiskVerdictHit]:
    """Central's verdicts on the orders this truck goes out on that name this rule version and are
    in force at the pass time."""
    return [
        h
        for o in orders
        for h in o.risk or []
        if h.rule_id == rule_id and h.version == version and (h.after is None or obs.at >= h.after)
    ]


def _central_findings(rule_id: str, version: int, obs: Observation, orders: list[ReleaseOrderData]) -> list[Finding]:
    return [f for h in _verdicts(rule_id, version, obs, orders) for f in h.findings]


def _condition(
    c: Condition,
    obs: Observation,
    k: Knowledge,
    orders: list[ReleaseOrderData],
    params: Parameters,
    rule_id: str,
    version: int | None = None,
) -> bool:
    """One condition at the lane. The declaration-side ones (origin, HS code, value, transit time,
    risk tags) hold when central's verdict on one of the truck's orders says so for this rule
    version; without a verdict they do not hold."""
    if c.kind in CENTRAL_CONDITIONS:
        return bool(_verdicts(rule_id, version, obs, orders))
    if c.kind == "weight_deviation":
        expected = expected_weight(orders, obs, k, params).gross_kg if orders else None
        if obs.gross_kg is None or not expected:
            return False
        diff = abs(obs.gross_kg - expected)
        return (c.over_kg is not None and diff > c.over_kg) or (
            c.over_pct is not None and diff / expected * 100 > c.over_pct
        )
    if c.kind == "carrier_credit":
        return k.carrier_grade in c.grades
    if c.kind == "watch_list":
        seen: dict[str, set[str | None]] = {
            "vehicle": {obs.plate, obs.e_plate},
            "container": set(obs.containers),
            "driver": {obs.ic_card},
        }
        return bool(seen[c.target_kind] & set(c.values))
    if c.kind == "random":
        return _random_draw(f"{rule_id}:{obs.pass_id}") < c.rate
    return False  # a kind this lane does not know


def _hit(c: ControlOrder, obs: Observation, k: Knowledge) -> bool:
    if c.target == "vehicle":
        return c.value in {obs.plate, obs.e_plate}
    if c.target == "container":
        return c.value in obs.containers
    return c.value in {obs.ic_card, k.driver.driver_id if k.driver else None}


def _identity_checks(obs: Observation, k: Knowledge, params: Parameters, check: CheckFn) -> None:
    if obs.plate is None:
        check(CheckCode.PLATE_NOT_READ, False)
    elif obs.entered_by is None and obs.plate_confidence < params.min_plate_confidence:
        check(CheckCode.PLATE_LOW_CONFIDENCE, False, plate=obs.plate, confidence=obs.plate_confidence)
    elif obs.entered_by:
        check(CheckCode.PLATE_ENTERED, True, plate=obs.plate, officer=obs.entered_by)
    else:
        check(CheckCode.PLATE_READ, True, plate=obs.plate, confidence=obs.plate_confidence)
    if obs.containers_unreadable:
        check(CheckCode.CONTAINERS_NOT_READ, False, count=obs.containers_unreadable)
    if obs.e_plate is not None and obs.plate is not None and obs.e_plate != obs.plate:
        check(CheckCode.E_PLATE_MISMATCH, False, e_plate=obs.e_plate, plate=obs.plate)
    elif obs.e_plate is not None:
        check(CheckCode.E_PLATE_MATCH, True)
    v = k.vehicle
    if v is not None and not v.valid_at(obs.at):
        check(CheckCode.VEHICLE_NOT_VALID, False, plate=v.plate, status=v.status)
    elif v is None and params.require_registered_vehicle and obs.plate is not None:
        check(CheckCode.VEHICLE_NOT_REGISTERED, False, plate=obs.plate)
    elif v is not None:
        check(CheckCode.VEHICLE_REGISTERED, True, carrier=v.carrier or "-")
    if params.require_driver_card or obs.ic_card is not None:
        if obs.ic_card is None:
            check(CheckCode.DRIVER_CARD_MISSING, False)
        elif k.driver is None or not k.driver.valid_at(obs.at):
            check(CheckCode.DRIVER_CARD_INVALID, False, card=obs.ic_card)
        else:
            check(CheckCode.DRIVER_OK, True, name=k.driver.name, card=obs.ic_card)
    if obs.face_score is None and params.require_face_match:
        check(CheckCode.FACE_NOT_VERIFIED, False)
    if obs.face_score is not None:
        ok = obs.face_score >= params.face_match_threshold
        check(
            CheckCode.FACE_MATCH if ok else CheckCode.FACE_MISMATCH,
            ok,
            score=obs.face_score,
            threshold=params.face_match_threshold,
        )


def orders_for(obs: Observation, k: Knowledge) -> list[ReleaseOrderData]:
    """The release orders covering what was seen, by decide()'s matching alone (no other check):
    for data keyed after the truck left (backfill), whose orders still count its exit."""
    return _release_order_check(obs, k, lambda *_a, **_k: True)


def _release_order_check(obs: Observation, k: Knowledge, check: CheckFn) -> list[ReleaseOrderData]:
    """The release orders this pass goes out on: the valid orders for the plate that together cover
    exactly the containers seen (any split, e.g. 2×20' under two orders). Empty: none fits.

    An order is used whole: every container on it must be on this truck. A container-less order
    (a batch of bulk cargo over several trucks) covers a truck that carries no container.
    """
    if obs.plate is None:
        return []
    rejected: list[tuple[CheckCode, dict[str, Any]]] = []
    valid: list[ReleaseOrderData] = []
    for order in sorted(k.release_orders, key=lambda o: o.order_no):
        why = _order_invalid(order, obs)
        if why is None:
            valid.append(order)
        else:
            rejected.append(why)
    used, problems = _cover(valid, obs.containers)
    if len(used) == 1:
        check(CheckCode.RELEASE_ORDER_VALID, True, order_no=used[0].order_no, plate=obs.plate)
    for order in used if len(used) > 1 else []:
        check(
            CheckCode.RELEASE_ORDER_VALID_PART,
            True,
            order_no=order.order_no,
            plate=obs.plate,
            containers=", ".join(order.containers),
        )
    if used:
        return used
    if not rejected and not problems:
        check(CheckCode.RELEASE_ORDER_MISSING, False, plate=obs.plate)
    for code, found in rejected + problems:
        check(code, False, **found)
    return []


def _order_invalid(order: ReleaseOrderData, obs: Observation) -> tuple[CheckCode, dict[str, Any]] | None:
    """Why the order cannot be used by this vehicle at this lane and time, whatever it carries."""
    no = order.order_no
    if order.plate != obs.plate:
        return CheckCode.RELEASE_ORDER_OTHER_PLATE, {"order_no": no, "plate": order.plate}
    if order.direction != obs.direction:
        return CheckCode.RELEASE_ORDER_WRONG_DIRECTION, {
            "order_no": no,
            "order_direction": order.direction,
            "lane_direction": obs.direction,
        }
    if obs.at < order.valid_from:
        return CheckCode.RELEASE_ORDER_NOT_YET_VALID, {"order_no": no, "at": order.valid_from.isoformat()}
    if obs.at > order.valid_until:
        return CheckCode.RELEASE_ORDER_EXPIRED, {"order_no": no, "at": order.valid_until.isoformat()}
    return None


Found = tuple[CheckCode, dict[str, Any]]


def _cover(valid: list[ReleaseOrderData], seen: list[str]) -> tuple[list[ReleaseOrderData], list[Found]]:
    """The valid orders whose containers together are exactly `seen`, or ([], why not)."""
    seen_set = set(seen)
    if not seen_set:
        bulk = [o for o in valid if not o.containers]
        if bulk:
            return [bulk[0]], []  # several batch orders for one truck: the first, as before
        return [], [
            (
                CheckCode.RELEASE_ORDER_CONTAINERS_MISSING,
                {"order_no": o.order_no, "containers": ", ".join(sorted(o.containers))},
            )
            for o in valid
        ]
    # Orders for this truck's load: all their containers on board. An order with only some of its
    # containers here is not used (its others are on no truck here), and says why if nothing fits.
    fitting = [o for o in valid if o.containers and set(o.containers) <= seen_set]
    partial = [o for o in valid if set(o.containers) & seen_set and not set(o.containers) <= seen_set]
    owners: dict[str, list[str]] = {}
    for o in fitting:
        for c in dict.fromkeys(o.containers):
            owners.setdefault(c, []).append(o.order_no)
    several: list[Found] = [
        (CheckCode.RELEASE_ORDER_CONTAINER_ON_SEVERAL, {"container": c, "orders": ", ".join(nos)})
        for c, nos in sorted(owners.items())
        if len(nos) > 1
    ]
    if several:
        return [], several  # which order it leaves on is the officer's call, never the lane's
    uncovered = sorted(seen_set - set(owners))
    if not uncovered:
        return fitting, []
    problems: list[Found] = [
        (
            CheckCode.RELEASE_ORDER_CONTAINERS_MISSING,
            {"order_no": o.order_no, "containers": ", ".join(sorted(set(o.containers) - seen_set))},
        )
        for o in partial
    ]
    if valid:
        problems.append((CheckCode.RELEASE_ORDER_CONTAINERS_NOT_COVERED, {"containers": ", ".join(uncovered)}))
    return [], problems


class Expected(BaseModel):
    """The gross weight the orders imply, the ok check saying how (tare mode and numbers), the tare used."""

    model_config = ConfigDict(frozen=True)

    gross_kg: float | None
    basis: list[tuple[CheckCode, dict[str, Any]]] = Field(default_factory=list)
    tare_kg: float | None = None  # the registered or measured tare, None for declared gross


def expected_weight(orders: list[ReleaseOrderData], obs: Observation, k: Knowledge, params: Parameters) -> Expected:
    """By the lane's tare mode (重量扣减方式) when the orders declare their net cargo weight:
    registered — the vehicle's registered tare plus the registered tare of each container seen;
    measured — this vehicle's entry weighing at this site (an exit lane); declared — the orders'
    declared gross. A mode that lacks its numbers falls back to the declared gross and says why.
    Several orders on one truck add their net weights; their declared gross weights each include
    the vehicle, so those add up less the vehicle tare counted more than once."""
    nets = [o.declared_net_kg for o in orders]
    net = sum(n for n in nets if n is not None) if all(n is not None for n in nets) else None
    vehicle_tare = k.vehicle.tare_kg if k.vehicle is not None and k.vehicle.tare_kg else None
    basis: list[tuple[CheckCode, dict[str, Any]]] = []
    if net is not None and params.tare_mode == "registered":
        if vehicle_tare is not None:
            regs = {c.container_no: c.tare_kg for c in k.containers if c.tare_kg}
            boxes = sum(regs[c] for c in obs.containers if c in regs)
            tare = vehicle_tare + boxes
            return Expected(
                gross_kg=net + tare,
                tare_kg=tare,
                basis=[
                    (CheckCode.TARE_REGISTERED, {"net_kg": net, "vehicle_kg": vehicle_tare, "containers_kg": boxes})
                ],
            )
        basis.append((CheckCode.NO_REGISTERED_TARE, {}))
    elif net is not None and params.tare_mode == "measured":
        e = k.entry_weighing
        if e is not None:
            return Expected(
                gross_kg=net + e.gross_kg,
                tare_kg=e.gross_kg,
                basis=[(CheckCode.TARE_MEASURED, {"net_kg": net, "entry_kg": e.gross_kg, "entry_pass": e.pass_id})],
            )
        basis.append((CheckCode.NO_ENTRY_WEIGHING, {}))
    elif net is None and params.tare_mode != "declared":
        basis.append((CheckCode.NO_DECLARED_NET, {}))
    grosses = [o.declared_gross_kg for o in orders]
    if not orders or any(g is None for g in grosses):
        return Expected(gross_kg=None, basis=basis)
    total = sum(g for g in grosses if g is not None)
    if len(orders) > 1 and vehicle_tare is None:
        return Expected(gross_kg=None, basis=[*basis, (CheckCode.WEIGHT_NOT_COMBINED, {"order_count": len(orders)})])
    less = (len(orders) - 1) * (vehicle_tare or 0.0)
    return Expected(
        gross_kg=total - less, basis=[*basis, (CheckCode.DECLARED_GROSS, {"order_count": len(orders), "less_kg": less})]
    )


def _weight_check(
    obs: Observation, orders: list[ReleaseOrderData], k: Knowledge, params: Parameters, check: CheckFn
) -> None:
    if obs.gross_kg is None:
        return  # no weighbridge on this lane, or the weight is a device fault reported above
    if not 0 <= obs.gross_kg <= params.max_gross_kg:
        check(CheckCode.WEIGHT_IMPOSSIBLE, False, gross_kg=obs.gross_kg)  # a scale fault, not cargo
        return
    exp = expected_weight(orders, obs, k, params)
    for code, found in exp.basis:  # what the expected gross is made of: the mode and its numbers
        check(code, True, **found)
    if exp.tare_kg is not None and obs.gross_kg < exp.tare_kg:
        check(CheckCode.TARE_OVER_GROSS, False, gross_kg=obs.gross_kg, tare_kg=exp.tare_kg)
        return
    if exp.gross_kg is None:
        check(CheckCode.WEIGHT_NOT_COMPARED, True, gross_kg=obs.gross_kg)
        return
    expected = exp.gross_kg
    allowed = max(params.weight_tolerance_kg, expected * params.weight_tolerance_pct / 100)
    diff = obs.gross_kg - expected
    ok = abs(diff) <= allowed
    code = CheckCode.WEIGHT_WITHIN if ok else CheckCode.WEIGHT_OVER if diff > 0 else CheckCode.WEIGHT_UNDER
    check(code, ok, gross_kg=obs.gross_kg, expected_kg=expected, diff_kg=diff, tolerance_kg=allowed)


def _random_draw(pass_id: str) -> float:
    """A uniform draw in [0, 1) fixed by the pass id, so a replay selects the same way."""
    return int.from_bytes(hashlib.sha256(pass_id.encode()).digest()[:8], "big") / 2**64


# -- legality (合法性) of container, carrier and yard, and the lane's settings from central ---------


def _legality_checks(obs: Observation, k: Knowledge, params: Parameters, check: CheckFn) -> None:
    """Container, carrier and yard against their registrations in the cache, each only when its
    switch is on (a registration that is present but not valid fails whatever the switch: the
    cache says it is not in force). The officer decides every failure; nothing opens by itself."""
    regs = {c.container_no: c for c in k.containers}
    for no in dict.fromkeys(obs.containers):
        reg = regs.get(no)
        if reg is not None and reg.status != "active":
            check(CheckCode.CONTAINER_NOT_VALID, False, container=no, status=reg.status)
        elif reg is None and params.require_registered_container:
            check(CheckCode.CONTAINER_NOT_REGISTERED, False, container=no)
        elif reg is not None and params.require_registered_container:
            check(CheckCode.CONTAINER_REGISTERED, True, container=no, size_type=reg.size_type or "-")
    for other in sorted(k.other_orders, key=lambda o: (o.container, o.order_no)):
        if (
            other.container in obs.containers
            and other.plate != obs.plate
            and other.direction == obs.direction
            and (other.valid_until is None or obs.at <= other.valid_until)
        ):
            check(
                CheckCode.CONTAINER_ON_OTHER_ORDER,
                False,
                container=other.container,
                order_no=other.order_no,
                plate=other.plate,
            )
    _carrier_check(obs, k, params, check)
    if params.require_yard or (k.yard is not None and params.yard):
        _yard_check(obs, k, params, check)


def _carrier_check(obs: Observation, k: Knowledge, params: Parameters, check: CheckFn) -> None:
    """The vehicle's carrier: one registered but not in force (suspended, outside its validity) or
    of a refused credit grade holds whatever the switch; `require_valid_carrier` also holds a
    vehicle whose carrier is unknown or not registered."""
    name = k.vehicle.carrier if k.vehicle is not None else None
    c = k.carrier if name else None
    if obs.plate is None:
        return
    if c is None or not name:
        if params.require_valid_carrier:
            if name:
                check(CheckCode.CARRIER_NOT_REGISTERED, False, carrier=name)
            else:
                check(CheckCode.CARRIER_UNKNOWN, False, plate=obs.plate)
        return
    if c.status != "active":
        check(CheckCode.CARRIER_NOT_VALID, False, carrier=name, status=c.status)
    elif c.valid_from is not None and obs.at < c.valid_from:
        check(CheckCode.CARRIER_NOT_YET_VALID, False, carrier=name, at=c.valid_from.isoformat())
    elif c.valid_until is not None and obs.at > c.valid_until:
        check(CheckCode.CARRIER_EXPIRED, False, carrier=name, at=c.valid_until.isoformat())
    elif c.credit_grade in params.refused_carrier_grades:
        check(CheckCode.CARRIER_GRADE_REFUSED, False, carrier=name, grade=c.credit_grade)
    elif params.require_valid_carrier or params.refused_carrier_grades:
        check(CheckCode.CARRIER_OK, True, carrier=name, grade=c.credit_grade or "-")


def _yard_check(obs: Observation, k: Knowledge, params: Parameters, check: CheckFn) -> None:
    y = k.yard
    if not params.yard:
        check(CheckCode.YARD_NOT_SET, False)
    elif y is None:
        check(CheckCode.YARD_NOT_REGISTERED, False, yard=params.yard)
    elif y.status != "active":
        check(CheckCode.YARD_NOT_VALID, False, yard=params.yard, status=y.status)
    elif y.valid_until is not None and obs.at > y.valid_until:
        check(CheckCode.YARD_EXPIRED, False, yard=params.yard, at=y.valid_until.isoformat())
    else:
        check(CheckCode.YARD_OK, True, yard=params.yard)


def _lane_checks(obs: Observation, k: Knowledge, params: Parameters, check: CheckFn) -> None:
    """What the lane may pass, as central set it: cargo type, container sizes, its gate role and
    whether trucks need an appointment (预约). The lane's direction is checked against each
    release order (RELEASE_ORDER_WRONG_DIRECTION); obs.direction is the one central set."""
    carries = bool(obs.containers) or obs.containers_unreadable > 0
    if params.cargo_types and carries and "container" not in params.cargo_types:
        check(CheckCode.LANE_NO_CONTAINERS, False, containers=", ".join(obs.containers) or "-")
    elif params.cargo_types and not carries and "bulk" not in params.cargo_types:
        check(CheckCode.LANE_CONTAINERS_ONLY, False)
    if params.allowed_sizes:
        sizes = "/".join(params.allowed_sizes)
        regs = {c.container_no: c for c in k.containers}
        for no in dict.fromkeys(obs.containers):
            registered = regs[no].size_type if no in regs else None
            size = container_size(registered or obs.container_types.get(no))  # the register first, then the camera
            if size is None:
                check(CheckCode.LANE_SIZE_UNKNOWN, False, container=no, sizes=sizes)  # the officer looks
            else:
                ok = size in params.allowed_sizes
                check(
                    CheckCode.LANE_SIZE_ALLOWED if ok else CheckCode.LANE_SIZE_NOT_ALLOWED,
                    ok,
                    container=no,
                    size=size,
                    sizes=sizes,
                )
    if params.gate_role == "inspection":
        check(CheckCode.LANE_INSPECTION, False)
    if params.require_appointment and obs.plate is not None:
        booked = sorted(
            (a for a in k.appointments if a.plate == obs.plate and a.valid_at(obs.at)), key=lambda a: a.appointment_no
        )
        if booked:
            check(CheckCode.APPOINTMENT_OK, True, appointment_no=booked[0].appointment_no, plate=obs.plate)
        else:
            check(CheckCode.APPOINTMENT_MISSING, False, plate=obs.plate)


def _selects(params: Parameters, check: CheckFn) -> bool:
    """Whether this lane draws the random selection: not a release-control or post-inspection
    gate, where the truck was selected (or inspected) before; it says so."""
    if params.gate_role in ("release_control", "post_inspection"):
        check(CheckCode.LANE_NOT_SELECTING, True)
        return False
    return True
