"""Passes received from the lanes, edge nodes, and the change log."""

from __future__ import annotations

from fastapi import APIRouter

from kakou.central import changelog, ingest
from kakou.central.routes.deps import CentralDep, Limit, Offset
from kakou.central.schemas import NodeOut, Page, PassOut
from kakou.sync.messages import ChangeBatch

router = APIRouter(prefix="/api/v1", tags=["sync"])


@router.get("/passes")
def list_passes(central: CentralDep, limit: Limit = 50, offset: Offset = 0, plate: str | None = None,
                node: str | None = None) -> Page[PassOut]:
    total, rows = ingest.list_passes(central, limit, offset, plate=plate, node=node)
    return Page(total=total, limit=limit, offset=offset, items=[PassOut.model_validate(r) for r in rows])


@router.get("/changes")
def list_changes(central: CentralDep, after: Offset = 0, limit: Limit = 500) -> ChangeBatch:
    return changelog.changes_after(central, after, limit)


@router.get("/nodes")
def list_nodes(central: CentralDep) -> list[NodeOut]:
    return [NodeOut.model_validate(n) for n in ingest.list_nodes(central)]
