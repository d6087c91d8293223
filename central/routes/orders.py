"""Release orders (核放单)."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from kakou.central import orders
from kakou.central.routes.deps import CentralDep, Limit, Offset
from kakou.central.schemas import CreatedOut, ReleaseOrderOut
from kakou.central.service import Conflict
from kakou.sync.messages import ReleaseOrderData

router = APIRouter(prefix="/api/v1", tags=["release orders"])


@router.post("/release-orders", status_code=201)
def create_release_order(order: ReleaseOrderData, central: CentralDep) -> CreatedOut:
    try:
        version = orders.create_release_order(central, order)
    except Conflict as exc:
        raise HTTPException(409, str(exc)) from exc
    return CreatedOut(order_no=order.order_no, version=version)


@router.get("/release-orders")
def list_release_orders(central: CentralDep, limit: Limit = 50, offset: Offset = 0) -> list[ReleaseOrderOut]:
    return [ReleaseOrderOut.model_validate(r) for r in orders.list_release_orders(central, limit, offset)]
