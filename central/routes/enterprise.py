"""Enterprise applications (declarants): release orders, vehicle changes, attachments; and the
officers' queue of applications to review (the reviews themselves: /release-orders/{no}/review,
/release-orders/{no}/vehicle/review)."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Body, Depends, Header, Path, Query
from fastapi.responses import Response

from kakou.central import enterprise
from kakou.central.auth import Principal, Role
from kakou.central.enterprise import ApplicationOut, AttachmentOut, EnterpriseIn, QueueItem
from kakou.central.orders import ReleaseOrderIn
from kakou.central.routes.deps import CentralDep, Limit, Offset, Responses
from kakou.central.routes.security import Admin, Reviewer, RowId, domain_errors, require
from kakou.central.schemas import VehicleChangeIn

router = APIRouter(prefix="/api/v1", tags=["enterprise applications"])
Declarant = Annotated[Principal, Depends(require(Role.DECLARANT))]
Reader = Annotated[Principal, Depends(require(Role.DECLARANT, Role.CENTRAL_OFFICER, Role.REVIEWER))]
OTHERS: Responses = {403: {"description": "not a declarant, or another enterprise's order"}}
PDF: Responses = {200: {"content": {"application/pdf": {}}}}


@router.put("/users/{username}/enterprise", status_code=204)
def set_enterprise(
    username: Annotated[str, Path(min_length=1, max_length=64)], body: EnterpriseIn, central: CentralDep, me: Admin
) -> None:
    """Assign a declarant to its enterprise (null: none; it can then apply for nothing)."""
    with domain_errors():
        enterprise.set_enterprise(central, me.username, username, body.enterprise)


@router.post("/applications/release-orders", status_code=201, responses=OTHERS)
def apply_release_order(body: ReleaseOrderIn, central: CentralDep, me: Declarant) -> ApplicationOut:
    """Apply for a release order (申请): a draft of the declarant's enterprise, until an officer reviews it."""
    with domain_errors():
        return enterprise.apply_release_order(central, me.username, body)


@router.get("/applications", responses=OTHERS)
def list_applications(central: CentralDep, me: Reader, limit: Limit = 50, offset: Offset = 0) -> list[ApplicationOut]:
    """The declarant's enterprise's applications (an officer: every enterprise's), newest first,
    with their status and a refusal's reason."""
    with domain_errors():
        return enterprise.list_applications(central, me.username, me.role, limit, offset)


@router.get("/applications/queue")
def review_queue(central: CentralDep, _me: Reviewer) -> list[QueueItem]:
    """Enterprise applications awaiting an officer's review."""
    return enterprise.queue(central)


@router.get("/applications/release-orders/{order_no}", responses=OTHERS)
def get_application(order_no: str, central: CentralDep, me: Declarant) -> ApplicationOut:
    with domain_errors():
        return enterprise.get_application(central, me.username, order_no)


@router.post("/applications/release-orders/{order_no}/vehicle", responses=OTHERS)
def apply_vehicle_change(order_no: str, body: VehicleChangeIn, central: CentralDep, me: Declarant) -> ApplicationOut:
    """Apply for a vehicle change (换车) on an approved order; an officer approves or refuses it."""
    with domain_errors():
        return enterprise.apply_vehicle_change(central, me.username, order_no, body.plate, body.reason)


@router.post(
    "/applications/release-orders/{order_no}/attachments",
    status_code=201,
    responses=OTHERS | {413: {"description": "over 5 MiB"}},
)
def attach(
    order_no: str,
    central: CentralDep,
    me: Declarant,
    data: Annotated[
        bytes,
        Body(
            media_type="application/octet-stream",
            description="a PDF, JPEG or PNG file, sent with its own Content-Type "
            "(application/pdf, image/jpeg, image/png)",
        ),
    ],
    filename: Annotated[str, Query(min_length=1, max_length=200)],
    content_type: Annotated[str, Header(max_length=100)] = "",
) -> AttachmentOut:
    with domain_errors():
        return enterprise.add_attachment(central, me.username, order_no, filename, content_type, data)


@router.get("/applications/attachments/{att_id}", responses=PDF | OTHERS)
def download(att_id: RowId, central: CentralDep, me: Reader) -> Response:
    with domain_errors():
        att, data = enterprise.attachment(central, me.username, me.role, att_id)
    return Response(
        data,
        media_type=att.content_type,
        headers={
            "Content-Disposition": f'attachment; filename="attachment-{att.id}"; '
            f"filename*=UTF-8''{quote(att.filename)}"
        },
    )
