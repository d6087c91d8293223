"""The lane decision: a pure function of what was observed, what is known and the parameters.

No I/O, no clock and no randomness here: the time and the pass id come in the observation and the
random-inspection draw is a hash of the pass id, so a recorded pass can be replayed
(`kakou edge replay`) and gives the same decision.
"""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kakou.edge.knowledge import ContainerReg, ControlOrder, DriverReg, EntryWeighing, VehicleReg
from kakou.sync.knowledge import RiskRule
from kakou.sync.messages import Outcome, ReleaseOrderData


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
    containers: list[ContainerReg] = Field(default_factory=list)  # registrations of the containers seen
    entry_weighing: EntryWeighing | None = None  # measured tare mode at an exit lane


class Check(BaseModel):
    model_config = ConfigDict(frozen=True)

    name: str  # plate, e_plate, vehicle, driver, face, release_order, weight, control, random
    ok: bool
    detail: str


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True)

    outcome: Outcome
    reasons: list[str]
    checks: list[Check] = Field(default_factory=list)
    release_order: str | None = None  # the first of release_orders (what a single-order reader needs)
    release_orders: list[str] = Field(default_factory=list)  # every order the pass goes out on
    knowledge_version: int


def decide(obs: Observation, knowledge: Knowledge, params: Parameters) -> Decision:
    checks: list[Check] = []

    def check(name: str, ok: bool, detail: str) -> bool:
        checks.append(Check(name=name, ok=ok, detail=detail))
        return ok

    # Control orders (布控) override every other outcome, so they are checked first and always.
    hits = [c for c in knowledge.control_orders if c.applies(obs.at) and _hit(c, obs, knowledge)]
    for c in hits:
        check("control", False, f"control order {c.order_no} on {c.target} {c.value}: {c.reason or c.action}")
    if not hits:
        check("control", True, "no control order")

    for fault in obs.faults:
        check("device", False, f"device fault: {fault}")
    _identity_checks(obs, knowledge, params, check)
    orders = _release_order_check(obs, knowledge, check)
    if orders:
        _weight_check(obs, orders, knowledge, params, check)

    rule_outcome = _risk_rules(obs, knowledge, orders, params, check)
    failed = [c for c in checks if not c.ok]
    if hits:
        outcome = Outcome.INSPECTION if any(c.action == "inspect" for c in hits) else Outcome.OFFICER
    elif any(c.name == "weight" for c in failed) and len(failed) == 1:
        outcome = Outcome.INSPECTION  # the documents fit, the cargo does not: inspect it
    elif failed:
        outcome = Outcome.OFFICER
    elif _random_draw(obs.pass_id) < params.random_inspection_rate:
        check("random", False, f"selected at random ({params.random_inspection_rate:.0%} rate)")
        failed = [checks[-1]]
        outcome = Outcome.INSPECTION
    else:
        outcome = Outcome.RELEASE
    if rule_outcome is not None and SEVERITY[rule_outcome] > SEVERITY[outcome]:
        outcome = rule_outcome  # a risk rule can only make the outcome stricter
    reasons = [c.detail for c in failed] or [c.detail for c in checks if c.name == "release_order"]
    used = [o.order_no for o in orders] if outcome is Outcome.RELEASE else []
    return Decision(outcome=outcome, reasons=reasons, checks=checks, release_order=used[0] if used else None,
                    release_orders=used, knowledge_version=knowledge.version)


SEVERITY = {Outcome.RELEASE: 0, Outcome.OFFICER: 1, Outcome.INSPECTION: 2}


def _risk_rules(obs: Observation, k: Knowledge, orders: list[ReleaseOrderData], params: Parameters,
                check) -> Outcome | None:  # type: ignore[no-untyped-def]
    """Risk rules (data from central) fire when every condition holds; return the strictest outcome."""
    strictest: Outcome | None = None
    for rule in sorted(k.risk_rules, key=lambda r: (r.priority, r.rule_id)):
        if all(_condition(c, obs, k, orders, params, rule.rule_id) for c in rule.conditions):
            check("risk", False, f"risk rule {rule.rule_id} v{rule.version} ({rule.name}): {rule.explanation}")
            if strictest is None or SEVERITY[rule.outcome] > SEVERITY[strictest]:
                strictest = rule.outcome
    return strictest


def _condition(c: Any, obs: Observation, k: Knowledge, orders: list[ReleaseOrderData], params: Parameters,
               rule_id: str) -> bool:
    """One condition at the lane. One the lane cannot evaluate (no data here) does not hold."""
    if c.kind == "weight_deviation":
        expected = expected_weight(orders, obs, k, params).gross_kg if orders else None
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


