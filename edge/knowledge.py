"""The lane's view of the knowledge cache: what decide() needs of each kind of central record.

Central's records may carry more fields than a lane uses; these models ignore the rest, so a
central upgrade that adds fields never breaks a lane that has not been upgraded yet.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Literal, TypeVar

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from kakou.sync.messages import ReleaseOrderData

Model = TypeVar("Model", bound=BaseModel)


class _View(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ControlOrder(_View):
    """A control order (布控) on a container, a vehicle or a driver."""

    order_no: str = Field(validation_alias=AliasChoices("order_no", "id", "key"))
    target: Literal["container", "vehicle", "driver"] = Field(validation_alias=AliasChoices("target", "target_kind"))
    value: str = Field(validation_alias=AliasChoices("value", "target_value"))
    action: Literal["hold", "inspect"] = "inspect"
    status: str = "active"
    emergency: bool = False
    valid_from: datetime | None = None
    valid_until: datetime | None = None
    reason: str = ""
    order_type: str = "general"  # 布控类型 (random, key_person, risk_vehicle)
    random_rate: float | None = None  # a random order stops this share of the target's passes

    def applies(self, at: datetime) -> bool:
        if self.status not in ("active", "emergency"):
            return False
        started = self.valid_from is None or self.valid_from <= at
        return started and (self.valid_until is None or at <= self.valid_until)


class VehicleReg(_View):
    plate: str
    e_plate: str | None = None
    tare_kg: float | None = None
    carrier: str | None = None
    status: str = "active"
    valid_until: datetime | None = None

    def valid_at(self, at: datetime) -> bool:
        return self.status == "active" and (self.valid_until is None or at <= self.valid_until)


class DriverReg(_View):
    driver_id: str = Field(validation_alias=AliasChoices("driver_id", "id"))
    ic_card: str
    name: str = ""
    photo_ref: str | None = None  # file name of the registered photo in the node's faces directory
    status: str = "active"
    valid_until: datetime | None = None

    def valid_at(self, at: datetime) -> bool:
        return self.status == "active" and (self.valid_until is None or at <= self.valid_until)


# Change kinds in the cache (values of kakou.sync.messages.ChangeKind) for each view.
KIND_RELEASE_ORDER = "release_order"
KIND_CONTROL_ORDER = "control_order"
KIND_VEHICLE = "vehicle"
KIND_DRIVER = "driver"
KIND_CONTAINER = "container"


def parse_rows(model: type[Model], rows: list[tuple[str]]) -> list[Model]:
    """Parse cached records, skipping any this lane cannot understand (logged by the caller)."""
    out: list[Model] = []
    for (data,) in rows:
        try:
            out.append(model.model_validate(json.loads(data)))
        except (ValidationError, ValueError):
            continue
    return out


def parse_release_orders(rows: list[tuple[str]]) -> list[ReleaseOrderData]:
    """Release orders from the cache; fields a later central adds are left out, not a reason to
    drop the order (the wire contract itself stays strict)."""
    out = []
    known = set(ReleaseOrderData.model_fields)
    for (data,) in rows:
        try:
            raw = json.loads(data)
            out.append(ReleaseOrderData.model_validate({k: v for k, v in raw.items() if k in known}))
        except (ValidationError, ValueError, AttributeError):
            continue
    return out


class ContainerReg(_View):
    """A registered container (集装箱备案): its tare counts in the registered tare mode."""

    container_no: str = Field(validation_alias=AliasChoices("container_no", "key"))
    size_type: str | None = None
    tare_kg: float | None = None
    status: str = "active"


class EntryWeighing(_View):
    """The same vehicle's last weighing on entry at this node (the measured tare at an exit lane)."""

    pass_id: str
    gross_kg: float
    at: datetime


KIND_TRANSIT = "transit"


class TransitView(_View):
    """An open transit (转关) whose destination is this site: what the arriving truck must match."""

    transit_no: str = Field(validation_alias=AliasChoices("transit_no", "key"))
    plate: str
    containers: list[str] = Field(default_factory=list)
    e_seal: str | None = None


KIND_CARRIER = "carrier"
KIND_YARD = "yard"
KIND_LANE = "lane"
KIND_APPOINTMENT = "appointment"


def _within(at: datetime, start: datetime | None, end: datetime | None) -> bool:
    return (start is None or start <= at) and (end is None or at <= end)


class CarrierReg(_View):
    """A registered carrier (运输企业): status, validity and customs credit grade."""

    code: str = Field(validation_alias=AliasChoices("code", "key"))
    credit_grade: str | None = None
    status: str = "active"
    valid_from: datetime | None = None
    valid_until: datetime | None = None


class YardReg(_View):
    """A registered customs-supervised yard (场站)."""

    code: str = Field(validation_alias=AliasChoices("code", "key"))
    status: str = "active"
    valid_until: datetime | None = None


class AppointmentReg(_View):
    """A truck's appointment (预约) at a yard entry."""

    appointment_no: str
    plate: str
    valid_from: datetime
    valid_until: datetime
    status: str = "booked"

    def valid_at(self, at: datetime) -> bool:
        return self.status == "booked" and _within(at, self.valid_from, self.valid_until)


class OtherOrder(_View):
    """An open release order of another vehicle that lists a container seen on this one."""

    container: str
    order_no: str
    plate: str
    direction: str | None = None
    valid_until: datetime | None = None


class LaneSettingsView(_View):
    """The lane's settings from central (kakou.sync.knowledge.LaneSettings)."""

    direction: Literal["in", "out"] | None = None
    lane_class: Literal["A", "B", "C"] | None = None
    gate_role: str | None = None
    cargo_types: list[str] | None = None
    allowed_sizes: list[str] | None = None
    appointment_required: bool | None = None
    yard: str | None = None


# ISO 6346 size code (first character of the size/type code) → nominal length in feet.
_LENGTHS = {"1": "10", "2": "20", "3": "30", "4": "40", "L": "45", "M": "48"}


def container_size(size_type: str | None) -> str | None:
    """The nominal length ("20", "40", "45"…) of an ISO 6346 size/type code, None if unknown."""
    return _LENGTHS.get(size_type[0]) if size_type else None
