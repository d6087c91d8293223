"""The decision's explanation as typed codes: what every check found, and why a pass was decided so.

`decide()` (kakou.edge.decision) reports each check as a `Check`: a `CheckCode`, whether it passed,
and the check's parameters, validated by one pydantic model per code (bounded, typed values). The
pass record carries these on the wire (`PassRecord.checks`, and `PassRecord.reasons` as `Finding`s);
nobody parses sentences. Texts are rendered from `TEXTS`, the one dictionary of every code in
Chinese (the default) and English, kept in check_texts.toml beside this module: on the server
(`render`) and in the browser (the same dictionary served as a script, `texts_script`).

Lanes older than pass-envelope version 2 sent English sentences: `upgrade_checks`/`upgrade_reasons`
accept them as `LEGACY_TEXT` findings (the sentence is shown as it is) for one protocol version.
"""

from __future__ import annotations

import json
import string
import tomllib
from enum import StrEnum
from importlib import resources
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, StringConstraints, ValidationError, model_validator


class CheckCode(StrEnum):
    # control orders (布控)
    CONTROL_ORDER_HIT = "control_order_hit"
    NO_CONTROL_ORDER = "no_control_order"
    # devices
    DEVICE_FAULT = "device_fault"
    WEIGHT_IMPOSSIBLE = "weight_impossible"
    # identity
    PLATE_NOT_READ = "plate_not_read"
    PLATE_LOW_CONFIDENCE = "plate_low_confidence"
    PLATE_READ = "plate_read"
    PLATE_ENTERED = "plate_entered"
    CONTAINERS_NOT_READ = "containers_not_read"
    E_PLATE_MISMATCH = "e_plate_mismatch"
    E_PLATE_MATCH = "e_plate_match"
    VEHICLE_NOT_VALID = "vehicle_not_valid"
    VEHICLE_NOT_REGISTERED = "vehicle_not_registered"
    VEHICLE_REGISTERED = "vehicle_registered"
    DRIVER_CARD_MISSING = "driver_card_missing"
    DRIVER_CARD_INVALID = "driver_card_invalid"
    DRIVER_OK = "driver_ok"
    FACE_NOT_VERIFIED = "face_not_verified"
    FACE_MATCH = "face_match"
    FACE_MISMATCH = "face_mismatch"
    # release orders (核放单)
    RELEASE_ORDER_VALID = "release_order_valid"
    RELEASE_ORDER_MISSING = "release_order_missing"
    RELEASE_ORDER_OTHER_PLATE = "release_order_other_plate"
    RELEASE_ORDER_WRONG_DIRECTION = "release_order_wrong_direction"
    RELEASE_ORDER_NOT_YET_VALID = "release_order_not_yet_valid"
    RELEASE_ORDER_EXPIRED = "release_order_expired"
    RELEASE_ORDER_CONTAINERS_MISSING = "release_order_containers_missing"
    RELEASE_ORDER_CONTAINERS_EXTRA = "release_order_containers_extra"
    # several orders on one truck (each used whole)
    RELEASE_ORDER_VALID_PART = "release_order_valid_part"
    RELEASE_ORDER_CONTAINER_ON_SEVERAL = "release_order_container_on_several"
    RELEASE_ORDER_CONTAINERS_NOT_COVERED = "release_order_containers_not_covered"
    # weight (重量比对)
    WEIGHT_NOT_COMPARED = "weight_not_compared"
    WEIGHT_WITHIN = "weight_within"
    WEIGHT_OVER = "weight_over"
    WEIGHT_UNDER = "weight_under"
    # what the expected gross is made of (tare mode, 重量扣减方式): an ok check beside the comparison
    TARE_REGISTERED = "tare_registered"
    TARE_MEASURED = "tare_measured"
    DECLARED_GROSS = "declared_gross"
    NO_DECLARED_NET = "no_declared_net"
    NO_REGISTERED_TARE = "no_registered_tare"
    NO_ENTRY_WEIGHING = "no_entry_weighing"
    WEIGHT_NOT_COMBINED = "weight_not_combined"
    TARE_OVER_GROSS = "tare_over_gross"  # the officer decides: the weighing or a registration is wrong
    # selection
    RANDOM_INSPECTION = "random_inspection"
    RISK_RULE_HIT = "risk_rule_hit"
    # an electronic seal read at the lane (transit, 电子关锁)
    E_SEAL_READ = "e_seal_read"
    # an officer's decision at the lane (the reason of a pass that supersedes another)
    OFFICER_OVERRIDE = "officer_override"
    INSPECTION_PASSED = "inspection_passed"
    RELEASED_ON_DOCUMENTS = "released_on_documents"
    # a control-order (布控) hold released by two officers, the second with their own PIN
    OFFICER_OVERRIDE_CONFIRMED = "officer_override_confirmed"
    INSPECTION_PASSED_CONFIRMED = "inspection_passed_confirmed"
    RELEASED_ON_DOCUMENTS_CONFIRMED = "released_on_documents_confirmed"
    # ... or by central's disposal of the hit
    CONTROL_DISPOSAL_RELEASED = "control_disposal_released"
    # plate and containers keyed after a release on documents (the pass superseding it)
    BACKFILLED = "backfilled"
    # a sentence from a lane older than pass-envelope version 2, shown as it is
    LEGACY_TEXT = "legacy_text"
    # what central found on the declaration side of a release order for a risk rule in force
    # (kakou.central.risk_eval): published with the order, shown when the rule fires at the lane
    RISK_ORIGIN = "risk_origin"
    RISK_HS_CODE = "risk_hs_code"
    RISK_DECLARED_VALUE = "risk_declared_value"
    RISK_TRANSIT_TIME = "risk_transit_time"
    RISK_PRICE = "risk_price"  # seed 001 tags: 价格异常
    RISK_TRACED_ORIGIN = "risk_traced_origin"  # 原产地不一致
    RISK_QUARANTINE = "risk_quarantine"  # 未检疫
    RISK_LONG_STORAGE = "risk_long_storage"  # 长期滞留
    RISK_HIGH_VALUE = "risk_high_value"  # 有高价值
    # e-seal (电子关锁) read at the lane, and the transit (转关) check at its destination
    E_SEAL_NONE = "e_seal_none"  # the lane has a reader and heard no seal (no reader: no e-seal check at all)
    E_SEAL_TAMPERED = "e_seal_tampered"
    E_SEAL_LOW_BATTERY = "e_seal_low_battery"
    TRANSIT_ARRIVED = "transit_arrived"
    TRANSIT_PLATE_MISMATCH = "transit_plate_mismatch"
    TRANSIT_CONTAINERS_MISMATCH = "transit_containers_mismatch"
    TRANSIT_SEAL_MISMATCH = "transit_seal_mismatch"
    TRANSIT_SEAL_NOT_READ = "transit_seal_not_read"
    TRANSIT_SEAL_NOT_CHECKED = "transit_seal_not_checked"  # no e-seal reader on this lane
    TRANSIT_SEVERAL = "transit_several"
    # inspection results that hold the vehicle (查验结果: 查扣 / 退运 / 进一步查验); passed is INSPECTION_PASSED
    INSPECTION_SEIZED = "inspection_seized"
    INSPECTION_RETURNED = "inspection_returned"
    INSPECTION_FURTHER = "inspection_further"
    # a vehicle back from inspection, judged against its result (the "inspected" mark)
    INSPECTED_PASSED = "inspected_passed"
    INSPECTED_SEIZED = "inspected_seized"
    INSPECTED_RETURNED = "inspected_returned"
    INSPECTED_FURTHER = "inspected_further"
    # legality (合法性) of container, carrier and yard, from the cache; each switchable (parameter library)
    CONTAINER_REGISTERED = "container_registered"
    CONTAINER_NOT_REGISTERED = "container_not_registered"
    CONTAINER_NOT_VALID = "container_not_valid"
    CONTAINER_ON_OTHER_ORDER = "container_on_other_order"  # on an open order of another vehicle
    CARRIER_OK = "carrier_ok"
    CARRIER_UNKNOWN = "carrier_unknown"  # the vehicle names no carrier, or is not registered
    CARRIER_NOT_REGISTERED = "carrier_not_registered"
    CARRIER_NOT_VALID = "carrier_not_valid"
    CARRIER_NOT_YET_VALID = "carrier_not_yet_valid"
    CARRIER_EXPIRED = "carrier_expired"
    CARRIER_GRADE_REFUSED = "carrier_grade_refused"
    YARD_OK = "yard_ok"
    YARD_NOT_SET = "yard_not_set"
    YARD_NOT_REGISTERED = "yard_not_registered"
    YARD_NOT_VALID = "yard_not_valid"
    YARD_EXPIRED = "yard_expired"
    # the lane's settings from central: container size, cargo type, gate role, appointment (预约)
    LANE_SIZE_ALLOWED = "lane_size_allowed"
    LANE_SIZE_NOT_ALLOWED = "lane_size_not_allowed"
    LANE_SIZE_UNKNOWN = "lane_size_unknown"
    LANE_CONTAINERS_ONLY = "lane_containers_only"
    LANE_NO_CONTAINERS = "lane_no_containers"
    LANE_INSPECTION = "lane_inspection"
    LANE_NOT_SELECTING = "lane_not_selecting"
    APPOINTMENT_OK = "appointment_ok"
    APPOINTMENT_MISSING = "appointment_missing"


