"""The lane decision: a pure function of what was observed, what is known and the parameters.

No I/O, no clock and no randomness here: the time and the pass id come in the observation and the
random-inspection draw is a hash of the pass id, so a recorded pass can be replayed
(`kakou edge replay`) and gives the same decision.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Literal, Protocol

from pydantic import BaseModel, ConfigDict, Field

from kakou.edge.knowledge import ControlOrder, DriverReg, VehicleReg
from kakou.sync.checks import Check, CheckCode, Finding
from kakou.sync.checks import check as make_check
from kakou.sync.knowledge import RiskRule
from kakou.sync.messages import Outcome, ReleaseOrderData


class Parameters(BaseModel):
    """The lane's part of the parameter library (参数库)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_plate_confidence: float = Field(0.80, ge=0, le=1)
    # Weight comparison (重量比对误差): allowed |measured − expected| is the larger of the two.
    weight_tolerance_kg: float = Field(500.0, ge=0)
    weight_tolerance_pct: float = Field(3.0, ge=0, le=100)
    # How tare is obtained (重量扣减方式) when the order declares net cargo weight.
    # measured-on-entry needs the entry pass's weight, which a lane does not have yet: treated as declared.
    tare_mode: Literal["registered", "measured", "declared"] = "registered"
    random_inspection_rate: float = Field(0.0, ge=0, le=1)
    require_registered_vehicle: bool = False
    require_driver_card: bool = False
    face_match_threshold: float = Field(0.7, ge=0, le=1)
    require_face_match: bool = False  # the lane policy asks for a 1:1 driver face check
    max_gross_kg: float = Field(100_000.0, gt=0)  # beyond this a reading is impossible, not heavy


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


class CheckFn(Protocol):
    """How the helpers of decide() record a check: its code, whether it passed, its parameters."""

    def __call__(self, code: CheckCode, ok: bool, /, **params: Any) -> bool: ...


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True)

    outcome: Outcome
    reasons: list[Finding]
    checks: list[Check] = Field(default_factory=list)
    release_order: str | None = None
    knowledge_version: int


def decide(obs: Observation, knowledge: Knowledge, params: Parameters) -> Decision:
    checks: list[Check] = []

    def check(code: CheckCode, ok: bool, /, **params: Any) -> bool:
        checks.append(make_check(code, ok, **params))
        return ok

    # Control orders (布控) override every other outcome, so they are checked first and always.
    hits = [c for c in knowledge.control_orders if c.applies(obs.at) and _hit(c, obs, knowledge)]
    for c in hits:
        check(CheckCode.CONTROL_ORDER_HIT, False, order_no=c.order_no, target=c.target, value=c.value,
              note=c.reason or c.action)
    if not hits:
        check(CheckCode.NO_CONTROL_ORDER, True)

    for fault in obs.faults:
        check(CheckCode.DEVICE_FAULT, False, fault=fault)
    _identity_checks(obs, knowledge, params, check)
    order = _release_order_check(obs, knowledge, check)
    if order is not None:
        _weight_check(obs, order, knowledge.vehicle, params, check)

    rule_outcome = _risk_rules(obs, knowledge, order, params, check)
    failed = [c for c in checks if not c.ok]
    if hits:
        outcome = Outcome.INSPECTION if any(c.action == "inspect" for c in hits) else Outcome.OFFICER
    elif any(c.name == "weight" for c in failed) and len(failed) == 1:
        outcome = Outcome.INSPECTION  # the documents fit, the cargo does not: inspect it
    elif failed:
        outcome = Outcome.OFFICER
    elif _random_draw(obs.pass_id) < params.random_inspection_rate:
        check(CheckCode.RANDOM_INSPECTION, False, rate=params.random_inspection_rate)
        failed = [checks[-1]]
        outcome = Outcome.INSPECTION
    else:
        outcome = Outcome.RELEASE
    if rule_outcome is not None and SEVERITY[rule_outcome] > SEVERITY[outcome]:
        outcome = rule_outcome  # a risk rule can only make the outcome stricter
    reasons = [c.finding() for c in failed or [c for c in checks if c.name == "release_order"]]
    return Decision(outcome=outcome, reasons=reasons, checks=checks,
                    release_order=order.order_no if order is not None and outcome is Outcome.RELEASE else None,
                    knowledge_version=knowledge.version)


SEVERITY = {Outcome.RELEASE: 0, Outcome.OFFICER: 1, Outcome.INSPECTION: 2}


def _risk_rules(obs: Observation, k: Knowledge, order: ReleaseOrderData | None, params: Parameters,
                check: CheckFn) -> Outcome | None:
    """Risk rules (data from central) fire when every condition holds; return the strictest outcome."""
    strictest: Outcome | None = None
    for rule in sorted(k.risk_rules, key=lambda r: (r.priority, r.rule_id)):
        if all(_condition(c, obs, k, order, params, rule.rule_id) for c in rule.conditions):
            check(CheckCode.RISK_RULE_HIT, False, rule_id=rule.rule_id, version=rule.version, rule_name=rule.name,
                  explanation=rule.explanation)
            if strictest is None or SEVERITY[rule.outcome] > SEVERITY[strictest]:
                strictest = rule.outcome
    return strictest


