"""Registrations: carriers, vehicles, drivers, containers, yards (published to the lanes) and
sites, lanes, devices (central's own). Records are flagged deleted, never removed; a deleted
record is withdrawn from the lanes.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from kakou.central import audit
from kakou.central.db import page
from kakou.central.service import Central, Conflict, NotFound
from kakou.central.tables import RegistrationRow
from kakou.sync import topics
from kakou.sync.knowledge import (
    AppointmentRegistration,
    CarrierRegistration,
    ContainerRegistration,
    ContainerSize,
    DriverRegistration,
    GateRole,
    LaneSettings,
    VehicleRegistration,
    YardRegistration,
)
from kakou.sync.messages import ChangeKind


class _Reg(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SiteRegistration(_Reg):
    code: str = Field(min_length=1, max_length=40)
    name: str
    customs_office: str | None = None  # the office (关区) the site belongs to


class LaneSettingsIn(_Reg):
    """A lane's registration less its node and lane id (which name it): what central sets for it."""

    site: str = Field(min_length=1, max_length=40)
    direction: Literal["in", "out"]
    lane_class: Literal["A", "B", "C"] = "A"
    # What the lane checks (sent to its node as LaneSettings): gate role (002), the cargo types and
    # container sizes it may pass (empty: any), whether trucks need an appointment, its yard.
    gate_role: GateRole = "gate"
    cargo_types: list[Literal["container", "bulk"]] = Field(default_factory=list, max_length=2)
    allowed_sizes: list[ContainerSize] = Field(default_factory=list, max_length=6)
    appointment_required: bool = False
    yard: str | None = Field(None, min_length=1, max_length=40)


class LaneRegistration(LaneSettingsIn):
    node: str = Field(min_length=1, max_length=40)  # edge node id
    lane: str = Field(min_length=1, max_length=20)  # lane id on that node

    def settings(self) -> LaneSettings:
        return LaneSettings(
            lane=self.lane,
            direction=self.direction,
            lane_class=self.lane_class,
            gate_role=self.gate_role,
            cargo_types=sorted(set(self.cargo_types)),
            allowed_sizes=sorted(set(self.allowed_sizes), key=int),
            appointment_required=self.appointment_required,
            yard=self.yard,
        )


class DeviceRegistration(_Reg):
    device_id: str = Field(min_length=1, max_length=64)
    device_kind: Literal[
        "plate_camera",
        "container_camera",
        "weighbridge",
        "rfid",
        "ic_card",
        "barrier",
        "loop",
        "light",
        "display",
        "e_seal",
        "face_camera",
        "io_module",
    ]
    node: str
    lane: str | None = None
    model: str = ""
    address: str = ""  # serial port, IP:port…


Kind = Literal["carrier", "vehicle", "driver", "container", "yard", "site", "lane", "device", "appointment"]

MODELS: dict[str, type[BaseModel]] = {
    "carrier": CarrierRegistration,
    "vehicle": VehicleRegistration,
    "driver": DriverRegistration,
    "container": ContainerRegistration,
    "yard": YardRegistration,
    "site": SiteRegistration,
    "lane": LaneRegistration,
    "device": DeviceRegistration,
    "appointment": AppointmentRegistration,
}
# Kinds the lanes hold in their cache (the rest only central needs).
PUBLISHED: dict[str, ChangeKind] = {
    "carrier": ChangeKind.CARRIER,
    "vehicle": ChangeKind.VEHICLE,
    "driver": ChangeKind.DRIVER,
    "container": ChangeKind.CONTAINER,
    "yard": ChangeKind.YARD,
    "appointment": ChangeKind.APPOINTMENT,
}
# Which field of another kind a record refers to must be registered (and not deleted).
REFERENCES: dict[str, list[tuple[str, str]]] = {
    "vehicle": [("carrier", "carrier")],
    "driver": [("carrier", "carrier")],
    "lane": [("site", "site"), ("yard", "yard")],
    "yard": [("site", "site")],
    "appointment": [("site", "site")],
}


def key_of(kind: str, rec: BaseModel) -> str:
    d = rec.model_dump()
    match kind:
        case "vehicle":
            return str(d["plate"])
        case "driver":
            return str(d["driver_id"])
        case "container":
            return str(d["container_no"])
        case "lane":
            return f"{d['node']}/{d['lane']}"
        case "device":
            return str(d["device_id"])
        case "appointment":
            return str(d["appointment_no"])
        case _:
            return str(d["code"])


def validate(kind: str, data: dict[str, Any]) -> BaseModel:
    model = MODELS.get(kind)
    if model is None:
        raise ValueError(f"unknown registration kind {kind!r}; one of {', '.join(MODELS)}")
    return model.model_validate(data)


