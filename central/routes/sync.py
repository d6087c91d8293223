"""Passes received from the lanes, edge nodes, the change log and network management."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request
from starlette.concurrency import run_in_threadpool

from kakou.central import changelog, hot_reads, ingest, network
from kakou.central.auth import Role
from kakou.central.bridge import NotConnected
from kakou.central.list_queries import PassQuery
from kakou.central.routes.deps import CentralDep, Limit, Offset, RawJSON
from kakou.central.routes.security import SystemAdmin, require
from kakou.central.schemas import NodeOut, Page, PassOut
from kakou.sync import topics
from kakou.sync.messages import ChangeBatch

router = APIRouter(prefix="/api/v1", tags=["sync"])
# Outside the guard of `router` (any business user): what the system administrator does too.
system_router = APIRouter(prefix="/api/v1", tags=["sync"])


@router.get("/passes", response_model=Page[PassOut])
async def list_passes(central: CentralDep, q: Annotated[PassQuery, Query()]) -> RawJSON:
    # Async with one thread hop for the query and the encoding (routes/orders.py says more).
    return RawJSON(await run_in_threadpool(hot_reads.passes_page, central, q.limit, q.offset, q.plate, q.node))


@router.get("/changes")
def list_changes(central: CentralDep, after: Offset = 0, limit: Limit = 500, stream: str = "*") -> ChangeBatch:
    """One change stream ("*", "site:CODE", "node:ID") after position `after`."""
    try:
        topics.check_stream(stream)
    except ValueError as exc:
        raise HTTPException(422, str(exc)) from exc
    return changelog.changes_after(central, after, limit, stream)


@system_router.get("/nodes", dependencies=[Depends(require(also=(Role.SYSTEM_ADMIN,)))])
def list_nodes(central: CentralDep) -> list[NodeOut]:
    """Every node's presence, uplink high-water mark and knowledge, next to where its knowledge
    would be if caught up (`expected_*`: the latest positions of the change streams it follows)."""
    rows = ingest.list_nodes(central)
    expected = changelog.expected_for(central, [n.node for n in rows])
    rejected = ingest.rejected_counts(central)
    return [
        NodeOut.model_validate(n).model_copy(
            update={
                "expected_streams": expected[n.node],
                "expected_knowledge_version": sum(expected[n.node].values()),
                "rejected": rejected.get(n.node, 0),
            }
        )
        for n in rows
    ]


@router.get("/network/messages")
def network_messages(
    central: CentralDep,
    node: str | None = None,
    since: datetime | None = None,
    direction: Literal["up", "down"] | None = None,
    limit: Limit = 500,
) -> list[network.NetworkMessage]:
    """What central received from (up) and sent to (down) each node, oldest first."""
    return network.list_messages(central, node=node, since=since, direction=direction, limit=limit)


@system_router.post("/nodes/{node}/resync", status_code=202)
async def resync_node(node: str, request: Request, _admin: SystemAdmin) -> dict[str, object]:
    """Send the node a snapshot of the current state; it replaces its whole cache with it."""
    bridge = getattr(request.app.state, "bridge", None)
    if bridge is None:
        raise HTTPException(503, "this central process has no MQTT bridge")
    try:
        versions = await bridge.resync(node)
    except NotConnected as exc:
        raise HTTPException(503, str(exc)) from exc
    # snapshot_version: the node's knowledge version once it has them (the sum over its streams)
    return {"node": node, "snapshot_version": sum(versions.values()), "streams": versions}
