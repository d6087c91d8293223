"""Control orders (布控): create → review by another officer → active → revoke (撤控) with review.

An emergency order is in force from creation (published at once, flagged `emergency`) and is
reviewed afterwards; rejecting it withdraws it from the lanes. Only orders in force are on the
lanes; revoked, rejected and expired ones are withdrawn (change data None).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime, timedelta
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import select

from kakou.central import audit, reviews
from kakou.central.db import aware, page, where_given
from kakou.central.list_queries import ControlOrderQuery
from kakou.central.review_model import CONTROL_ORDER, CONTROL_REVOKE, ControlStatus, Step, control_order_flow
from kakou.central.reviews import Reviewed
from kakou.central.service import Central, Conflict, NotFound, fetch, row_or_missing
from kakou.central.tables import ControlOrderRow
from kakou.sync.knowledge import ControlOrderData, ControlOrderType, TargetKind
from kakou.sync.messages import ChangeKind

IN_FORCE = (ControlStatus.ACTIVE, ControlStatus.REVOKE_PENDING)  # on the lanes (revocation waits for its review)
PENDING = (ControlStatus.PENDING_REVIEW,)


class ControlOrderIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target_kind: TargetKind
    target_value: str = Field(min_length=1, max_length=64)
    action: Literal["hold", "inspect"] = "inspect"
    emergency: bool = False
    valid_from: datetime | None = None  # default: now
    valid_until: datetime | None = None  # default: 30 days after valid_from
    reason: str = Field(min_length=1, max_length=2000)
    previous_order: str | None = None  # re-control (复控) of a revoked order
    # 布控类型: key_person (重点人员) targets a driver, risk_vehicle (风险车辆) a vehicle; random
    # (随机布控) stops `random_rate` of the target's passes, drawn per pass at the lane.
    order_type: ControlOrderType = "general"
    random_rate: float | None = Field(None, gt=0, le=1)

    @model_validator(mode="after")
    def _type(self) -> ControlOrderIn:
        need = {"key_person": "driver", "risk_vehicle": "vehicle"}.get(self.order_type)
        if need and self.target_kind != need:
            raise ValueError(f"a {self.order_type} control order targets a {need}, not a {self.target_kind}")
        if (self.order_type == "random") != (self.random_rate is not None):
            raise ValueError("a random control order needs random_rate, and only a random one has it")
        return self

    @model_validator(mode="after")
    def _window(self) -> ControlOrderIn:
        # Naive times are taken as UTC, so they compare with the stored ones.
        if self.valid_from:
            self.valid_from = aware(self.valid_from)
        if self.valid_until:
            self.valid_until = aware(self.valid_until)
        if self.valid_from and self.valid_until and self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        return self


def lane_data(row: ControlOrderRow) -> ControlOrderData:
    return ControlOrderData(
        order_no=row.order_no,
        target_kind=row.target_kind,
        target_value=row.target_value,
        action=row.action,
        status="emergency" if row.emergency and row.reviewed_by is None else "active",
        emergency=row.emergency,
        valid_from=aware(row.valid_from),
        valid_until=aware(row.valid_until),
        reason=row.reason,
        order_type=row.order_type or "general",
        random_rate=row.random_rate,
    )


def _publish(w: audit.Work, row: ControlOrderRow) -> None:
    in_force = row.status in IN_FORCE
    w.publish(ChangeKind.CONTROL_ORDER, row.order_no, lane_data(row).model_dump(mode="json") if in_force else None)


def create(c: Central, actor: str, order: ControlOrderIn, now: datetime | None = None) -> ControlOrderRow:
    now = now or datetime.now(UTC)
    valid_from = order.valid_from or now
    valid_until = order.valid_until or valid_from + timedelta(days=30)
    if valid_until <= now:
        raise ValueError("the order would already have expired")
    with audit.write(c, actor) as w:
        if order.previous_order:
            prev = w.session.get(ControlOrderRow, order.previous_order)
            if prev is None:
                raise NotFound(f"no control order {order.previous_order}")
            if prev.status in IN_FORCE + PENDING:
                raise Conflict(f"control order {prev.order_no} is still {prev.status}")
        row = ControlOrderRow(
            order_no=f"BK{now:%Y%m%d}{secrets.token_hex(4).upper()}",
            target_kind=order.target_kind,
            target_value=order.target_value.strip().upper()
            if order.target_kind != "driver"
            else order.target_value.strip(),
            action=order.action,
            emergency=order.emergency,
            valid_from=valid_from,
            valid_until=valid_until,
            reason=order.reason,
            status=control_order_flow(order.emergency).submitted.value,
            created_by=actor,
            created_at=now,
            previous_order=order.previous_order,
            order_type=order.order_type,
            random_rate=order.random_rate,
        )
        w.session.add(row)
        w.session.flush()
        if row.status in IN_FORCE:
            _publish(w, row)
        w.audit(
            "control_order.create",
            f"control_order:{row.order_no}",
            {
                "target": f"{row.target_kind}:{row.target_value}",
                "action": row.action,
                "emergency": row.emergency,
                "reason": row.reason,
                "order_type": row.order_type,
                "random_rate": row.random_rate,
            },
        )
    return row


def _get(w: audit.Work, order_no: str) -> ControlOrderRow:
    return row_or_missing(w.session, ControlOrderRow, order_no, "control order")


_TARGET = "control_order:{order_no}"


def _emergency_unreviewed(row: ControlOrderRow) -> bool:
    return row.emergency and row.status in IN_FORCE and row.reviewed_by is None


APPROVAL = Reviewed(
    ControlOrderRow,
    "control order",
    CONTROL_ORDER,
    "created_by",
    _TARGET,
    "control_order",
    pick=lambda row: control_order_flow(_emergency_unreviewed(row)),
)

REVOCATION = Reviewed(
    ControlOrderRow,
    "control order",
    CONTROL_REVOKE,
    "revoke_requested_by",
    _TARGET,
    ("control_order.revoke", "control_order.revoke_refused"),
    stamp=False,
)


def _publish_decision(w: audit.Work, row: ControlOrderRow, _status: ControlStatus, _approve: bool) -> None:
    _publish(w, row)


def review(
    c: Central, actor: str, order_no: str, approve: bool, note: str = "", now: datetime | None = None
) -> ControlOrderRow:
    """Review a new order (or an emergency one already in force)."""
    return reviews.decide(c, actor, APPROVAL, order_no, approve, note, now=now, effects=_publish_decision)


def request_revoke(c: Central, actor: str, order_no: str, reason: str) -> ControlOrderRow:
    if not reason.strip():
        raise ValueError("give the reason for revoking")
    with audit.write(c, actor) as w:
        row = _get(w, order_no)
        label = f"control order {order_no}"
        asked = reviews.advance(CONTROL_REVOKE, ControlStatus(row.status), Step.REQUEST_REVOKE, actor, subject=label)
        row.status = asked.value
        row.revoke_requested_by, row.revoke_reason, row.revoke_requested_at = actor, reason, datetime.now(UTC)
        w.audit("control_order.revoke_request", f"control_order:{order_no}", {"reason": reason})
    return row


def review_revoke(
    c: Central, actor: str, order_no: str, approve: bool, note: str = "", now: datetime | None = None
) -> ControlOrderRow:
    now = now or datetime.now(UTC)

    def revoke(w: audit.Work, row: ControlOrderRow, _status: ControlStatus, approve: bool) -> None:
        if approve:
            row.revoked_by, row.revoked_at = actor, now
            _publish(w, row)

    return reviews.decide(c, actor, REVOCATION, order_no, approve, note, now=now, effects=revoke)


def expire_due(c: Central, now: datetime | None = None, actor: str = "system") -> list[str]:
    """Withdraw orders whose window has closed; lanes also check the window themselves."""
    now = now or datetime.now(UTC)
    with audit.write(c, actor) as w:
        rows = list(
            w.session.scalars(
                select(ControlOrderRow).where(
                    ControlOrderRow.status.in_(IN_FORCE + PENDING), ControlOrderRow.valid_until <= now
                )
            )
        )
        for row in rows:
            was_on_lanes = row.status in IN_FORCE
            row.status = ControlStatus.EXPIRED.value
            if was_on_lanes:
                _publish(w, row)
            w.audit("control_order.expire", f"control_order:{row.order_no}")
    return [r.order_no for r in rows]


def get(c: Central, order_no: str) -> ControlOrderRow:
    return fetch(c, ControlOrderRow, order_no, "control order")


def in_force_for(c: Central, target_kind: str, target_value: str) -> list[ControlOrderRow]:
    with c.sessions() as s:
        return list(
            s.scalars(
                select(ControlOrderRow).where(
                    ControlOrderRow.target_kind == target_kind,
                    ControlOrderRow.target_value == target_value,
                    ControlOrderRow.status.in_(IN_FORCE),
                )
            )
        )


def list_orders(c: Central, q: ControlOrderQuery) -> tuple[int, list[ControlOrderRow]]:
    with c.sessions() as s:
        stmt = where_given(
            select(ControlOrderRow), (ControlOrderRow.status, q.status), (ControlOrderRow.target_value, q.target_value)
        )
        return page(s, stmt, q.limit, q.offset, ControlOrderRow.created_at.desc(), ControlOrderRow.order_no)