def upsert(
    c: Central, actor: str, kind: str, data: dict[str, Any], expect_revision: int | None = None
) -> RegistrationRow:
    """Create or update; `expect_revision` guards against overwriting someone else's edit."""
    rec = validate(kind, data)
    key = key_of(kind, rec)
    stored = rec.model_dump(mode="json")
    with audit.write(c, actor) as w:
        s = w.session
        for field, ref_kind in REFERENCES.get(kind, []):
            ref = stored.get(field)
            if ref and not _live(s, ref_kind, ref):
                raise ValueError(f"{field} {ref!r} is not a registered {ref_kind}")
        row = s.scalar(select(RegistrationRow).where(RegistrationRow.kind == kind, RegistrationRow.key == key))
        if row is not None and expect_revision is not None and row.revision != expect_revision:
            raise Conflict(f"{kind} {key} was changed meanwhile (revision {row.revision})")
        if row is None:
            row = RegistrationRow(kind=kind, key=key, data=stored, revision=1, updated_by=actor)
            s.add(row)
            action = "create"
        else:
            row.data, row.revision, row.deleted = stored, row.revision + 1, False
            row.updated_by, row.updated_at = actor, datetime.now(UTC)
            action = "update"
        if kind in PUBLISHED:
            w.publish(PUBLISHED[kind], key, stored, _scope(kind, stored))
        if isinstance(rec, LaneRegistration):
            _publish_lane(w, rec)
        w.audit(f"registration.{action}", f"{kind}:{key}", stored)
        s.flush()
    return row


def _scope(kind: str, stored: dict[str, Any]) -> str | None:
    """An appointment goes to its site's lanes only; everything else keeps its usual scope."""
    if kind == "appointment":
        return topics.site_stream(str(stored["site"])) if stored.get("site") else topics.BROADCAST
    return None


def _publish_lane(w: audit.Work, rec: LaneRegistration) -> None:
    """A lane's settings go to its node alone (its own stream), keyed by the lane id it looks up."""
    if not topics.NAME.match(rec.node):
        raise ValueError(f"node {rec.node!r} cannot be sent settings: use letters, digits, '.', '_' or '-'")
    w.publish(ChangeKind.LANE, rec.lane, rec.settings().model_dump(mode="json"), topics.node_stream(rec.node))


def _live(s: Any, kind: str, key: str) -> bool:
    return (
        s.scalar(
            select(RegistrationRow.id).where(
                RegistrationRow.kind == kind, RegistrationRow.key == key, RegistrationRow.deleted.is_(False)
            )
        )
        is not None
    )


def delete(c: Central, actor: str, kind: str, key: str) -> RegistrationRow:
    with audit.write(c, actor) as w:
        row = w.session.scalar(select(RegistrationRow).where(RegistrationRow.kind == kind, RegistrationRow.key == key))
        if row is None or row.deleted:
            raise NotFound(f"no {kind} {key}")
        row.deleted, row.revision, row.updated_by, row.updated_at = True, row.revision + 1, actor, datetime.now(UTC)
        if kind in PUBLISHED:
            w.publish(PUBLISHED[kind], key, None)
        if kind == "lane":  # the lane goes back to its node's own configuration
            node, _, lane = key.partition("/")
            w.publish(ChangeKind.LANE, lane, None, topics.node_stream(node))
        w.audit("registration.delete", f"{kind}:{key}")
    return row


def get(c: Central, kind: str, key: str) -> RegistrationRow:
    with c.sessions() as s:
        row = s.scalar(select(RegistrationRow).where(RegistrationRow.kind == kind, RegistrationRow.key == key))
    if row is None:
        raise NotFound(f"no {kind} {key}")
    return row


def find(c: Central, kind: str, key: str) -> dict[str, Any] | None:
    """The live record's data, or None if not registered or deleted."""
    with c.sessions() as s:
        row = s.scalar(
            select(RegistrationRow).where(
                RegistrationRow.kind == kind, RegistrationRow.key == key, RegistrationRow.deleted.is_(False)
            )
        )
    return dict(row.data) if row else None


def list_kind(
    c: Central, kind: str, limit: int, offset: int, include_deleted: bool = False, key_prefix: str | None = None
) -> tuple[int, list[RegistrationRow]]:
    with c.sessions() as s:
        q = select(RegistrationRow).where(RegistrationRow.kind == kind)
        if not include_deleted:
            q = q.where(RegistrationRow.deleted.is_(False))
        if key_prefix:
            q = q.where(RegistrationRow.key.startswith(key_prefix, autoescape=True))
        return page(s, q, limit, offset, RegistrationRow.key)