def _condition(c: Any, obs: Observation, k: Knowledge, order: ReleaseOrderData | None, params: Parameters,
               rule_id: str) -> bool:
    """One condition at the lane. One the lane cannot evaluate (no data here) does not hold."""
    if c.kind == "weight_deviation":
        expected = expected_gross_kg(order, k.vehicle, params) if order is not None else None
        if obs.gross_kg is None or not expected:
            return False
        diff = abs(obs.gross_kg - expected)
        return (c.over_kg is not None and diff > c.over_kg) or (c.over_pct is not None and
                                                                 diff / expected * 100 > c.over_pct)
    if c.kind == "carrier_credit":
        return k.carrier_grade in c.grades
    if c.kind == "watch_list":
        seen = {"vehicle": {obs.plate, obs.e_plate}, "container": set(obs.containers),
                "driver": {obs.ic_card}}[c.target_kind]
        return bool(seen & set(c.values))
    if c.kind == "random":
        return _random_draw(f"{rule_id}:{obs.pass_id}") < c.rate
    return False  # origin, HS code, transit time: evaluated centrally on the declaration


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
        check(CheckCode.FACE_MATCH if ok else CheckCode.FACE_MISMATCH, ok, score=obs.face_score,
              threshold=params.face_match_threshold)


def _release_order_check(obs: Observation, k: Knowledge, check: CheckFn) -> ReleaseOrderData | None:
    if obs.plate is None:
        return None
    rejected: list[tuple[CheckCode, dict[str, Any]]] = []
    for order in sorted(k.release_orders, key=lambda o: o.order_no):
        why = _order_mismatch(order, obs)
        if why is None:
            check(CheckCode.RELEASE_ORDER_VALID, True, order_no=order.order_no, plate=obs.plate)
            return order
        rejected.append(why)
    if not rejected:
        check(CheckCode.RELEASE_ORDER_MISSING, False, plate=obs.plate)
    for code, found in rejected:
        check(code, False, **found)
    return None


def _order_mismatch(order: ReleaseOrderData, obs: Observation) -> tuple[CheckCode, dict[str, Any]] | None:
    """Why this order does not fit the observation: a code and its parameters (None: it fits)."""
    no = order.order_no
    if order.plate != obs.plate:
        return CheckCode.RELEASE_ORDER_OTHER_PLATE, {"order_no": no, "plate": order.plate}
    if order.direction != obs.direction:
        return CheckCode.RELEASE_ORDER_WRONG_DIRECTION, {"order_no": no, "order_direction": order.direction,
                                                         "lane_direction": obs.direction}
    if obs.at < order.valid_from:
        return CheckCode.RELEASE_ORDER_NOT_YET_VALID, {"order_no": no, "at": order.valid_from.isoformat()}
    if obs.at > order.valid_until:
        return CheckCode.RELEASE_ORDER_EXPIRED, {"order_no": no, "at": order.valid_until.isoformat()}
    missing = sorted(set(order.containers) - set(obs.containers))
    if missing:
        return CheckCode.RELEASE_ORDER_CONTAINERS_MISSING, {"order_no": no, "containers": ", ".join(missing)}
    extra = sorted(set(obs.containers) - set(order.containers))
    if extra:
        return CheckCode.RELEASE_ORDER_CONTAINERS_EXTRA, {"order_no": no, "containers": ", ".join(extra)}
    return None


def expected_gross_kg(order: ReleaseOrderData, vehicle: VehicleReg | None, params: Parameters) -> float | None:
    """The gross weight the order implies, by the lane's tare mode; None if it cannot be known."""
    net = getattr(order, "declared_net_kg", None)
    if params.tare_mode == "registered" and net is not None and vehicle is not None and vehicle.tare_kg:
        return float(net) + vehicle.tare_kg
    return order.declared_gross_kg


def _weight_check(obs: Observation, order: ReleaseOrderData, vehicle: VehicleReg | None, params: Parameters,
                  check: CheckFn) -> None:
    if obs.gross_kg is None:
        return  # no weighbridge on this lane, or the weight is a device fault reported above
    if not 0 <= obs.gross_kg <= params.max_gross_kg:
        check(CheckCode.WEIGHT_IMPOSSIBLE, False, gross_kg=obs.gross_kg)  # a scale fault, not cargo
        return
    expected = expected_gross_kg(order, vehicle, params)
    if expected is None:
        check(CheckCode.WEIGHT_NOT_COMPARED, True, gross_kg=obs.gross_kg)
        return
    allowed = max(params.weight_tolerance_kg, expected * params.weight_tolerance_pct / 100)
    diff = obs.gross_kg - expected
    ok = abs(diff) <= allowed
    code = CheckCode.WEIGHT_WITHIN if ok else CheckCode.WEIGHT_OVER if diff > 0 else CheckCode.WEIGHT_UNDER
    check(code, ok, gross_kg=obs.gross_kg, expected_kg=expected, diff_kg=diff, tolerance_kg=allowed)


def _random_draw(pass_id: str) -> float:
    """A uniform draw in [0, 1) fixed by the pass id, so a replay selects the same way."""
    return int.from_bytes(hashlib.sha256(pass_id.encode()).digest()[:8], "big") / 2**64
