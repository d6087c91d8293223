"""What central publishes to the lanes besides release orders: the `data` of a `Change`, per kind.

Central validates with these models before it writes a change; a lane may read them with more
lenient views (kakou.edge.knowledge) so that a field added here never breaks an older lane.
A withdrawn record (revoked or expired control order, deleted registration, retired rule) is
published as `data=None`: the lane drops it from its cache.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kakou.sync import limits
from kakou.sync.messages import ChangeKind, Outcome


class _Data(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


TargetKind = Literal["container", "vehicle", "driver"]
ControlOrderType = Literal["general", "random", "key_person", "risk_vehicle"]  # 布控类型


class ControlOrderData(_Data):
    """A control order (布控) a lane must enforce; key = order_no."""

    order_no: str
    target_kind: TargetKind
    target_value: str  # container number, plate, or driver IC card id
    action: Literal["hold", "inspect"]
    status: Literal["active", "emergency"]  # emergency: in force before review
    emergency: bool = False
    valid_from: datetime
    valid_until: datetime
    reason: str
    order_type: ControlOrderType = "general"  # 随机 / 重点人员 / 风险车辆
    random_rate: float | None = Field(None, gt=0, le=1)  # random: the share of the target's passes stopped


class CarrierRegistration(_Data):
    """A carrier / enterprise (运输企业); key = code."""

    code: str
    name: str
    credit_grade: Literal["AA", "A", "B", "C", "D"] = "B"  # customs enterprise credit classes
    status: Literal["active", "suspended", "revoked"] = "active"
    valid_until: datetime | None = None
    valid_from: datetime | None = None

    @model_validator(mode="after")
    def _window(self) -> CarrierRegistration:
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        return self


class VehicleRegistration(_Data):
    """key = plate."""

    plate: str
    e_plate: str | None = None  # RFID tag id
    tare_kg: float | None = Field(None, ge=0)  # registered tare
    carrier: str | None = None
    status: Literal["active"] = "active"
    valid_until: datetime | None = None
    # its vehicle terminal (车载终端): positions on transit arrive under this id (kakou.sync.topics.POSITION)
    terminal: str | None = Field(None, max_length=64, pattern=r"^[A-Za-z0-9_.-]+$")


class DriverRegistration(_Data):
    """key = driver_id."""

    driver_id: str
    ic_card: str
    name: str = ""
    photo_ref: str | None = None  # sha256 or URL of the registered photo, for 1:1 face checks
    carrier: str | None = None
    status: Literal["active"] = "active"
    valid_until: datetime | None = None


class ContainerRegistration(_Data):
    """key = container number (ISO 6346)."""

    container_no: str = Field(min_length=1, max_length=11)
    # ISO 6346 size/type code, e.g. 22G1 (20'), 45G1 (40' high cube), L5G1 (45'): the lane's size limits read it
    size_type: str | None = Field(None, pattern=r"^[0-9A-Z]{2}[A-Z][0-9A-Z]$")
    tare_kg: float | None = Field(None, ge=0)
    owner: str | None = None
    status: Literal["active", "suspended", "scrapped"] = "active"


class YardRegistration(_Data):
    """A customs-supervised yard (场站); key = code."""

    code: str
    name: str
    site: str | None = None
    status: Literal["active", "suspended"] = "active"
    valid_until: datetime | None = None  # the yard's customs supervision approval


class LaneParameters(_Data):
    """The parameter library (参数库) for one lane, or for every lane (key "*")."""

    scope: str = "*"
    weight_tolerance_kg: float = Field(500.0, ge=0)
    weight_tolerance_pct: float = Field(3.0, ge=0, le=100)
    tare_mode: Literal["registered", "measured", "declared"] = "registered"
    random_inspection_rate: float = Field(0.0, ge=0, le=1)
    transit_time_limit_h: float = Field(48.0, gt=0)
    # vehicles on transit: off the declared route by more than this is a deviation; stopped longer
    # than this is an alert (both raised at central from the vehicle terminals' positions)
    route_corridor_m: float = Field(2000.0, gt=0)
    stop_limit_min: float = Field(30.0, gt=0)
    min_plate_confidence: float = Field(0.80, ge=0, le=1)
    require_registered_vehicle: bool = False
    require_driver_card: bool = False
    # legality (合法性) of container, carrier and yard (004 parameter library 6)
    require_registered_container: bool = False
    require_valid_carrier: bool = False
    refused_carrier_grades: list[Literal["AA", "A", "B", "C", "D"]] = Field(default_factory=list, max_length=5)
    require_yard: bool = False


class ControlDisposalData(_Data):
    """Central's disposal of a control-order hit that releases the held vehicle; key = pass_id."""

    pass_id: str
    lane: str
    release: bool
    by: str  # the central user who disposed of the hit
    disposal: str  # how, as they wrote it: the reason the lane records
    alert_id: int


