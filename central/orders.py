"""Release orders (核放单): created centrally, published to the lanes through the change log."""

from __future__ import annotations

from sqlalchemy import select

from kakou.central.changelog import append_change
from kakou.central.service import Central, Conflict
from kakou.central.tables import ReleaseOrderRow
from kakou.sync.messages import ChangeKind, ReleaseOrderData


def create_release_order(c: Central, order: ReleaseOrderData) -> int:
    with c.sessions.begin() as s:
        if s.get(ReleaseOrderRow, order.order_no) is not None:
            raise Conflict(f"release order {order.order_no} already exists")
        s.add(ReleaseOrderRow(order_no=order.order_no, plate=order.plate, containers=list(order.containers),
                              direction=order.direction, valid_from=order.valid_from,
                              valid_until=order.valid_until, declared_gross_kg=order.declared_gross_kg))
        version = append_change(s, ChangeKind.RELEASE_ORDER, order.order_no, order.model_dump(mode="json"))
    c.notify(version)
    return version


def list_release_orders(c: Central, limit: int, offset: int) -> list[ReleaseOrderRow]:
    with c.sessions() as s:
        q = select(ReleaseOrderRow).order_by(ReleaseOrderRow.created_at.desc()).limit(limit).offset(offset)
        return list(s.scalars(q))
