"""The query parameters of the list endpoints, one model each, taken both by the route (a FastAPI
query model) and by the read cache's fast way (`hot_reads`), so a filter added to one is in the
other. Nothing here imports the routes: the route modules take these at import time."""

from __future__ import annotations

from typing import Annotated, Literal

from fastapi import Query
from pydantic import BaseModel, ConfigDict

Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1)]  # bounded: databases store 32/64-bit integers


class NoQuery(BaseModel):
    """A read that takes no query parameters; the base of those that do."""

    model_config = ConfigDict(extra="ignore")  # the route ignores others; the fast way passes them on


class Paging(NoQuery):
    """A page of a list."""

    limit: Limit = 50
    offset: Offset = 0


class PlatePage(Paging):
    """A page of a list that can be filtered by plate."""

    plate: str | None = None


class PassQuery(PlatePage):
    """`GET /api/v1/passes`'s query: the route's parameters and the fast way's check in one model."""

    node: str | None = None


class ReleaseOrderQuery(PlatePage):
    """`GET /api/v1/release-orders`'s query."""

    status: str | None = None


class ControlOrderQuery(Paging):
    """`GET /api/v1/control-orders`'s query."""

    status: str | None = None
    target_value: str | None = None


class TransitQuery(Paging):
    """`GET /api/v1/transits`'s query."""

    status: str | None = None
    plate: str | None = None


class AlertQuery(Paging):
    """`GET /api/v1/alerts`'s query."""

    status: str | None = None
    kind: str | None = None
    role: str | None = None
    subject: str | None = None
    mine: bool = False


class AuditQuery(Paging):
    """`GET /api/v1/audit`'s query."""

    target: str | None = None
    actor: str | None = None


class DeclarationQuery(Paging):
    """`GET /api/v1/declarations`'s query."""

    doc_type: str | None = None
    stage: str | None = None
    matched: bool | None = None
    doc_no: str | None = None
    review_status: Literal["pending", "approved", "rejected"] | None = None