class TransitData(_Data):
    """An open transit (转关) for the lanes of its destination site to check on arrival; key = transit_no."""

    transit_no: str
    plate: str
    containers: list[str] = Field(default_factory=list)
    e_seal: str | None = None  # the declared electronic seal (电子关锁), None if none was declared
    entry_site: str
    destination_site: str
    status: Literal["declared", "en_route", "overdue"] = "declared"


INSPECTION_MARK_VALID_H = 24  # a lane judges a returning truck against a result this recent, no older


class InspectionMarkData(_Data):
    """The latest inspection result for a vehicle (kakou.edge.inspections.InspectionMark); key = plate."""

    result: Literal["passed", "seized", "returned", "further_inspection"]
    plate: str = Field(max_length=limits.PLATE)
    containers: list[Annotated[str, Field(max_length=limits.CONTAINER_NO)]] = Field(
        default_factory=list, max_length=limits.MAX_CONTAINERS
    )
    officer: str = Field(max_length=limits.USERNAME)
    note: str = Field("", max_length=limits.NOTE)
    at: datetime
    pass_id: str = Field(max_length=limits.PASS_ID)
    node: str = Field(max_length=limits.NODE_ID)
    lane: str = Field(max_length=limits.LANE_ID)


# -- risk rules as data --------------------------------------------------------------------------


class WeightDeviation(_Data):
    kind: Literal["weight_deviation"] = "weight_deviation"
    over_pct: float | None = Field(None, ge=0)
    over_kg: float | None = Field(None, ge=0)

    @model_validator(mode="after")
    def _one_limit(self) -> WeightDeviation:
        if self.over_pct is None and self.over_kg is None:
            raise ValueError("give over_pct or over_kg")
        return self


class OriginIn(_Data):
    kind: Literal["origin"] = "origin"
    countries: list[str] = Field(min_length=1)  # ISO 3166 alpha-2


class HsCodePrefix(_Data):
    kind: Literal["hs_code"] = "hs_code"
    prefixes: list[str] = Field(min_length=1)


class CarrierCredit(_Data):
    kind: Literal["carrier_credit"] = "carrier_credit"
    grades: list[Literal["AA", "A", "B", "C", "D"]] = Field(min_length=1)


class WatchList(_Data):
    kind: Literal["watch_list"] = "watch_list"
    target_kind: TargetKind
    values: list[str] = Field(min_length=1)


class TransitTime(_Data):
    kind: Literal["transit_time"] = "transit_time"
    over_hours: float = Field(gt=0)


class RandomSelection(_Data):
    kind: Literal["random"] = "random"
    rate: float = Field(ge=0, le=1)


class DeclaredValue(_Data):
    """The order's goods lines are worth more than `over_amount` in all (the declared amounts)."""

    kind: Literal["declared_value"] = "declared_value"
    over_amount: float = Field(gt=0, le=1e13)


RiskTagName = Literal["price", "traced_origin", "quarantine", "long_storage", "high_value"]


class RiskTag(_Data):
    """Seed 001's risk tags, with their thresholds as parameters:

    - price (价格异常): a goods line's unit price (amount ÷ quantity) below `reference_unit_price`
      by more than `below_pct` %;
    - traced_origin (原产地不一致): a goods line's declared origin differs from its traced origin;
    - quarantine (未检疫): a goods line that needs quarantine (under `hs_prefixes`) has no batch number;
    - long_storage (长期滞留): a declaration of the order was declared more than `days_over` days before;
    - high_value (有高价值): a goods line's unit price is over `unit_price_over`.

    `hs_prefixes` narrows price, high_value and quarantine to those goods (none: every line).
    """

    kind: Literal["risk_tag"] = "risk_tag"
    tag: RiskTagName
    hs_prefixes: list[str] = Field(default_factory=list, max_length=100)
    reference_unit_price: float | None = Field(None, gt=0, le=1e12)
    below_pct: float = Field(0.0, ge=0, le=100)
    unit_price_over: float | None = Field(None, gt=0, le=1e12)
    days_over: float | None = Field(None, gt=0, le=36500)

    @model_validator(mode="after")
    def _params(self) -> RiskTag:
        need = {"price": "reference_unit_price", "high_value": "unit_price_over", "long_storage": "days_over"}
        field = need.get(self.tag)
        if field and getattr(self, field) is None:
            raise ValueError(f"the {self.tag} tag needs {field}")
        if self.tag == "quarantine" and not self.hs_prefixes:
            raise ValueError("the quarantine tag needs hs_prefixes: the goods that must be quarantined")
        return self


