"""Registrations: /api/v1/registrations/{kind}/{key} for carriers, vehicles, drivers, containers,
yards, sites, lanes and devices."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter

from kakou.central import registry
from kakou.central.registry import Kind, LaneSettingsIn
from kakou.central.routes.deps import CentralDep, Limit, Offset
from kakou.central.routes.security import AnyUser, Officer, Revision, domain_errors
from kakou.central.schemas import Page, RegistrationOut

router = APIRouter(prefix="/api/v1/registrations", tags=["registrations"])


@router.put("/{kind}")
def upsert(
    kind: Kind, central: CentralDep, me: Officer, data: dict[str, Any], expect_revision: Revision = None
) -> RegistrationOut:
    """Create or update one record (the key comes from the data: plate, driver_id, code…)."""
    with domain_errors():
        return RegistrationOut.model_validate(registry.upsert(central, me.username, kind, data, expect_revision))


@router.get("/{kind}")
def list_kind(
    kind: Kind,
    central: CentralDep,
    _me: AnyUser,
    limit: Limit = 50,
    offset: Offset = 0,
    include_deleted: bool = False,
    key_prefix: str | None = None,
) -> Page[RegistrationOut]:
    total, rows = registry.list_kind(central, kind, limit, offset, include_deleted, key_prefix)
    return Page(total=total, limit=limit, offset=offset, items=[RegistrationOut.model_validate(r) for r in rows])


@router.get("/{kind}/{key:path}")
def get(kind: Kind, key: str, central: CentralDep, _me: AnyUser) -> RegistrationOut:
    with domain_errors():
        return RegistrationOut.model_validate(registry.get(central, kind, key))


@router.delete("/{kind}/{key:path}")
def delete(kind: Kind, key: str, central: CentralDep, me: Officer) -> RegistrationOut:
    """Flag deleted (never removed) and withdraw from the lanes."""
    with domain_errors():
        return RegistrationOut.model_validate(registry.delete(central, me.username, kind, key))


@router.put("/lane/{node}/{lane}/settings")
def set_lane_settings(
    node: str, lane: str, body: LaneSettingsIn, central: CentralDep, me: Officer, expect_revision: Revision = None
) -> RegistrationOut:
    """Set one lane's settings (class, direction, gate role, cargo types, container sizes,
    appointment, yard): the lane registration `node/lane`, sent to that node's lanes."""
    with domain_errors():
        data = {"node": node, "lane": lane, **body.model_dump(mode="json")}
        return RegistrationOut.model_validate(registry.upsert(central, me.username, "lane", data, expect_revision))
