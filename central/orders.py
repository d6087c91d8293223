"""Release orders (核放单): prepared centrally as a draft, approved by a second officer (never the
preparer), then published to the lanes through the change log.

A batch-exit order carries a total quantity (passes, or kg of net weight); each gate pass against
it is counted once (see projections.py), and when nothing remains it is withdrawn from the lanes.
A vehicle change republishes the order under the new plate and keeps the old ones in history.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator
from sqlalchemy import bindparam, select

from kakou.central import audit, changelog, reviews
from kakou.central.alert_texts import AlertCode, AlertText
from kakou.central.db import aware, page, where_given
from kakou.central.review_model import RELEASE_ORDER, VEHICLE_CHANGE, OrderStatus, RequestStatus, Step
from kakou.central.reviews import Reviewed
from kakou.central.service import Central, Conflict, NotFound, row_or_missing
from kakou.central.tables import DeclarationRow, OrderPassRow, RegistrationRow, ReleaseOrderRow
from kakou.sync import topics
from kakou.sync.messages import ChangeKind, ReleaseOrderData


class GoodsLine(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str
    hs_code: str | None = Field(None, pattern=r"^\d{4,10}$")
    quantity: float = Field(ge=0)
    unit: str = "kg"
    origin: str | None = Field(None, min_length=2, max_length=2)  # ISO 3166 alpha-2
    amount: float | None = Field(None, ge=0)
    # For the risk tags (kakou.central.risk_eval): the origin from traceability or the certificate
    # (原产地不一致 when it differs), and the quarantine batch number (检疫批次号) if quarantined.
    traced_origin: str | None = Field(None, min_length=2, max_length=2)
    quarantine_no: str | None = Field(None, max_length=40)


class ReleaseOrderIn(BaseModel):
    """A release order as an officer files it; the lane gets the `ReleaseOrderData` part."""

    model_config = ConfigDict(extra="forbid")

    order_no: str = Field(min_length=1, max_length=40)
    plate: str = Field(min_length=1, max_length=16)
    containers: list[str] = Field(default_factory=list)
    direction: Literal["in", "out"]
    valid_from: datetime
    valid_until: datetime
    declared_gross_kg: float | None = Field(None, ge=0)
    declared_net_kg: float | None = Field(None, ge=0)
    goods: list[GoodsLine] = Field(default_factory=list)
    declarations: list[str] = Field(default_factory=list)  # declaration doc numbers
    batch_unit: Literal["passes", "kg"] | None = None  # set for a batch-exit order
    total_quantity: float | None = Field(None, gt=0)
    # Where the truck will pass: only that site's lanes get the order (none: every lane).
    site: str | None = Field(None, min_length=1, max_length=40)
    lane: str | None = Field(None, pattern=r"^[^/]+/[^/]+$")  # "NODE/LANE": the site of that registered lane

    @model_validator(mode="after")
    def _check(self) -> ReleaseOrderIn:
        if self.valid_until <= self.valid_from:
            raise ValueError("valid_until must be after valid_from")
        if (self.batch_unit is None) != (self.total_quantity is None):
            raise ValueError("a batch-exit order needs both batch_unit and total_quantity")
        if (
            self.declared_net_kg is not None
            and self.declared_gross_kg is not None
            and self.declared_net_kg > self.declared_gross_kg
        ):
            raise ValueError(
                f"declared_net_kg {self.declared_net_kg:g} is more than declared_gross_kg "
                f"{self.declared_gross_kg:g}: the cargo cannot weigh more than the loaded truck"
            )
        return self

    def lane_data(self) -> ReleaseOrderData:
        """The lane's part: ReleaseOrderData's fields, read from this order (no verdict)."""
        return ReleaseOrderData.model_validate(self, from_attributes=True)


def lane_data(row: ReleaseOrderRow) -> ReleaseOrderData:
    return ReleaseOrderData(
        order_no=row.order_no,
        plate=row.plate,
        containers=list(row.containers),
        direction=row.direction,
        valid_from=aware(row.valid_from),
        valid_until=aware(row.valid_until),
        declared_gross_kg=row.declared_gross_kg,
        declared_net_kg=row.declared_net_kg,
    )


def _store(w: audit.Work, full: ReleaseOrderIn, actor: str, status: str) -> ReleaseOrderRow:
    s = w.session
    if s.get(ReleaseOrderRow, full.order_no) is not None:
        raise Conflict(f"release order {full.order_no} already exists")
    for doc_no in full.declarations:
        if (
            s.scalar(
                select(DeclarationRow.id).where(DeclarationRow.doc_no == doc_no, DeclarationRow.deleted.is_(False))
            )
            is None
        ):
            raise ValueError(f"declaration {doc_no} is not on file")
    site = _site(w, full)
    row = ReleaseOrderRow(
        **full.model_dump(exclude={"goods", "site", "lane"}),  # the order as filed, then what central adds
        goods=[g.model_dump(mode="json") for g in full.goods],
        remaining_quantity=full.total_quantity,
        status=status,
        created_by=actor,
        plate_history=[],
        review_note="",
        site=site,
    )
    s.add(row)
    return row


def _site(w: audit.Work, full: ReleaseOrderIn) -> str | None:
    """The registered site an order is for: named, or that of its registered lane (they must agree)."""
    site = full.site
    if full.lane:
        lane_site = changelog.site_of_lane(w.session, full.lane)
        if lane_site is None:
            raise ValueError(f"lane {full.lane} is not registered")
        if site and site != lane_site:
            raise ValueError(f"lane {full.lane} is at site {lane_site}, not {site}")
        site = lane_site
    if (
        site
        and w.session.scalar(
            select(RegistrationRow.id).where(
                RegistrationRow.kind == "site", RegistrationRow.key == site, RegistrationRow.deleted.is_(False)
            )
        )
        is None
    ):
        raise ValueError(f"site {site} is not registered")
    return site


def _scope(row: ReleaseOrderRow) -> str | None:
    return topics.site_stream(row.site) if row.site else None


_TARGET = "release_order:{order_no}"


def prepare(c: Central, actor: str, order: ReleaseOrderIn, enterprise: str | None = None) -> ReleaseOrderRow:
    """An officer files an order as a draft (or an enterprise's declarant applies for one, `enterprise`):
    stored, not on the lanes until another officer approves it."""
    with audit.write(c, actor) as w:
        row = _store(w, order, actor, OrderStatus.DRAFT.value)
        row.enterprise = enterprise
        w.audit(
            "release_order.prepare",
            f"release_order:{order.order_no}",
            order.model_dump(mode="json") | ({"enterprise": enterprise} if enterprise else {}),
        )
    return row


APPROVAL = Reviewed(ReleaseOrderRow, "release order", RELEASE_ORDER, "created_by", _TARGET, "release_order")


def review(
    c: Central, actor: str, order_no: str, approve: bool, note: str = "", now: datetime | None = None
) -> tuple[ReleaseOrderRow, int | None]:
    """Approve (publish to the lanes) or reject a draft; returns the order and the change-log
    version the lanes will see it at (None when rejected)."""
    now = now or datetime.now(UTC)
    version: int | None = None

    def publish(w: audit.Work, row: ReleaseOrderRow, _status: OrderStatus, approve: bool) -> None:
        nonlocal version
        if approve:
            if aware(row.valid_until) <= now:
                raise Conflict(f"release order {order_no} expired at {row.valid_until:%Y-%m-%d %H:%M}; reject it")
            version = w.publish(ChangeKind.RELEASE_ORDER, order_no, lane_data(row).lane_json(), _scope(row))

    row = reviews.decide(c, actor, APPROVAL, order_no, approve, note, now=now, effects=publish)
    return row, version


def create_release_order(c: Central, order: ReleaseOrderData | ReleaseOrderIn, actor: str = "system") -> int:
    """Store and publish at once; returns the change-log version the lanes will see it at.

    For orders that arrive already reviewed from an upstream system (a customs single-window
    feed, the benchmarks, the sync tests): the API never calls this. Officers' orders go through
    `prepare` → `review` by another officer."""
    full = (
        order
        if isinstance(order, ReleaseOrderIn)
        else ReleaseOrderIn.model_validate(order.model_dump(exclude={"risk"}))
    )  # central makes the verdict itself
    with audit.write(c, actor) as w:
        row = _store(w, full, actor, OrderStatus.ACTIVE.value)
        version = w.publish(ChangeKind.RELEASE_ORDER, full.order_no, full.lane_data().lane_json(), _scope(row))
        w.audit("release_order.create", f"release_order:{full.order_no}", full.model_dump(mode="json"))
    return version


def _get(w: audit.Work, order_no: str) -> ReleaseOrderRow:
    return row_or_missing(w.session, ReleaseOrderRow, order_no, "release order")


def _vehicle_request(row: ReleaseOrderRow) -> RequestStatus:
    return RequestStatus.NONE if row.pending_plate is None else RequestStatus.PENDING


def change_vehicle(c: Central, actor: str, order_no: str, new_plate: str, reason: str) -> ReleaseOrderRow:
    """Ask for a vehicle change (换车): the order keeps its plate on the lanes until another
    officer approves the change (`review_vehicle_change`)."""
    if not reason.strip():
        raise ValueError("give the reason for the vehicle change")
    with audit.write(c, actor) as w:
        row = _get(w, order_no)
        if row.status != OrderStatus.ACTIVE:
            raise Conflict(f"release order {order_no} is {row.status}")
        if new_plate == row.plate:
            raise ValueError(f"the order is already for {new_plate}")
        reviews.advance(VEHICLE_CHANGE, _vehicle_request(row), Step.SUBMIT, actor, subject=f"to {row.pending_plate}")
        row.pending_plate, row.pending_reason, row.pending_by = new_plate, reason, actor
        row.pending_at = datetime.now(UTC)
        w.audit(
            "release_order.change_vehicle_request",
            f"release_order:{order_no}",
            {"from": row.plate, "to": new_plate, "reason": reason},
        )
    return row


VEHICLE_REVIEW = Reviewed(
    ReleaseOrderRow,
    "release order",
    VEHICLE_CHANGE,
    "pending_by",
    _TARGET,
    ("release_order.change_vehicle", "release_order.change_vehicle_refused"),
    column=None,
    derive=_vehicle_request,
    stamp=False,  # the decision is kept on the order as `vehicle_review`
)


def _apply_vehicle_change(w: audit.Work, row: ReleaseOrderRow, _s: RequestStatus, approve: bool) -> dict[str, Any]:
    """Approved: republish under the new plate, the old one kept in history."""
    old, new = row.plate, row.pending_plate
    if approve:
        if row.status != OrderStatus.ACTIVE:
            raise Conflict(f"release order {row.order_no} is {row.status}; refuse the change")
        row.plate_history = [
            *row.plate_history,
            {
                "plate": old,
                "until": datetime.now(UTC).isoformat(),
                "by": row.pending_by,
                "approved_by": w.actor,
                "reason": row.pending_reason,
            },
        ]
        row.plate = new  # type: ignore[assignment]
        w.publish(ChangeKind.RELEASE_ORDER, row.order_no, lane_data(row).lane_json(), _scope(row))
    return {"from": old, "to": new}


def review_vehicle_change(c: Central, actor: str, order_no: str, approve: bool, note: str = "") -> ReleaseOrderRow:
    """Approve (republish under the new plate, the old one kept in history) or refuse the change."""

    def settle(_w: audit.Work, row: ReleaseOrderRow) -> None:
        # The decision stays on the order: an applicant sees a refusal and its reason.
        row.vehicle_review = {
            "plate": row.pending_plate,
            "reason": row.pending_reason,
            "asked_by": row.pending_by,
            "approved": approve,
            "note": note,
            "by": actor,
            "at": datetime.now(UTC).isoformat(),
        }
        row.pending_plate = row.pending_reason = row.pending_by = row.pending_at = None

    return reviews.decide(
        c, actor, VEHICLE_REVIEW, order_no, approve, note, effects=_apply_vehicle_change, after=settle
    )


def cancel(c: Central, actor: str, order_no: str, reason: str) -> ReleaseOrderRow:
    with audit.write(c, actor) as w:
        row = _get(w, order_no)
        if row.status != OrderStatus.ACTIVE:
            raise Conflict(f"release order {order_no} is {row.status}")
        row.status = OrderStatus.CANCELLED.value
        w.publish(ChangeKind.RELEASE_ORDER, order_no, None)
        w.audit("release_order.cancel", f"release_order:{order_no}", {"reason": reason})
    return row


def count_pass(
    w: audit.Work,
    order_no: str,
    pass_id: str,
    at: datetime,
    gross_kg: float | None,
    tare_kg: float | None,
    shared_with: Sequence[str] = (),
) -> tuple[ReleaseOrderRow | None, AlertText | None]:
    """Count one gate pass against the order (idempotent per pass and order); returns (order, problem).

    `shared_with`: the other orders the same truck went out on. A batch counted in kg then cannot
    tell its part of the net weight: it counts nothing and says so, for an officer to settle.
    """
    row = w.session.get(ReleaseOrderRow, order_no)
    if row is None or w.session.get(OrderPassRow, (pass_id, order_no)) is not None:
        return row, None
    problem: AlertText | None = None
    qty = 1.0
    if row.batch_unit == "kg":
        if shared_with:
            qty, problem = (
                0.0,
                AlertText(
                    code=AlertCode.BATCH_SHARED,
                    params={"order_no": order_no, "pass_id": pass_id, "others": ", ".join(shared_with)},
                ),
            )
        elif gross_kg is None or tare_kg is None:
            qty, problem = (
                0.0,
                AlertText(
                    code=AlertCode.BATCH_NO_NET, params={"order_no": order_no, "gross_kg": gross_kg, "tare_kg": tare_kg}
                ),
            )
        else:
            qty = max(gross_kg - tare_kg, 0.0)
    w.session.add(OrderPassRow(pass_id=pass_id, order_no=order_no, quantity=qty, at=at))
    if row.remaining_quantity is not None and row.status == OrderStatus.ACTIVE:
        row.remaining_quantity = row.remaining_quantity - qty
        if row.remaining_quantity <= 1e-9:
            row.status = OrderStatus.USED.value
            w.publish(ChangeKind.RELEASE_ORDER, order_no, None)  # nothing left: the lanes stop releasing on it
            if row.remaining_quantity < -1e-9:
                problem = AlertText(
                    code=AlertCode.ORDER_EXCEEDED,
                    params={"order_no": order_no, "over": -row.remaining_quantity, "unit": row.batch_unit},
                )
    w.audit(
        "release_order.pass",
        f"release_order:{order_no}",
        {"pass_id": pass_id, "quantity": qty, "remaining": row.remaining_quantity},
    )
    return row, problem


# A release order with the passes made against it, in one round trip (built once).
_DETAIL = (
    select(
        ReleaseOrderRow.__table__,
        OrderPassRow.pass_id.label("_pass_id"),
        OrderPassRow.quantity.label("_quantity"),
        OrderPassRow.at.label("_at"),
    )
    .outerjoin(OrderPassRow, OrderPassRow.order_no == ReleaseOrderRow.order_no)
    .where(ReleaseOrderRow.order_no == bindparam("order_no"))
    .order_by(OrderPassRow.at)
)


def get(c: Central, order_no: str) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    """The order's columns, and its passes (pass_id, quantity, at) oldest first, as dicts."""
    with c.read() as s:
        rows = s.connection().execute(_DETAIL, {"order_no": order_no}).mappings().all()
    if not rows:
        raise NotFound(f"no release order {order_no}")
    order = {k: v for k, v in rows[0].items() if not k.startswith("_")}
    return order, [
        {"pass_id": r["_pass_id"], "quantity": r["_quantity"], "at": r["_at"]}
        for r in rows
        if r["_pass_id"] is not None
    ]


def list_release_orders(
    c: Central, limit: int, offset: int, plate: str | None = None, status: str | None = None
) -> list[ReleaseOrderRow]:
    return page_release_orders(c, limit, offset, plate, status)[1]


# The API's columns of a release order in a list (schemas.ReleaseOrderOut).
ORDER_LIST_COLUMNS = (
    ReleaseOrderRow.order_no,
    ReleaseOrderRow.plate,
    ReleaseOrderRow.containers,
    ReleaseOrderRow.direction,
    ReleaseOrderRow.valid_from,
    ReleaseOrderRow.valid_until,
    ReleaseOrderRow.declared_gross_kg,
    ReleaseOrderRow.status,
    ReleaseOrderRow.pending_plate,
    ReleaseOrderRow.pending_by,
)


# One prebuilt list statement per combination of filters (by plate, by status).
_ORDER_PAGES = {
    (plate, status): select(*ORDER_LIST_COLUMNS)
    .where(
        *[ReleaseOrderRow.plate == bindparam("plate")] * plate,
        *[ReleaseOrderRow.status == bindparam("status")] * status,
    )
    .order_by(ReleaseOrderRow.created_at.desc(), ReleaseOrderRow.order_no)
    .limit(bindparam("_limit"))
    .offset(bindparam("_offset"))
    for plate in (False, True)
    for status in (False, True)
}


def list_release_order_dicts(
    c: Central, limit: int, offset: int, plate: str | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    """One page of release orders as dicts of the API's fields: no total (the list has none), so
    one query, and no ORM objects to build."""
    params = {"plate": plate, "status": status, "_limit": limit, "_offset": offset}
    with c.read() as s:
        return [dict(r) for r in s.connection().execute(_ORDER_PAGES[bool(plate), bool(status)], params).mappings()]


def page_release_orders(
    c: Central, limit: int, offset: int, plate: str | None = None, status: str | None = None
) -> tuple[int, list[ReleaseOrderRow]]:
    with c.read() as s:
        q = where_given(select(ReleaseOrderRow), (ReleaseOrderRow.plate, plate), (ReleaseOrderRow.status, status))
        return page(s, q, limit, offset, ReleaseOrderRow.created_at.desc(), ReleaseOrderRow.order_no)


def summary(row: ReleaseOrderRow) -> dict[str, Any]:
    return {
        "order_no": row.order_no,
        "plate": row.plate,
        "status": row.status,
        "remaining_quantity": row.remaining_quantity,
    }
