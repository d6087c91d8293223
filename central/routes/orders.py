"""Release orders (核放单)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query
from starlette.concurrency import run_in_threadpool

from kakou.central import hot_reads, orders
from kakou.central.list_queries import ReleaseOrderQuery
from kakou.central.orders import ReleaseOrderIn
from kakou.central.routes.deps import CentralDep, RawJSON, review_refusals
from kakou.central.routes.security import AnyUser, Officer, Reviewer, domain_errors
from kakou.central.schemas import (
    CreatedOut,
    ReasonIn,
    ReleaseOrderDetail,
    ReleaseOrderOut,
    ReleaseOrderWithPasses,
    ReviewIn,
    VehicleChangeIn,
)

router = APIRouter(prefix="/api/v1", tags=["release orders"])


@router.post("/release-orders", status_code=201)
def create_release_order(order: ReleaseOrderIn, central: CentralDep, me: Officer) -> CreatedOut:
    """File a draft; it reaches the lanes when another officer approves it (`/review`)."""
    with domain_errors():
        row = orders.prepare(central, me.username, order)
    return CreatedOut(order_no=row.order_no, status=row.status, version=None)


@router.post(
    "/release-orders/{order_no}/review",
    responses=review_refusals("the reviewer prepared the order", "the order is not a draft awaiting review"),
)
def review_release_order(order_no: str, body: ReviewIn, central: CentralDep, me: Reviewer) -> CreatedOut:
    """Approve (publish to the lanes) or reject a draft; the reviewer is never the preparer."""
    with domain_errors():
        row, version = orders.review(central, me.username, order_no, body.approve, body.note)
    return CreatedOut(order_no=row.order_no, status=row.status, version=version)


# The busiest reads are async with the query and the model building in one thread hop: a sync
# endpoint runs in the thread pool and FastAPI then checks its response in a second hop, and on a
# busy server each hop (and the wake-up of the event loop after it) costs more than the query.


@router.get("/release-orders", response_model=list[ReleaseOrderOut])
async def list_release_orders(central: CentralDep, _me: AnyUser, q: Annotated[ReleaseOrderQuery, Query()]) -> RawJSON:
    return RawJSON(
        await run_in_threadpool(hot_reads.release_orders_page, central, q.limit, q.offset, q.plate, q.status)
    )


@router.get("/release-orders/{order_no}", response_model=ReleaseOrderWithPasses)
async def get_release_order(order_no: str, central: CentralDep, _me: AnyUser) -> RawJSON:
    with domain_errors():
        return RawJSON(await run_in_threadpool(hot_reads.release_order, central, order_no))


@router.post("/release-orders/{order_no}/vehicle")
def change_vehicle(order_no: str, body: VehicleChangeIn, central: CentralDep, me: Officer) -> ReleaseOrderDetail:
    """Ask for a vehicle change (换车); it takes effect when another officer approves it."""
    with domain_errors():
        return ReleaseOrderDetail.model_validate(
            orders.change_vehicle(central, me.username, order_no, body.plate, body.reason)
        )


@router.post(
    "/release-orders/{order_no}/vehicle/review",
    responses=review_refusals("the reviewer asked for the change", "no vehicle change awaits review"),
)
def review_vehicle_change(order_no: str, body: ReviewIn, central: CentralDep, me: Reviewer) -> ReleaseOrderDetail:
    """Approve (the order moves to the new truck, on the lanes too) or refuse a vehicle change."""
    with domain_errors():
        return ReleaseOrderDetail.model_validate(
            orders.review_vehicle_change(central, me.username, order_no, body.approve, body.note)
        )


@router.post("/release-orders/{order_no}/cancel")
def cancel(order_no: str, body: ReasonIn, central: CentralDep, me: Officer) -> ReleaseOrderDetail:
    with domain_errors():
        return ReleaseOrderDetail.model_validate(orders.cancel(central, me.username, order_no, body.reason))
