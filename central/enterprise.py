"""Enterprise users (declarants, 002 申请): apply for release orders and vehicle changes of their own
enterprise, follow the status and a refusal's reason, attach files. Officers review the applications
with the existing four-eyes steps (orders.review, orders.review_vehicle_change); the queue lists them.

A declarant is scoped to the enterprise an admin assigned: another enterprise's order is refused
(auth.NotAllowed → 403) with the reason, never shown.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime
from typing import Any

from pydantic import BaseModel, Field
from sqlalchemy import select

from kakou.central import audit, orders
from kakou.central.auth import NotAllowed, Role
from kakou.central.body_limit import MAX_ATTACHMENT_BYTES
from kakou.central.orders import ReleaseOrderIn
from kakou.central.service import Central, Conflict, NotFound, row_or_missing
from kakou.central.tables import ReleaseOrderRow, UserRow
from kakou.central.tables_ledger import AttachmentRow

# What an attachment may be, told by its first bytes (a declared type alone is not trusted).
SIGNATURES = {"application/pdf": (b"%PDF-",), "image/jpeg": (b"\xff\xd8\xff",), "image/png": (b"\x89PNG\r\n\x1a\n",)}
MAX_ATTACHMENTS = 20  # per order
ENTERPRISE = r"^[A-Za-z0-9\-_.]{1,40}$"  # 海关编码 / 统一社会信用代码 style


class EnterpriseIn(BaseModel):
    enterprise: str | None = Field(None, pattern=ENTERPRISE)


class AttachmentOut(BaseModel):
    model_config = {"from_attributes": True}

    id: int
    order_no: str
    filename: str
    content_type: str
    size: int
    sha256: str
    uploaded_by: str
    uploaded_at: datetime


class ApplicationOut(BaseModel):
    """An application as its enterprise follows it."""

    order_no: str
    enterprise: str | None
    plate: str
    direction: str
    status: str  # draft (awaiting review), rejected, active, used, cancelled
    valid_from: datetime
    valid_until: datetime
    created_by: str
    created_at: datetime
    reviewed_at: datetime | None
    refusal_reason: str | None  # the reviewer's note when refused
    review_note: str
    pending_plate: str | None  # a vehicle change awaiting review
    pending_reason: str | None
    vehicle_review: dict[str, Any] | None  # the last vehicle change decided (a refusal's reason: note)
    attachments: list[AttachmentOut]


class QueueItem(BaseModel):
    kind: str  # release_order, vehicle_change
    order_no: str
    enterprise: str | None
    applied_by: str
    plate: str
    new_plate: str | None
    reason: str | None
    attachments: int


def set_enterprise(c: Central, actor: str, username: str, enterprise: str | None) -> None:
    with audit.write(c, actor) as w:
        user = w.session.get(UserRow, username)
        if user is None:
            raise NotFound(f"no user {username}")
        user.enterprise = enterprise
        w.audit("user.enterprise", f"user:{username}", {"enterprise": enterprise})


def enterprise_of(c: Central, username: str) -> str:
    with c.sessions() as s:
        user = s.get(UserRow, username)
    if user is None or user.role != Role.DECLARANT.value:
        raise NotAllowed("only an enterprise's declarant applies here")
    if not user.enterprise:
        raise NotAllowed(f"user {username} belongs to no enterprise yet: an admin assigns it")
    return user.enterprise


def _own(s: Any, order_no: str, enterprise: str) -> ReleaseOrderRow:
    row = row_or_missing(s, ReleaseOrderRow, order_no, "release order")
    if row.enterprise != enterprise:
        raise NotAllowed(f"release order {order_no} is not an application of enterprise {enterprise}")
    return row


def apply_release_order(c: Central, username: str, order: ReleaseOrderIn) -> ApplicationOut:
    enterprise = enterprise_of(c, username)
    orders.prepare(c, username, order, enterprise=enterprise)
    return get_application(c, username, order.order_no)


def apply_vehicle_change(c: Central, username: str, order_no: str, plate: str, reason: str) -> ApplicationOut:
    enterprise = enterprise_of(c, username)
    with c.sessions() as s:
        _own(s, order_no, enterprise)
    orders.change_vehicle(c, username, order_no, plate, reason)
    return get_application(c, username, order_no)


def _application(s: Any, row: ReleaseOrderRow) -> ApplicationOut:
    files = s.scalars(select(AttachmentRow).where(AttachmentRow.order_no == row.order_no).order_by(AttachmentRow.id))
    return ApplicationOut(
        order_no=row.order_no,
        enterprise=row.enterprise,
        plate=row.plate,
        direction=row.direction,
        status=row.status,
        valid_from=row.valid_from,
        valid_until=row.valid_until,
        created_by=row.created_by,
        created_at=row.created_at,
        reviewed_at=row.reviewed_at,
        refusal_reason=row.review_note if row.status == "rejected" else None,
        review_note=row.review_note,
        pending_plate=row.pending_plate,
        pending_reason=row.pending_reason,
        vehicle_review=row.vehicle_review,
        attachments=[AttachmentOut.model_validate(a) for a in files],
    )


def get_application(c: Central, username: str, order_no: str) -> ApplicationOut:
    enterprise = enterprise_of(c, username)
    with c.sessions() as s:
        return _application(s, _own(s, order_no, enterprise))


def list_applications(c: Central, username: str, role: Role, limit: int, offset: int) -> list[ApplicationOut]:
    """A declarant: its enterprise's applications; an officer: every enterprise's."""
    with c.sessions() as s:
        mine = (
            ReleaseOrderRow.enterprise == enterprise_of(c, username)
            if role is Role.DECLARANT
            else ReleaseOrderRow.enterprise.is_not(None)
        )
        rows = s.scalars(
            select(ReleaseOrderRow)
            .where(mine)
            .order_by(ReleaseOrderRow.created_at.desc(), ReleaseOrderRow.order_no)
            .limit(limit)
            .offset(offset)
        )
        return [_application(s, r) for r in rows]


def _filename(name: str) -> str:
    name = re.split(r"[\\/]", name)[-1]  # a path's last part only
    name = "".join(ch for ch in name if ch.isprintable() and ch not in '"<>|:*?').strip(" .")
    if not name:
        raise ValueError("give the file a name")
    return name[:128]


def add_attachment(
    c: Central, username: str, order_no: str, filename: str, content_type: str, data: bytes
) -> AttachmentOut:
    """PDF, JPEG or PNG up to 5 MiB, recognised by its content; at most 20 per order."""
    enterprise = enterprise_of(c, username)
    ctype = content_type.split(";")[0].strip().lower()
    if ctype not in SIGNATURES:
        raise ValueError(f"attach a PDF, JPEG or PNG file, not {ctype or 'an unnamed type'}")
    if not data:
        raise ValueError("the file is empty")
    if len(data) > MAX_ATTACHMENT_BYTES:
        raise ValueError(f"the file is larger than {MAX_ATTACHMENT_BYTES // (1024 * 1024)} MiB")
    if not data.startswith(SIGNATURES[ctype]):
        raise ValueError(f"the file's content is not {ctype}")
    name = _filename(filename)
    with audit.write(c, username) as w:
        row = _own(w.session, order_no, enterprise)
        if row.status in ("cancelled", "used"):
            raise Conflict(f"release order {order_no} is {row.status}")
        count = len(list(w.session.scalars(select(AttachmentRow.id).where(AttachmentRow.order_no == order_no))))
        if count >= MAX_ATTACHMENTS:
            raise Conflict(f"release order {order_no} has {MAX_ATTACHMENTS} attachments already")
        att = AttachmentRow(
            order_no=order_no,
            enterprise=enterprise,
            filename=name,
            content_type=ctype,
            size=len(data),
            sha256=hashlib.sha256(data).hexdigest(),
            data=data,
            uploaded_by=username,
        )
        w.session.add(att)
        w.session.flush()
        w.audit(
            "application.attach",
            f"release_order:{order_no}",
            {"attachment": att.id, "filename": name, "size": len(data), "sha256": att.sha256},
        )
        return AttachmentOut.model_validate(att)


def attachment(c: Central, username: str, role: Role, att_id: int) -> tuple[AttachmentRow, bytes]:
    """An officer reads any attachment; a declarant only its enterprise's."""
    with c.sessions() as s:
        att = s.get(AttachmentRow, att_id)
        if att is None:
            raise NotFound(f"no attachment {att_id}")
        if role is Role.DECLARANT and att.enterprise != enterprise_of(c, username):
            raise NotAllowed(f"attachment {att_id} belongs to another enterprise")
        return att, bytes(att.data)


