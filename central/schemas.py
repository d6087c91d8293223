"""Request and response models of the central REST API (kept apart from the ORM rows)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    total: int
    limit: int
    offset: int
    items: list[T]


class ReleaseOrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    order_no: str
    plate: str
    containers: list[str]
    direction: str
    valid_from: datetime
    valid_until: datetime
    declared_gross_kg: float | None
    status: str


class CreatedOut(BaseModel):
    order_no: str
    version: int


class PassOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    node: str
    seq: int
    pass_id: str
    lane: str
    plate: str | None
    outcome: str
    decided_at: datetime
    received_at: datetime
    record: dict[str, Any]


class NodeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    node: str
    online: bool
    last_seen: datetime | None
    high_water: int
    knowledge_version: int
    duplicates: int