T = TypeVar("T", bound=BaseModel)

# ---- parameters: one model per code ------------------------------------------------------------

# Identifiers carry no control characters, texts no NUL (PostgreSQL refuses it in text and JSON).
_NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
_NO_NUL = r"^[^\x00]*$"
Id = Annotated[str, StringConstraints(max_length=64, pattern=_NO_CONTROL)]
Short = Annotated[str, StringConstraints(max_length=24, pattern=_NO_CONTROL)]
Note = Annotated[str, StringConstraints(max_length=500, pattern=_NO_NUL)]
Listed = Annotated[str, StringConstraints(max_length=300, pattern=_NO_CONTROL)]  # comma-separated, as shown
Kg = Annotated[float, Field(ge=-1e7, le=1e7)]
Ratio = Annotated[float, Field(ge=0, le=1)]


class P(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class NoParams(P):
    pass


class ControlOrderHit(P):
    order_no: Id
    target: Literal["vehicle", "container", "driver"]
    value: Id
    note: Note  # the order's reason, or its action when it gives none
    order_type: Short | None = None  # 布控类型: general, random, key_person, risk_vehicle


class DeviceFault(P):
    fault: Note  # what the device driver reported


class GrossOnly(P):
    gross_kg: Kg


class PlateConfidence(P):
    plate: Id
    confidence: Ratio


class PlateEntered(P):
    plate: Id
    officer: Id


class Count(P):
    count: int = Field(ge=0, le=1000)


class EPlateMismatch(P):
    e_plate: Id
    plate: Id


class Plate(P):
    plate: Id


class VehicleNotValid(P):
    plate: Id
    status: Short


class VehicleRegistered(P):
    carrier: Id  # "-" when none


class Card(P):
    card: Id


class DriverOk(P):
    name: Id
    card: Id


class FaceScore(P):
    score: Ratio
    threshold: Ratio


class OrderPlate(P):
    order_no: Id
    plate: Id


class OrderDirection(P):
    order_no: Id
    order_direction: Literal["in", "out"]
    lane_direction: Literal["in", "out"]


class OrderTime(P):
    order_no: Id
    at: Annotated[str, StringConstraints(max_length=40, pattern=_NO_CONTROL)]  # ISO 8601 timestamp


class OrderContainers(P):
    order_no: Id
    containers: Listed


class OrderPart(P):
    order_no: Id
    plate: Id
    containers: Listed


class ContainerOrders(P):
    container: Id
    orders: Listed


class Containers(P):
    containers: Listed


class WeightCompared(P):
    gross_kg: Kg
    expected_kg: Kg
    diff_kg: Kg  # measured − expected
    tolerance_kg: Kg


class TareRegistered(P):
    net_kg: Kg
    vehicle_kg: Kg
    containers_kg: Kg  # the registered tare of the containers seen (0: none registered)


class TareMeasured(P):
    net_kg: Kg
    entry_kg: Kg
    entry_pass: Id


class DeclaredGross(P):
    order_count: int = Field(ge=1, le=100)
    less_kg: Kg  # the vehicle tare counted more than once (several orders), else 0


class Orders(P):
    order_count: int = Field(ge=1, le=100)


class TareOverGross(P):
    gross_kg: Kg
    tare_kg: Kg


class OfficerConfirmed(P):
    officer: Id
    confirmed_by: Id
    note: Note


class Officer(P):
    officer: Id


class Rate(P):
    rate: Ratio


class RiskRuleHit(P):
    rule_id: Id
    version: int = Field(ge=0)
    rule_name: Annotated[str, StringConstraints(max_length=120, pattern=_NO_CONTROL)]
    explanation: Note


class Seal(P):
    seal: Annotated[str, StringConstraints(max_length=40, pattern=_NO_CONTROL)]


class OfficerNote(P):
    officer: Id
    note: Note


class InspectedMark(P):
    officer: Id
    at: Annotated[str, StringConstraints(max_length=40, pattern=_NO_CONTROL)]  # ISO 8601: when the result was recorded
    pass_id: Id  # the pass that recorded the result
    note: Note


class LegacyText(P):
    name: Short | None = None  # the old check name (plate, weight, device, …), None for a reason
    text: Annotated[str, StringConstraints(max_length=1000, pattern=_NO_NUL)]


Money = Annotated[float, Field(ge=0, le=1e13)]
Goods = Annotated[str, StringConstraints(max_length=120, pattern=_NO_CONTROL)]


class OrderLine(P):
    order_no: Id
    item: int = Field(ge=1, le=1000)  # the goods line, from 1
    goods: Goods


class RiskOrigin(OrderLine):
    origin: Short


class RiskHsCode(OrderLine):
    hs_code: Short
    prefix: Short


class RiskDeclaredValue(P):
    order_no: Id
    amount: Money
    limit: Money


class RiskTransitTime(P):
    order_no: Id
    transit_no: Id
    started_at: Id
    limit_h: float = Field(ge=0, le=1e6)


class RiskPrice(OrderLine):
    unit_price: Money
    reference: Money
    below_pct: float = Field(ge=0, le=100)


class RiskTracedOrigin(OrderLine):
    origin: Short
    traced_origin: Short


class RiskQuarantine(OrderLine):
    hs_code: Short


class RiskLongStorage(P):
    order_no: Id
    doc_no: Id
    declared_at: Id
    days: float = Field(ge=0, le=1e5)


class RiskHighValue(OrderLine):
    unit_price: Money
    limit: Money


class TransitArrived(P):
    transit_no: Id
    containers: Listed  # "-" when the transit declares none


class TransitPlate(P):
    transit_no: Id
    plate: Id  # the declared vehicle


class TransitContainers(P):
    transit_no: Id
    missing: Listed  # declared, not seen ("-": none)
    extra: Listed  # seen, not declared ("-": none)


class TransitSeal(P):
    transit_no: Id
    declared: Annotated[str, StringConstraints(max_length=40, pattern=_NO_CONTROL)]
    seal: Annotated[str, StringConstraints(max_length=40, pattern=_NO_CONTROL)]


class TransitDeclaredSeal(P):
    transit_no: Id
    declared: Annotated[str, StringConstraints(max_length=40, pattern=_NO_CONTROL)]


class Transits(P):
    transits: Listed


class Container(P):
    container: Id


class ContainerSizeType(P):
    container: Id
    size_type: Short  # ISO 6346 size/type code, "-" when not registered


class ContainerStatus(P):
    container: Id
    status: Short


class ContainerOtherOrder(P):
    container: Id
    order_no: Id
    plate: Id


class Carrier(P):
    carrier: Id


class CarrierGrade(P):
    carrier: Id
    grade: Short


class CarrierStatus(P):
    carrier: Id
    status: Short


class CarrierTime(P):
    carrier: Id
    at: Annotated[str, StringConstraints(max_length=40, pattern=_NO_CONTROL)]  # ISO 8601 timestamp


class Yard(P):
    yard: Id


class YardStatus(P):
    yard: Id
    status: Short


class YardTime(P):
    yard: Id
    at: Annotated[str, StringConstraints(max_length=40, pattern=_NO_CONTROL)]


class ContainerSize(P):
    container: Id
    size: Short  # nominal length in feet: 20, 40, 45
    sizes: Listed  # what the lane takes


class ContainerSizes(P):
    container: Id
    sizes: Listed


class Appointment(P):
    appointment_no: Id
    plate: Id


C = CheckCode
# code → (the check it belongs to, its parameters)
SPEC: dict[CheckCode, tuple[str, type[P]]] = {
    C.CONTROL_ORDER_HIT: ("control", ControlOrderHit),
    C.NO_CONTROL_ORDER: ("control", NoParams),
    C.DEVICE_FAULT: ("device", DeviceFault),
    C.WEIGHT_IMPOSSIBLE: ("device", GrossOnly),
    C.PLATE_NOT_READ: ("plate", NoParams),
    C.PLATE_LOW_CONFIDENCE: ("plate", PlateConfidence),
    C.PLATE_READ: ("plate", PlateConfidence),
    C.PLATE_ENTERED: ("plate", PlateEntered),
    C.CONTAINERS_NOT_READ: ("containers", Count),
    C.E_PLATE_MISMATCH: ("e_plate", EPlateMismatch),
    C.E_PLATE_MATCH: ("e_plate", NoParams),
    C.VEHICLE_NOT_VALID: ("vehicle", VehicleNotValid),
    C.VEHICLE_NOT_REGISTERED: ("vehicle", Plate),
    C.VEHICLE_REGISTERED: ("vehicle", VehicleRegistered),
    C.DRIVER_CARD_MISSING: ("driver", NoParams),
    C.DRIVER_CARD_INVALID: ("driver", Card),
    C.DRIVER_OK: ("driver", DriverOk),
    C.FACE_NOT_VERIFIED: ("face", NoParams),
    C.FACE_MATCH: ("face", FaceScore),
    C.FACE_MISMATCH: ("face", FaceScore),
    C.RELEASE_ORDER_VALID: ("release_order", OrderPlate),
    C.RELEASE_ORDER_MISSING: ("release_order", Plate),
    C.RELEASE_ORDER_OTHER_PLATE: ("release_order", OrderPlate),
    C.RELEASE_ORDER_WRONG_DIRECTION: ("release_order", OrderDirection),
    C.RELEASE_ORDER_NOT_YET_VALID: ("release_order", OrderTime),
    C.RELEASE_ORDER_EXPIRED: ("release_order", OrderTime),
    C.RELEASE_ORDER_CONTAINERS_MISSING: ("release_order", OrderContainers),
    C.RELEASE_ORDER_CONTAINERS_EXTRA: ("release_order", OrderContainers),
    C.RELEASE_ORDER_VALID_PART: ("release_order", OrderPart),
    C.RELEASE_ORDER_CONTAINER_ON_SEVERAL: ("release_order", ContainerOrders),
    C.RELEASE_ORDER_CONTAINERS_NOT_COVERED: ("release_order", Containers),
    C.WEIGHT_NOT_COMPARED: ("weight", GrossOnly),
    C.WEIGHT_WITHIN: ("weight", WeightCompared),
    C.WEIGHT_OVER: ("weight", WeightCompared),
    C.WEIGHT_UNDER: ("weight", WeightCompared),
    C.TARE_REGISTERED: ("weight", TareRegistered),
    C.TARE_MEASURED: ("weight", TareMeasured),
    C.DECLARED_GROSS: ("weight", DeclaredGross),
    C.NO_DECLARED_NET: ("weight", NoParams),
    C.NO_REGISTERED_TARE: ("weight", NoParams),
    C.NO_ENTRY_WEIGHING: ("weight", NoParams),
    C.WEIGHT_NOT_COMBINED: ("weight", Orders),
    C.TARE_OVER_GROSS: ("tare", TareOverGross),
    C.RANDOM_INSPECTION: ("random", Rate),
    C.RISK_RULE_HIT: ("risk", RiskRuleHit),
    C.E_SEAL_READ: ("e_seal", Seal),
    C.OFFICER_OVERRIDE: ("officer", OfficerNote),
    C.INSPECTION_PASSED: ("officer", OfficerNote),
    C.RELEASED_ON_DOCUMENTS: ("officer", OfficerNote),
    C.OFFICER_OVERRIDE_CONFIRMED: ("officer", OfficerConfirmed),
    C.INSPECTION_PASSED_CONFIRMED: ("officer", OfficerConfirmed),
    C.RELEASED_ON_DOCUMENTS_CONFIRMED: ("officer", OfficerConfirmed),
    C.CONTROL_DISPOSAL_RELEASED: ("officer", OfficerNote),
    C.BACKFILLED: ("officer", Officer),
    C.LEGACY_TEXT: ("other", LegacyText),
    C.RISK_ORIGIN: ("risk", RiskOrigin),
    C.RISK_HS_CODE: ("risk", RiskHsCode),
    C.RISK_DECLARED_VALUE: ("risk", RiskDeclaredValue),
    C.RISK_TRANSIT_TIME: ("risk", RiskTransitTime),
    C.RISK_PRICE: ("risk", RiskPrice),
    C.RISK_TRACED_ORIGIN: ("risk", RiskTracedOrigin),
    C.RISK_QUARANTINE: ("risk", RiskQuarantine),
    C.RISK_LONG_STORAGE: ("risk", RiskLongStorage),
    C.RISK_HIGH_VALUE: ("risk", RiskHighValue),
    C.E_SEAL_NONE: ("e_seal", NoParams),
    C.E_SEAL_TAMPERED: ("e_seal", Seal),
    C.E_SEAL_LOW_BATTERY: ("e_seal", Seal),
    C.TRANSIT_ARRIVED: ("transit", TransitArrived),
    C.TRANSIT_PLATE_MISMATCH: ("transit", TransitPlate),
    C.TRANSIT_CONTAINERS_MISMATCH: ("transit", TransitContainers),
    C.TRANSIT_SEAL_MISMATCH: ("transit", TransitSeal),
    C.TRANSIT_SEAL_NOT_READ: ("transit", TransitDeclaredSeal),
    C.TRANSIT_SEAL_NOT_CHECKED: ("transit", TransitDeclaredSeal),
    C.TRANSIT_SEVERAL: ("transit", Transits),
    C.INSPECTION_SEIZED: ("inspection", OfficerNote),
    C.INSPECTION_RETURNED: ("inspection", OfficerNote),
    C.INSPECTION_FURTHER: ("inspection", OfficerNote),
    C.INSPECTED_PASSED: ("inspected", InspectedMark),
    C.INSPECTED_SEIZED: ("inspected", InspectedMark),
    C.INSPECTED_RETURNED: ("inspected", InspectedMark),
    C.INSPECTED_FURTHER: ("inspected", InspectedMark),
}
SPEC |= {
    C.CONTAINER_REGISTERED: ("container_reg", ContainerSizeType),
    C.CONTAINER_NOT_REGISTERED: ("container_reg", Container),
    C.CONTAINER_NOT_VALID: ("container_reg", ContainerStatus),
    C.CONTAINER_ON_OTHER_ORDER: ("container_reg", ContainerOtherOrder),
    C.CARRIER_OK: ("carrier", CarrierGrade),
    C.CARRIER_UNKNOWN: ("carrier", Plate),
    C.CARRIER_NOT_REGISTERED: ("carrier", Carrier),
    C.CARRIER_NOT_VALID: ("carrier", CarrierStatus),
    C.CARRIER_NOT_YET_VALID: ("carrier", CarrierTime),
    C.CARRIER_EXPIRED: ("carrier", CarrierTime),
    C.CARRIER_GRADE_REFUSED: ("carrier", CarrierGrade),
    C.YARD_OK: ("yard", Yard),
    C.YARD_NOT_SET: ("yard", NoParams),
    C.YARD_NOT_REGISTERED: ("yard", Yard),
    C.YARD_NOT_VALID: ("yard", YardStatus),
    C.YARD_EXPIRED: ("yard", YardTime),
    C.LANE_SIZE_ALLOWED: ("lane", ContainerSize),
    C.LANE_SIZE_NOT_ALLOWED: ("lane", ContainerSize),
    C.LANE_SIZE_UNKNOWN: ("lane", ContainerSizes),
    C.LANE_CONTAINERS_ONLY: ("lane", NoParams),
    C.LANE_NO_CONTAINERS: ("lane", Containers),
    C.LANE_INSPECTION: ("lane", NoParams),
    C.LANE_NOT_SELECTING: ("lane", NoParams),
    C.APPOINTMENT_OK: ("appointment", Appointment),
    C.APPOINTMENT_MISSING: ("appointment", Plate),
}

# Codes central counts (kakou.central.stats) and raises alerts for (kakou.central.projections).
HIT_CODES = frozenset({C.CONTROL_ORDER_HIT, C.RISK_RULE_HIT})
DEVICE_CODES = frozenset({C.DEVICE_FAULT, C.WEIGHT_IMPOSSIBLE})
WEIGHT_ANOMALY_CODES = frozenset({C.WEIGHT_OVER, C.WEIGHT_UNDER})
# An inspection result recorded at a lane (a check of the pass that records it): every result, and
# the final ones (a further inspection is not one). Central's seizure rate is seized / final.
INSPECTION_RESULTS: dict[CheckCode, str] = {
    C.INSPECTION_PASSED: "passed",
    C.INSPECTION_PASSED_CONFIRMED: "passed",
    C.INSPECTION_SEIZED: "seized",
    C.INSPECTION_RETURNED: "returned",
    C.INSPECTION_FURTHER: "further_inspection",
}
INSPECTION_RESULT_CODES = frozenset(INSPECTION_RESULTS)
INSPECTION_FINAL_CODES = INSPECTION_RESULT_CODES - {C.INSPECTION_FURTHER}

ParamValue = str | int | float | bool | None


class Finding(BaseModel):
    """A code and its parameters: one reason of a decision."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: CheckCode
    params: dict[str, ParamValue] = Field(default_factory=dict, max_length=16)

    @model_validator(mode="after")
    def _typed(self) -> Finding:
        model = SPEC[self.code][1]
        checked = model.model_validate(self.params).model_dump(exclude_none=True)
        object.__setattr__(self, "params", checked)  # frozen: normalise once, at validation
        return self

    @property
    def group(self) -> str:
        """The check this finding belongs to (plate, weight, control, …)."""
        if self.code is C.LEGACY_TEXT:
            return str(self.params.get("name") or "other")
        return SPEC[self.code][0]

    def text(self, lang: str = "zh") -> str:
        return render(self.code, self.params, lang)


class Check(Finding):
    """One check of a decision: `name` is the check it belongs to, set from the code."""

    name: str = Field(default="", max_length=24)
    ok: bool

    @model_validator(mode="after")
    def _name(self) -> Check:
        object.__setattr__(self, "name", self.group)
        return self

    def finding(self) -> Finding:
        return Finding(code=self.code, params=self.params)


def _fit(code: CheckCode, params: dict[str, Any]) -> dict[str, Any]:
    """Cut texts to their bound and bring numbers within theirs (a face score below 0, a weight
    reading of 10⁹ kg): what a lane observed is never a reason to fail deciding."""
    fields = SPEC[code][1].model_fields
    out = dict(params)
    for key, value in params.items():
        meta = fields[key].metadata if key in fields else []

        def bound(name: str, meta: list[Any] = meta) -> Any:
            return next((getattr(m, name) for m in meta if getattr(m, name, None) is not None), None)

        if isinstance(value, str):
            value = "".join(ch if ch >= " " and ch != "\x7f" else " " for ch in value)  # no control characters
            if (limit := bound("max_length")) is not None and len(value) > limit:
                value = value[: limit - 1] + "…"
            out[key] = value
        elif isinstance(value, float | int) and not isinstance(value, bool):
            low, high = bound("ge"), bound("le")
            if value != value:  # NaN
                value = low if low is not None else 0.0
            if low is not None and value < low:
                value = low
            if high is not None and value > high:
                value = high
            out[key] = value
    return out


def check(code: CheckCode, ok: bool, **params: Any) -> Check:
    """A check found at the lane (long texts cut to their bound)."""
    return Check(code=code, ok=ok, params=_fit(code, params))


def finding(code: CheckCode, **params: Any) -> Finding:
    """A finding made at the lane (long texts cut to their bound)."""
    return Finding(code=code, params=_fit(code, params))


# ---- texts ----------------------------------------------------------------------------------------
# The texts live in check_texts.toml beside this module: {code: (中文, English)} for every check
# code, and the checks' names as the screens head each check row. {name} is a parameter;
# {name:.2f}, {name:+.0f}, {name:.0%} are the only format specifications used, and the browser's
# renderer (kakou-ui.js, K.finding) knows exactly these. The English texts are the sentences lanes
# sent before version 2, so an old recorded pass replays to the same words.


def text_tables(package: str, name: str) -> dict[str, dict[str, tuple[str, str]]]:
    """The tables of a texts file (TOML) shipped in `package`: `[table.key]` with `zh` and `en`
    becomes `{table: {key: (zh, en)}}`, in the file's order."""
    return text_tables_of(resources.files(package).joinpath(name).read_text(encoding="utf-8"))


def text_tables_of(toml: str) -> dict[str, dict[str, tuple[str, str]]]:
    """`text_tables` of a texts file's content (the UI words' files are read by path)."""
    data = tomllib.loads(toml)
    return {table: {key: (t["zh"], t["en"]) for key, t in rows.items()} for table, rows in data.items()}


_TABLES = text_tables("kakou.sync", "check_texts.toml")
TEXTS: dict[CheckCode, tuple[str, str]] = {CheckCode(code): t for code, t in _TABLES["check"].items()}
GROUPS: dict[str, tuple[str, str]] = _TABLES["group"]

FORMATS = {"", ".0f", ".2f", "+.0f", ".0%"}  # what K.finding in kakou-ui.js can render too


def render(code: CheckCode | str, params: dict[str, Any], lang: str = "zh") -> str:
    """The text of a finding in Chinese (default) or English; never raises."""
    try:
        zh, en = TEXTS[CheckCode(code)]
    except ValueError:
        return str(code)
    template = en if lang == "en" else zh
    out: list[str] = []
    for literal, field, spec, _ in string.Formatter().parse(template):
        out.append(literal)
        if field is None:
            continue
        value = params.get(field)
        try:
            out.append(format(value, spec or "") if value is not None else "-")
        except (TypeError, ValueError):
            out.append(str(value))
    return "".join(out)


def render_all(findings: list[Finding], lang: str = "zh", sep: str = "；") -> str:
    return sep.join(f.text(lang) for f in findings)


def texts_script() -> str:
    """The dictionary for the browsers, as a script that adds it to the UI helpers' terms
    (`K.addTerms`, `{key: [english, chinese]}`): `check.{code}` and `check_group.{name}`."""
    terms = {f"check.{c.value}": [en, zh] for c, (zh, en) in TEXTS.items()}
    terms |= {f"check_group.{g}": [en, zh] for g, (zh, en) in GROUPS.items()}
    groups = {c.value: group for c, (group, _) in SPEC.items()}
    return (
        "/* Generated from kakou.sync.checks.TEXTS: the texts of every check code. */\n"
        f"K.addTerms({json.dumps(terms, ensure_ascii=False, indent=0)});\n"
        f"Object.assign(K.checkGroups, {json.dumps(groups)});\n"
    )


# ---- pass records from lanes older than envelope version 2 --------------------------------------


def upgrade_checks(items: Any) -> Any:
    """Old `{name, ok, detail}` checks become `LEGACY_TEXT` checks; anything else passes through
    (and fails validation). Only a well-formed old check is upgraded: a detail that is not text
    (a number, NaN) is refused, not turned into text."""
    if not isinstance(items, list):
        return items
    return [
        {
            "code": C.LEGACY_TEXT.value,
            "ok": c["ok"],
            "params": {"name": str(c.get("name") or "other")[:24], "text": c["detail"][:1000]},
        }
        if _old_check(c)
        else c
        for c in items
    ]


def _old_check(c: Any) -> bool:
    return (
        isinstance(c, dict)
        and "code" not in c
        and isinstance(c.get("detail"), str)
        and isinstance(c.get("ok"), bool)
        and isinstance(c.get("name", ""), str)
    )


def upgrade_reasons(items: Any) -> Any:
    """Old sentence reasons become `LEGACY_TEXT` findings."""
    if not isinstance(items, list):
        return items
    return [{"code": C.LEGACY_TEXT.value, "params": {"text": r[:1000]}} if isinstance(r, str) else r for r in items]


def checks_in(record: Any) -> list[Check]:
    """The checks of a stored pass record (a dict, as central keeps it), old sentences included;
    an item that is not a valid check is left out, never an error."""
    items = upgrade_checks(record.get("checks")) if isinstance(record, dict) else None
    return [c for c in (_valid(Check, i) for i in (items if isinstance(items, list) else [])) if c is not None]


def reasons_in(record: Any) -> list[Finding]:
    """The reasons of a stored pass record, like `checks_in`."""
    items = upgrade_reasons(record.get("reasons")) if isinstance(record, dict) else None
    return [f for f in (_valid(Finding, i) for i in (items if isinstance(items, list) else [])) if f is not None]


def _valid(model: type[T], item: Any) -> T | None:
    try:
        return model.model_validate(item)
    except ValidationError:
        return None


def failed_with(item: Any, codes: frozenset[CheckCode], *old_names: str) -> bool:
    """Whether a stored check (a dict, not validated: for counting many) failed with one of
    `codes`, or is a version-1 check that failed under one of its `old_names`."""
    if not isinstance(item, dict) or item.get("ok") is not False:
        return False
    code = item.get("code", C.LEGACY_TEXT.value)
    return code in codes or (code == C.LEGACY_TEXT.value and item.get("name") in old_names)


def legacy(findings: list[Finding]) -> bool:
    return bool(findings) and all(f.code is C.LEGACY_TEXT for f in findings)
