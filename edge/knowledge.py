"""The lane's view of the knowledge cache: what decide() needs of each kind of central record.

Central's records may carry more fields than a lane uses; these models ignore the rest, so a
central upgrade that adds fields never breaks a lane that has not been upgraded yet.
"""

from __future__ import annotations

import json
from datetime import datetime
from typing import Literal

from pydantic import AliasChoices, BaseModel, ConfigDict, Field, ValidationError

from kakou.sync.messages import ReleaseOrderData


class _View(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class ControlOrder(_View):
    """A control order (布控) on a container, a vehicle or a driver."""

    order_no: str = Field(validation_alias=AliasChoices("order_no", "id", "key"))
    target: Literal["container", "vehicle", "driver"] = Field(
        validation_alias=AliasChoices("target", "target_kind"))
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


def parse_rows(model: type[_View], rows: list[tuple[str]]) -> list:  # type: ignore[type-arg]
    """Parse cached records, skipping any this lane cannot understand (logged by the caller)."""
    out = []
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