def _identity_checks(obs: Observation, k: Knowledge, params: Parameters, check) -> None:  # type: ignore[no-untyped-def]
    if obs.plate is None:
        check("plate", False, "plate not read")
    elif obs.entered_by is None and obs.plate_confidence < params.min_plate_confidence:
        check("plate", False, f"plate read {obs.plate} below confidence ({obs.plate_confidence:.2f})")
    else:
        how = f"entered by {obs.entered_by}" if obs.entered_by else f"read ({obs.plate_confidence:.2f})"
        check("plate", True, f"plate {obs.plate} {how}")
    if obs.containers_unreadable:
        check("containers", False, f"{obs.containers_unreadable} container number(s) not read")
    if obs.e_plate is not None and obs.plate is not None and obs.e_plate != obs.plate:
        check("e_plate", False, f"e-plate says {obs.e_plate}, camera says {obs.plate}")
    elif obs.e_plate is not None:
        check("e_plate", True, "e-plate agrees with the camera")
    v = k.vehicle
    if v is not None and not v.valid_at(obs.at):
        check("vehicle", False, f"vehicle {v.plate} registration not valid ({v.status})")
    elif v is None and params.require_registered_vehicle and obs.plate is not None:
        check("vehicle", False, f"vehicle {obs.plate} not registered")
    elif v is not None:
        check("vehicle", True, f"vehicle registered (carrier {v.carrier or '-'})")
    if params.require_driver_card or obs.ic_card is not None:
        if obs.ic_card is None:
            check("driver", False, "no driver IC card read")
        elif k.driver is None or not k.driver.valid_at(obs.at):
            check("driver", False, f"IC card {obs.ic_card} not registered or not valid")
        else:
            check("driver", True, f"driver {k.driver.name} ({obs.ic_card})")
    if obs.face_score is None and params.require_face_match:
        check("face", False, "driver face not verified (no face frame or no reference photo)")
    if obs.face_score is not None:
        ok = obs.face_score >= params.face_match_threshold
        check("face", ok, f"face match {obs.face_score:.2f} {'≥' if ok else '<'} {params.face_match_threshold:.2f}")


def orders_for(obs: Observation, k: Knowledge) -> list[ReleaseOrderData]:
    """The release orders covering what was seen, by decide()'s matching alone (no other check):
    for data keyed after the truck left (backfill), whose orders still count its exit."""
    return _release_order_check(obs, k, lambda *_: True)


def _release_order_check(obs: Observation, k: Knowledge, check) -> list[ReleaseOrderData]:  # type: ignore[no-untyped-def]
    """The release orders this pass goes out on: the valid orders for the plate that together cover
    exactly the containers seen (any split, e.g. 2×20' under two orders). Empty: none fits.

    An order is used whole: every container on it must be on this truck. A container-less order
    (a batch of bulk cargo over several trucks) covers a truck that carries no container.
    """
    if obs.plate is None:
        return []
    rejected: list[str] = []
    valid: list[ReleaseOrderData] = []
    for order in sorted(k.release_orders, key=lambda o: o.order_no):
        why = _order_invalid(order, obs)
        if why is None:
            valid.append(order)
        else:
            rejected.append(f"release order {order.order_no}: {why}")
    used, problems = _cover(valid, obs.containers)
    if used:
        for order in used:
            check("release_order", True, f"release order {order.order_no} valid for {obs.plate}"
                  + (f" ({', '.join(order.containers)})" if len(used) > 1 else ""))
        return used
    if not rejected and not problems:
        check("release_order", False, f"no release order for {obs.plate}")
    for why in rejected + problems:
        check("release_order", False, why)
    return []


def _order_invalid(order: ReleaseOrderData, obs: Observation) -> str | None:
    """Why the order cannot be used by this vehicle at this lane and time, whatever it carries."""
    if order.plate != obs.plate:
        return f"for plate {order.plate}"
    if order.direction != obs.direction:
        return f"for direction {order.direction}, lane is {obs.direction}"
    if obs.at < order.valid_from:
        return f"not valid before {order.valid_from.isoformat()}"
    if obs.at > order.valid_until:
        return f"expired {order.valid_until.isoformat()}"
    return None


