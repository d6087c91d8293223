"""Control orders (布控 / 撤控)."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Query

from kakou.central import control
from kakou.central.control import ControlOrderIn
from kakou.central.list_queries import ControlOrderQuery
from kakou.central.routes.deps import CentralDep
from kakou.central.routes.security import AnyUser, Officer, Reviewer, domain_errors
from kakou.central.schemas import ControlOrderOut, Page, ReasonIn, ReviewIn, page_of

router = APIRouter(prefix="/api/v1/control-orders", tags=["control orders"])


@router.post("", status_code=201)
def create(body: ControlOrderIn, central: CentralDep, me: Officer) -> ControlOrderOut:
    with domain_errors():
        return ControlOrderOut.model_validate(control.create(central, me.username, body))


@router.get("")
def list_orders(central: CentralDep, _me: AnyUser, q: Annotated[ControlOrderQuery, Query()]) -> Page[ControlOrderOut]:
    return page_of(ControlOrderOut, q, control.list_orders(central, q))


@router.get("/{order_no}")
def get(order_no: str, central: CentralDep, _me: AnyUser) -> ControlOrderOut:
    with domain_errors():
        return ControlOrderOut.model_validate(control.get(central, order_no))


@router.post("/{order_no}/review")
def review(order_no: str, body: ReviewIn, central: CentralDep, me: Reviewer) -> ControlOrderOut:
    with domain_errors():
        return ControlOrderOut.model_validate(control.review(central, me.username, order_no, body.approve, body.note))


@router.post("/{order_no}/revoke")
def request_revoke(order_no: str, body: ReasonIn, central: CentralDep, me: Officer) -> ControlOrderOut:
    with domain_errors():
        return ControlOrderOut.model_validate(control.request_revoke(central, me.username, order_no, body.reason))


@router.post("/{order_no}/revoke/review")
def review_revoke(order_no: str, body: ReviewIn, central: CentralDep, me: Reviewer) -> ControlOrderOut:
    with domain_errors():
        return ControlOrderOut.model_validate(
            control.review_revoke(central, me.username, order_no, body.approve, body.note)
        )