def queue(c: Central) -> list[QueueItem]:
    """Enterprise applications awaiting an officer: order drafts and vehicle changes."""
    with c.sessions() as s:
        rows = list(
            s.scalars(
                select(ReleaseOrderRow)
                .where(ReleaseOrderRow.enterprise.is_not(None))
                .where((ReleaseOrderRow.status == "draft") | ReleaseOrderRow.pending_plate.is_not(None))
                .order_by(ReleaseOrderRow.created_at)
            )
        )
        counts: dict[str, int] = {}
        nos = [r.order_no for r in rows]
        for a in s.scalars(select(AttachmentRow.order_no).where(AttachmentRow.order_no.in_(nos))) if nos else []:
            counts[a] = counts.get(a, 0) + 1

        def item(
            r: ReleaseOrderRow, kind: str, by: str, new_plate: str | None = None, why: str | None = None
        ) -> QueueItem:
            return QueueItem(
                kind=kind,
                order_no=r.order_no,
                enterprise=r.enterprise,
                applied_by=by,
                plate=r.plate,
                new_plate=new_plate,
                reason=why,
                attachments=counts.get(r.order_no, 0),
            )

        out = []
        for r in rows:
            if r.status == "draft":
                out.append(item(r, "release_order", r.created_by))
            if r.pending_plate is not None:
                out.append(item(r, "vehicle_change", r.pending_by or "", r.pending_plate, r.pending_reason))
        return out