def _cover(valid: list[ReleaseOrderData], seen: list[str]) -> tuple[list[ReleaseOrderData], list[str]]:
    """The valid orders whose containers together are exactly `seen`, or ([], why not)."""
    seen_set = set(seen)
    if not seen_set:
        bulk = [o for o in valid if not o.containers]
        if bulk:
            return [bulk[0]], []  # several batch orders for one truck: the first, as before
        return [], [f"release order {o.order_no}: containers not seen: {', '.join(sorted(o.containers))}"
                    for o in valid]
    # Orders for this truck's load: all their containers on board. An order with only some of its
    # containers here is not used (its others are on no truck here), and says why if nothing fits.
    fitting = [o for o in valid if o.containers and set(o.containers) <= seen_set]
    partial = [o for o in valid if set(o.containers) & seen_set and not set(o.containers) <= seen_set]
    owners: dict[str, list[str]] = {}
    for o in fitting:
        for c in dict.fromkeys(o.containers):
            owners.setdefault(c, []).append(o.order_no)
    problems = [f"container {c} is on several release orders: {', '.join(nos)}"
                for c, nos in sorted(owners.items()) if len(nos) > 1]
    if problems:
        return [], problems  # which order it leaves on is the officer's call, never the lane's
    uncovered = sorted(seen_set - set(owners))
    if not uncovered:
        return fitting, []
    problems = [f"release order {o.order_no}: containers not seen: "
                f"{', '.join(sorted(set(o.containers) - seen_set))}" for o in partial]
    if valid:
        problems.append(f"containers not covered by a valid release order: {', '.join(uncovered)}")
    return [], problems


class Expected(BaseModel):
    """The gross weight the orders imply, how it was reached (tare mode and numbers) and the tare used."""

    model_config = ConfigDict(frozen=True)

    gross_kg: float | None
    how: str
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
    why = ""
    if net is not None and params.tare_mode == "registered":
        if vehicle_tare is not None:
            regs = {c.container_no: c.tare_kg for c in k.containers if c.tare_kg}
            boxes = [regs[c] for c in obs.containers if c in regs]
            tare = vehicle_tare + sum(boxes)
            how = (f"registered tare: net {net:.0f} + vehicle {vehicle_tare:.0f}"
                   + (f" + {len(boxes)} container(s) {sum(boxes):.0f}" if boxes else "") + " kg")
            return Expected(gross_kg=net + tare, how=how, tare_kg=tare)
        why = "no registered vehicle tare"
    elif net is not None and params.tare_mode == "measured":
        e = k.entry_weighing
        if e is not None:
            return Expected(gross_kg=net + e.gross_kg, tare_kg=e.gross_kg,
                            how=f"measured tare: net {net:.0f} + entry weighing {e.gross_kg:.0f} kg ({e.pass_id})")
        why = "no entry weighing of this vehicle here"
    elif net is None and params.tare_mode != "declared":
        why = "no declared net weight"
    fallback = f", {params.tare_mode} tare: {why}" if why else ""
    grosses = [o.declared_gross_kg for o in orders]
    if not orders or any(g is None for g in grosses):
        return Expected(gross_kg=None, how=f"no declared weight to compare{fallback}")
    total = sum(g for g in grosses if g is not None)
    if len(orders) == 1:
        return Expected(gross_kg=total, how=f"declared gross{fallback}")
    if vehicle_tare is None:
        return Expected(gross_kg=None, how=f"{len(orders)} orders' declared gross cannot be combined without "
                                           f"a registered vehicle tare{fallback}")
    return Expected(gross_kg=total - (len(orders) - 1) * vehicle_tare,
                    how=f"declared gross of {len(orders)} orders less {len(orders) - 1}× vehicle tare "
                        f"{vehicle_tare:.0f} kg{fallback}")


def _weight_check(obs: Observation, orders: list[ReleaseOrderData], k: Knowledge, params: Parameters,
                  check) -> None:  # type: ignore[no-untyped-def]
    if obs.gross_kg is None:
        return  # no weighbridge on this lane, or the weight is a device fault reported above
    if not 0 <= obs.gross_kg <= params.max_gross_kg:
        check("device", False, f"impossible weight reading {obs.gross_kg:.0f} kg")  # a scale fault, not cargo
        return
    exp = expected_weight(orders, obs, k, params)
    if exp.tare_kg is not None and obs.gross_kg < exp.tare_kg:
        check("tare", False, f"gross {obs.gross_kg:.0f} kg is less than the tare {exp.tare_kg:.0f} kg ({exp.how}): "
                             f"the weighing or a registered tare is wrong")
        return
    if exp.gross_kg is None:
        check("weight", True, f"gross {obs.gross_kg:.0f} kg ({exp.how})")
        return
    allowed = max(params.weight_tolerance_kg, exp.gross_kg * params.weight_tolerance_pct / 100)
    diff = obs.gross_kg - exp.gross_kg
    ok = abs(diff) <= allowed
    check("weight", ok, f"gross {obs.gross_kg:.0f} kg vs expected {exp.gross_kg:.0f} kg ({exp.how}): "
                        f"{diff:+.0f} kg, tolerance ±{allowed:.0f} kg")


def _random_draw(pass_id: str) -> float:
    """A uniform draw in [0, 1) fixed by the pass id, so a replay selects the same way."""
    return int.from_bytes(hashlib.sha256(pass_id.encode()).digest()[:8], "big") / 2**64
