"""Request and response models of the central REST API (kept apart from the ORM rows)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, Generic, TypeVar

from pydantic import BaseModel, ConfigDict, Field, model_validator
from typing_extensions import TypedDict

from kakou.central import alert_texts
from kakou.central.auth import Role
from kakou.central.list_queries import Paging
from kakou.sync import limits

T = TypeVar("T")


class Page(BaseModel, Generic[T]):
    total: int
    limit: int
    offset: int
    items: list[T]


M = TypeVar("M", bound=BaseModel)


def page_of(model: type[M], q: Paging, found: tuple[int, Sequence[Any]]) -> Page[M]:
    """The page a list route answers for query `q`: `found` (the total, and this page's rows), each row as `model`."""
    total, rows = found
    return Page(total=total, limit=q.limit, offset=q.offset, items=[model.model_validate(r) for r in rows])


class ReleaseOrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    order_no: str
    plate: str
    containers: list[str]
    direction: str
    valid_from: datetime
    valid_until: datetime
    declared_gross_kg: float | None
    status: str
    # A vehicle change awaiting a second officer's approval: in the list, so a reviewer can find it.
    pending_plate: str | None = None
    pending_by: str | None = None


class ReleaseOrderItem(TypedDict):
    """ReleaseOrderOut's fields as a plain dict: the list route encodes rows read as dicts with it
    (serialising only, no model to build per row); ReleaseOrderOut stays the documented schema."""

    order_no: str
    plate: str
    containers: list[str]
    direction: str
    valid_from: datetime
    valid_until: datetime
    declared_gross_kg: float | None
    status: str
    pending_plate: str | None
    pending_by: str | None


class CreatedOut(BaseModel):
    order_no: str
    status: str  # draft: awaiting review; active: on the lanes
    version: int | None  # change-log version the lanes see it at; None while not published


# A stored pass as the API answers it, a plain dict: the list route encodes rows read as dicts with
# it (serialising only, no model to build per row). Not a docstring: it would enter the OpenAPI document.
class PassOut(TypedDict):
    node: str
    seq: int
    pass_id: str
    lane: str
    plate: str | None
    outcome: str
    decided_at: datetime
    received_at: datetime
    record: dict[str, Any]


class PassPage(TypedDict):
    """Page[PassOut] as a plain dict."""

    total: int
    limit: int
    offset: int
    items: list[PassOut]


class NodeOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    node: str
    online: bool
    last_seen: datetime | None
    high_water: int
    knowledge_version: int
    duplicates: int
    knowledge_streams: dict[str, int] | None = None  # the node's position per change stream, as it reported
    # Where the node would stand if caught up (central's view: its streams' latest positions).
    expected_streams: dict[str, int] = Field(default_factory=dict)
    expected_knowledge_version: int = 0
    rejected: int = 0  # uplink messages quarantined or refused (GET /api/v1/network/messages says why)


class ReleaseOrderDetail(ReleaseOrderOut):
    goods: list[dict[str, Any]]
    declared_net_kg: float | None
    declarations: list[str]
    batch_unit: str | None
    total_quantity: float | None
    remaining_quantity: float | None
    created_by: str
    plate_history: list[dict[str, Any]]
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_note: str
    pending_reason: str | None
    enterprise: str | None = None  # the enterprise that applied for it (None: filed by an officer)
    vehicle_review: dict[str, Any] | None = None  # the last vehicle change decided (approved, note, by, at)


class OrderPassOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    pass_id: str
    quantity: float
    at: datetime


class ReleaseOrderWithPasses(BaseModel):
    order: ReleaseOrderDetail
    passes: list[OrderPassOut]


class VehicleChangeIn(BaseModel):
    plate: str = Field(min_length=1, max_length=limits.PLATE)
    reason: str = Field(min_length=1, max_length=limits.NOTE)


class ReasonIn(BaseModel):
    reason: str = Field(min_length=1, max_length=limits.NOTE)


class LoginIn(BaseModel):
    username: str = Field(min_length=1, max_length=64)
    password: str = Field(min_length=1, max_length=256)


class TokenOut(BaseModel):
    access_token: str
    token_type: str = "bearer"
    expires_at: datetime
    role: str
    password_change_required: bool = False  # until changed (POST /auth/password), everything else is 403


class PasswordChangeIn(BaseModel):
    current_password: str = Field(min_length=1, max_length=256)
    new_password: str = Field(min_length=1, max_length=256)  # the rules answer 422 with their reason


class UserIn(BaseModel):
    username: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_.@-]+$")
    password: str = Field(min_length=1, max_length=256)  # the password rules answer a weak one (422)
    role: Role  # a list to pick from (the console shows a drop-down), not a free-text box
    display_name: str = ""


class UserOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    username: str
    display_name: str
    role: str
    disabled: bool


class MeOut(BaseModel):
    username: str
    role: str
    password_change_required: bool = False


class ControlOrderOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    order_no: str
    target_kind: str
    target_value: str
    action: str
    emergency: bool
    valid_from: datetime
    valid_until: datetime
    reason: str
    status: str
    created_by: str
    created_at: datetime
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_note: str
    revoke_requested_by: str | None
    revoke_reason: str
    revoked_by: str | None
    revoked_at: datetime | None
    order_type: str = "general"  # 布控类型
    random_rate: float | None = None
    previous_order: str | None


class ReviewIn(BaseModel):
    approve: bool
    note: str = Field("", max_length=limits.NOTE)


class RegistrationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    kind: str
    key: str
    data: dict[str, Any]
    deleted: bool
    revision: int
    updated_by: str
    updated_at: datetime


class AuditOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    seq: int
    at: str
    actor: str
    action: str
    target: str
    detail: dict[str, Any]
    hash: str


class AuditVerifyOut(BaseModel):
    entries: int
    ok: bool
    problem: str | None
    seq: int | None


class RiskRuleVersionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    rule_id: str
    version: int
    data: dict[str, Any]
    active: bool  # the version in force
    created_by: str
    created_at: datetime
    review_status: str  # draft, approved, rejected
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_note: str


class ParameterDraftOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    scope: str
    data: dict[str, Any]
    based_on: int | None  # the revision it was written against
    status: str  # draft, approved, rejected
    created_by: str
    created_at: datetime
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_note: str
    revision: int | None  # the revision it became, once approved


class DeclarationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    doc_type: str
    stage: str
    doc_no: str
    list_no: str | None
    unified_no: str | None
    direction: str
    trade_mode: str
    item_count: int
    total_quantity: float
    total_amount: float
    ledger_no: str | None
    items: list[dict[str, Any]]
    matched_id: int | None
    match_rule: str | None  # list_no, unified_no, composite; manual_pending → manual once reviewed
    match_by: str | None
    match_reviewed_by: str | None
    created_by: str
    created_at: datetime
    review_status: str = "approved"  # pending, approved, rejected: it counts once approved
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    review_note: str = ""
    overwrite_diff: dict[str, Any] | None = None  # a draft: {field: {draft, official}} its official overwrote


class MatchIn(BaseModel):
    draft_id: int = Field(ge=1, le=2**31 - 1)
    official_id: int = Field(ge=1, le=2**31 - 1)


class AlertMessage(BaseModel):
    """What other systems receive, on MQTT and in the webhook POST body."""

    model_config = ConfigDict(from_attributes=True)

    id: int  # dedupe on it: delivery is at least once
    kind: str
    severity: str
    subject: str
    message: str
    route_role: str
    assignee: str | None
    source: str | None
    status: str
    created_at: datetime
    # What it says as a code with parameters (central/alert_texts.py; None for an alert stored
    # before codes), and rendered in both languages: a screen shows texts[its language].
    code: str | None = None
    params: dict[str, Any] | None = None
    texts: dict[str, str] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _texts(self) -> AlertMessage:
        self.texts = alert_texts.texts(self.code, self.params, self.message)
        return self


class AlertOut(AlertMessage):
    """An alert as the console and the field page see it: the message plus its handling."""

    acknowledged_by: str | None
    acknowledged_at: datetime | None
    disposed_by: str | None
    disposed_at: datetime | None
    disposal: str
    notes: list[dict[str, Any]]


class NoteIn(BaseModel):
    text: str = Field("", max_length=limits.NOTE)


class DisposalIn(BaseModel):
    disposal: str = Field(min_length=1, max_length=limits.NOTE)


class TransitOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    transit_no: str
    plate: str
    containers: list[str]
    entry_site: str
    destination_site: str
    e_seal: str | None
    time_limit_h: float
    status: str
    started_at: datetime | None
    start_pass: str | None
    closed_at: datetime | None
    close_pass: str | None
    seal_ok: bool | None
    route: list[list[float]] | None = None


class VehiclePositionOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    transit_no: str
    terminal: str
    plate: str
    at: datetime
    lat: float
    lon: float
    speed_kmh: float | None
    off_route_m: float | None
    off_route_since: datetime | None
    stopped_since: datetime | None


class StocktakeIn(BaseModel):
    stocktake: dict[str, float] = Field(default_factory=dict)
    abnormal_pct: float = Field(5.0, ge=0)


class AlertRouteOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    kind: str
    subject_prefix: str | None
    role: str
    assignee: str | None
    severity: str | None
    priority: int
    created_by: str