Condition = Annotated[
    WeightDeviation
    | OriginIn
    | HsCodePrefix
    | CarrierCredit
    | WatchList
    | TransitTime
    | RandomSelection
    | DeclaredValue
    | RiskTag,
    Field(discriminator="kind"),
]
# Conditions on the declaration side: central evaluates them on each release order and publishes
# what it found with the order (kakou.central.risk_eval); the lane reads that verdict.
CENTRAL_CONDITIONS = frozenset({"origin", "hs_code", "transit_time", "declared_value", "risk_tag"})


class RiskRule(_Data):
    """A versioned risk rule; it fires when every condition holds; key = rule_id."""

    rule_id: str
    version: int = Field(ge=1)
    name: str
    conditions: list[Condition] = Field(min_length=1)
    outcome: Outcome  # the outcome the rule forces
    explanation: str  # shown to the officer when the rule fires
    priority: int = 100  # lower first, when two rules force different outcomes


# -- the lane's own settings and appointments ------------------------------------------------------

GateRole = Literal["gate", "pre_judgment", "release_control", "post_inspection", "inspection"]
ContainerSize = Literal["10", "20", "30", "40", "45", "48"]


class LaneSettings(_Data):
    """A lane's settings as central registers them (kakou.central.registry.LaneRegistration),
    published on its node's stream; key = lane id. They override the node's configuration.

    gate_role (002): "gate" an ordinary gate that does every check; "pre_judgment" (预判) routes
    to release / officer / inspection and draws the random selection; "release_control" (放行控制)
    and "post_inspection" (查验后放行) do not draw it again; "inspection" (查验通道) never releases
    by itself: the inspecting officer decides.
    """

    lane: str = Field(min_length=1, max_length=20)
    direction: Literal["in", "out"]
    lane_class: Literal["A", "B", "C"] = "A"
    gate_role: GateRole = "gate"
    cargo_types: list[Literal["container", "bulk"]] = Field(default_factory=list, max_length=2)  # empty: any
    allowed_sizes: list[ContainerSize] = Field(default_factory=list, max_length=6)  # empty: any
    appointment_required: bool = False  # a yard entry that takes trucks by appointment (预约) only
    yard: str | None = Field(None, max_length=40)  # the yard (场站) the lane serves


class AppointmentRegistration(_Data):
    """A truck's appointment (预约) at a site; key = appointment_no."""

    appointment_no: str = Field(min_length=1, max_length=40)
    plate: str = Field(min_length=1, max_length=16)
    site: str | None = Field(None, max_length=40)  # only that site's lanes get it (none: every lane)
    valid_from: datetime
    valid_until: datetime
    driver_name: str = Field("", max_length=40)
    status: Literal["booked", "cancelled"] = "booked"

    @model_validator(mode="after")
    def _window(self) -> AppointmentRegistration:
        if self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        return self


class OfficerPin(_Data):
    """A lane officer as central manages them (key = officer id): the PIN only as a salted scrypt
    hash (never the PIN), or revoked — which also overrides an officer of the same id in a lane's
    own config file."""

    officer: str = Field(pattern=r"^[A-Za-z0-9_.-]{1,32}$")
    name: str = Field("", max_length=64)
    pin_hash: str = Field("", pattern=r"^(scrypt\$[0-9a-f]{32}\$[0-9a-f]{128})?$")
    revoked: bool = False


# Which model validates the data of each kind of change (release orders: kakou.sync.messages).
DATA_MODELS: dict[ChangeKind, type[BaseModel]] = {
    ChangeKind.CONTROL_ORDER: ControlOrderData,
    ChangeKind.CARRIER: CarrierRegistration,
    ChangeKind.VEHICLE: VehicleRegistration,
    ChangeKind.DRIVER: DriverRegistration,
    ChangeKind.CONTAINER: ContainerRegistration,
    ChangeKind.YARD: YardRegistration,
    ChangeKind.PARAMETERS: LaneParameters,
    ChangeKind.RISK_RULE: RiskRule,
    ChangeKind.CONTROL_DISPOSAL: ControlDisposalData,
    ChangeKind.TRANSIT: TransitData,
    ChangeKind.INSPECTION: InspectionMarkData,
    ChangeKind.LANE: LaneSettings,
    ChangeKind.APPOINTMENT: AppointmentRegistration,
    ChangeKind.OFFICER: OfficerPin,
}
