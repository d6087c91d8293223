"""Central's domain tables: users, audit, registrations, orders, declarations, ledgers, alerts…"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kakou.central.db import Base, ReviewTrail, utcnow
from kakou.sync import limits

# -- users, sessions, audit ---------------------------------------------------------------------


class UserRow(Base):
    __tablename__ = "users"

    username: Mapped[str] = mapped_column(String(limits.USERNAME), primary_key=True)
    display_name: Mapped[str] = mapped_column(String(128), default="")
    role: Mapped[str] = mapped_column(String(24))
    password_hash: Mapped[str] = mapped_column(String(256))
    disabled: Mapped[bool] = mapped_column(default=False)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Password rules (auth.PasswordRules): a user an admin created must change the password at
    # first login; every password expires after max_age; the last ones may not be reused.
    must_change_password: Mapped[bool] = mapped_column(default=False)
    password_changed_at: Mapped[datetime | None]  # None: since created_at
    password_history: Mapped[list[str]] = mapped_column(default=list)  # earlier hashes, newest first
    # A declarant (enterprise user) sees and applies for its own enterprise's orders only.
    enterprise: Mapped[str | None] = mapped_column(String(40))


class TokenRow(Base):
    """A bearer token; only its SHA-256 is stored, so a database leak gives no live sessions."""

    __tablename__ = "tokens"

    token_hash: Mapped[str] = mapped_column(String(64), primary_key=True)
    username: Mapped[str] = mapped_column(ForeignKey("users.username"), index=True)
    expires_at: Mapped[datetime]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_used_at: Mapped[datetime | None]  # for the idle timeout; None: since created_at


class AuditHeadRow(Base):
    """The head of the audit hash chain; writers lock this row, so the chain never forks."""

    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    seq: Mapped[int] = mapped_column(Integer)
    hash: Mapped[str] = mapped_column(String(64))


class AuditRow(Base):
    """Append-only: hash = HMAC-SHA256(audit key, prev_hash + canonical JSON of the entry) (audit_key.py)."""

    __tablename__ = "audit_log"

    seq: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    at: Mapped[str] = mapped_column(String(40))  # ISO text: hashed as stored, no timezone round-trip
    actor: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(64))
    target: Mapped[str] = mapped_column(String(128), index=True)
    detail: Mapped[dict[str, Any]]
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


class AuditArchiveRow(Base):
    """A run of audit entries moved to a sealed file (audit_archive.py): the entries left in the
    database chain onto `last_hash`."""

    __tablename__ = "audit_archives"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    first_seq: Mapped[int] = mapped_column(Integer)
    last_seq: Mapped[int] = mapped_column(Integer, unique=True)
    last_hash: Mapped[str] = mapped_column(String(64))
    entries: Mapped[int] = mapped_column(Integer)
    file_name: Mapped[str] = mapped_column(String(128))
    sha256: Mapped[str] = mapped_column(String(64))  # of the file's entry lines
    archived_by: Mapped[str] = mapped_column(String(64))
    archived_at: Mapped[datetime] = mapped_column(default=utcnow)


# -- registrations --------------------------------------------------------------------------------


class RegistrationRow(Base):
    """Carriers, vehicles, drivers, containers, yards, sites, lanes, devices.

    One table: every kind shares the lifecycle (create, update, flag deleted, never remove) and
    the data is validated by the kind's pydantic model (kakou.central.registry) before it lands.
    """

    __tablename__ = "registrations"
    __table_args__ = (UniqueConstraint("kind", "key", name="uq_registration_kind_key"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(16))
    key: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]]
    deleted: Mapped[bool] = mapped_column(default=False)
    revision: Mapped[int] = mapped_column(Integer, default=1)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


# -- release orders -------------------------------------------------------------------------------


class ReleaseOrderRow(ReviewTrail, Base):
    __tablename__ = "release_orders"

    order_no: Mapped[str] = mapped_column(String(limits.ORDER_NO), primary_key=True)
    plate: Mapped[str] = mapped_column(String(limits.PLATE), index=True)
    containers: Mapped[list[str]]
    direction: Mapped[str] = mapped_column(String(3))
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime]
    declared_gross_kg: Mapped[float | None] = mapped_column(Float)
    # draft (prepared, not on the lanes), rejected, active, used, cancelled
    status: Mapped[str] = mapped_column(String(12), default="active")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    goods: Mapped[list[Any]] = mapped_column(JSON, default=list)
    declared_net_kg: Mapped[float | None] = mapped_column(Float)
    declarations: Mapped[list[str]] = mapped_column(JSON, default=list)
    batch_unit: Mapped[str | None] = mapped_column(String(8))  # passes, kg; None: not a batch order
    total_quantity: Mapped[float | None] = mapped_column(Float)
    remaining_quantity: Mapped[float | None] = mapped_column(Float)
    created_by: Mapped[str] = mapped_column(String(64), default="")
    plate_history: Mapped[list[Any]] = mapped_column(JSON, default=list)  # vehicle changes
    site: Mapped[str | None] = mapped_column(String(40))  # only this site's lanes get it (None: every lane)
    # A vehicle change (换车) asked for and not yet approved by a second officer.
    pending_plate: Mapped[str | None] = mapped_column(String(limits.PLATE))
    pending_reason: Mapped[str | None] = mapped_column(Text)
    pending_by: Mapped[str | None] = mapped_column(String(64))
    pending_at: Mapped[datetime | None]  # when it was asked for (None: asked before 0017 recorded it)
    # The enterprise that applied for it (a declarant's), None: filed by an officer.
    enterprise: Mapped[str | None] = mapped_column(String(40), index=True)
    # The last vehicle change decided: plate, reason, asked_by, approved, note, by, at (a refusal's reason).
    vehicle_review: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class OrderPassRow(Base):
    """A gate pass counted against a release order (batch exits); one row per pass and order it used."""

    __tablename__ = "order_passes"

    pass_id: Mapped[str] = mapped_column(String(64), primary_key=True)
    order_no: Mapped[str] = mapped_column(ForeignKey("release_orders.order_no"), primary_key=True, index=True)
    quantity: Mapped[float] = mapped_column(Float)
    at: Mapped[datetime]


# -- control orders -------------------------------------------------------------------------------


class ControlOrderRow(ReviewTrail, Base):
    __tablename__ = "control_orders"

    order_no: Mapped[str] = mapped_column(String(limits.ORDER_NO), primary_key=True)
    target_kind: Mapped[str] = mapped_column(String(12))
    target_value: Mapped[str] = mapped_column(String(64), index=True)
    action: Mapped[str] = mapped_column(String(8))
    emergency: Mapped[bool] = mapped_column(default=False)
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime]
    reason: Mapped[str] = mapped_column(Text)
    # pending_review, active, rejected, revoke_pending, revoked, expired
    status: Mapped[str] = mapped_column(String(16), index=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoke_requested_by: Mapped[str | None] = mapped_column(String(64))
    revoke_requested_at: Mapped[datetime | None]  # the last revocation asked for (None: before 0017)
    revoke_reason: Mapped[str] = mapped_column(Text, default="")
    revoked_by: Mapped[str | None] = mapped_column(String(64))
    revoked_at: Mapped[datetime | None]
    previous_order: Mapped[str | None] = mapped_column(String(40))  # re-control (复控) of a revoked order
    # 布控类型: general, random (随机: a share of the target's passes), key_person (重点人员: a
    # driver), risk_vehicle (风险车辆: a vehicle)
    order_type: Mapped[str] = mapped_column(String(16), default="general", server_default="general")
    random_rate: Mapped[float | None] = mapped_column(Float)  # random orders: the share stopped


# -- risk rules and parameters -------------------------------------------------------------------


class RiskRuleRow(ReviewTrail, Base):
    """Every version is kept. A new version is a draft until another officer approves it; the
    approved version marked active is the one in force (and on the lanes)."""

    __tablename__ = "risk_rules"

    rule_id: Mapped[str] = mapped_column(String(40), primary_key=True)
    version: Mapped[int] = mapped_column(Integer, primary_key=True)
    data: Mapped[dict[str, Any]]
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    review_status: Mapped[str] = mapped_column(String(10), default="approved")  # draft, approved, rejected


class ParametersRow(Base):
    __tablename__ = "lane_parameters"

    scope: Mapped[str] = mapped_column(String(64), primary_key=True)
    data: Mapped[dict[str, Any]]
    revision: Mapped[int] = mapped_column(Integer, default=1)
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class ParameterDraftRow(ReviewTrail, Base):
    """An officer's edit of one scope's parameters, applied (and published) only when another
    officer approves it; `based_on` is the revision it was written against (None: a new scope)."""

    __tablename__ = "parameter_drafts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    scope: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]]
    based_on: Mapped[int | None] = mapped_column(Integer)
    status: Mapped[str] = mapped_column(String(10), index=True)  # draft, approved, rejected
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revision: Mapped[int | None] = mapped_column(Integer)  # the revision it became when approved


# -- declarations and inventory lists ------------------------------------------------------------


class DeclarationRow(ReviewTrail, Base):
    """A declaration (报关单) or an inventory list (核注清单), draft or official."""

    __tablename__ = "declarations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    doc_type: Mapped[str] = mapped_column(String(16))  # declaration, inventory_list
    stage: Mapped[str] = mapped_column(String(8))  # draft, official
    doc_no: Mapped[str] = mapped_column(String(40))
    list_no: Mapped[str | None] = mapped_column(String(40), index=True)
    unified_no: Mapped[str | None] = mapped_column(String(40), index=True)
    direction: Mapped[str] = mapped_column(String(3))
    trade_mode: Mapped[str] = mapped_column(String(8))
    item_count: Mapped[int] = mapped_column(Integer)
    total_quantity: Mapped[float] = mapped_column(Float)
    total_amount: Mapped[float] = mapped_column(Float)
    ledger_no: Mapped[str | None] = mapped_column(String(40))
    items: Mapped[list[Any]] = mapped_column(JSON, default=list)
    matched_id: Mapped[int | None] = mapped_column(Integer)
    match_rule: Mapped[str | None] = mapped_column(String(24))  # list_no…, manual_pending, manual
    match_by: Mapped[str | None] = mapped_column(String(64))  # who proposed a manual match
    match_proposed_at: Mapped[datetime | None]  # and when (None: not proposed, or before 0017)
    match_reviewed_by: Mapped[str | None] = mapped_column(String(64))  # who approved it (never match_by)
    deleted: Mapped[bool] = mapped_column(default=False)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Four eyes (003 L78): a document counts (posts to its ledger) once another officer approved it.
    review_status: Mapped[str] = mapped_column(String(10), default="pending")  # pending, approved, rejected
    # A draft overwritten by its matched official: {field: {"draft": before, "official": after}}.
    overwrite_diff: Mapped[dict[str, Any] | None] = mapped_column(JSON)

    __table_args__ = (UniqueConstraint("doc_type", "stage", "doc_no", name="uq_declaration_doc"),)


# -- ledgers ---------------------------------------------------------------------------------------


class LedgerItemRow(Base):
    __tablename__ = "ledger_items"

    ledger_no: Mapped[str] = mapped_column(String(40), primary_key=True)
    item_no: Mapped[str] = mapped_column(String(40), primary_key=True)
    kind: Mapped[str] = mapped_column(String(12))  # material, finished, semifinished
    name: Mapped[str] = mapped_column(String(128))
    unit: Mapped[str] = mapped_column(String(8))
    opening: Mapped[float] = mapped_column(Float, default=0.0)


class ConsumptionRatioRow(Base):
    """单损耗: material per unit of finished good, with a loss rate."""

    __tablename__ = "consumption_ratios"

    ledger_no: Mapped[str] = mapped_column(String(40), primary_key=True)
    finished_item: Mapped[str] = mapped_column(String(40), primary_key=True)
    material_item: Mapped[str] = mapped_column(String(40), primary_key=True)
    per_unit: Mapped[float] = mapped_column(Float)
    loss_rate: Mapped[float] = mapped_column(Float, default=0.0)


class LedgerMovementRow(Base):
    __tablename__ = "ledger_movements"
    __table_args__ = (UniqueConstraint("source", "ledger_no", "item_no", "kind", name="uq_movement_source"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ledger_no: Mapped[str] = mapped_column(String(40), index=True)
    item_no: Mapped[str] = mapped_column(String(40))
    kind: Mapped[str] = mapped_column(String(12))  # import, export, consumption, adjustment
    quantity: Mapped[float] = mapped_column(Float)
    source: Mapped[str] = mapped_column(String(80))  # declaration:<id>
    gated: Mapped[bool] = mapped_column(default=False)  # a real gate pass backs it
    gate_pass: Mapped[str | None] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(default=utcnow)  # the gate pass's time once gated
    trade_mode: Mapped[str | None] = mapped_column(String(8))  # 0615, 0654, 4600…: the 报核 columns
    # The approved reconciliation (报核) that counted it; None: not yet in a closed period.
    counted_in: Mapped[int | None] = mapped_column(Integer, index=True)
    note: Mapped[str] = mapped_column(Text, default="")  # an adjustment's reason


# -- transit, alerts, projections ------------------------------------------------------------------


class TransitRow(Base):
    __tablename__ = "transits"

    transit_no: Mapped[str] = mapped_column(String(40), primary_key=True)
    plate: Mapped[str] = mapped_column(String(limits.PLATE), index=True)
    containers: Mapped[list[str]]
    entry_site: Mapped[str] = mapped_column(String(40))
    destination_site: Mapped[str] = mapped_column(String(40))
    e_seal: Mapped[str | None] = mapped_column(String(40))
    time_limit_h: Mapped[float] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(12), default="declared")  # declared, en_route, closed, overdue
    started_at: Mapped[datetime | None]
    start_pass: Mapped[str | None] = mapped_column(String(64))
    closed_at: Mapped[datetime | None]
    close_pass: Mapped[str | None] = mapped_column(String(64))
    seal_ok: Mapped[bool | None]
    created_by: Mapped[str] = mapped_column(String(64))
    # The declared route as [[lat, lon], …] (WGS-84): the corridor its vehicle terminal must keep to.
    route: Mapped[list[Any] | None] = mapped_column(JSON, default=None)


class AlertRow(Base):
    __tablename__ = "alerts"
    __table_args__ = (UniqueConstraint("dedupe_key", name="uq_alert_dedupe"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(24), index=True)
    severity: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(String(64), index=True)  # plate, container, lane, transit…
    message: Mapped[str] = mapped_column(Text)
    route_role: Mapped[str] = mapped_column(String(24))
    assignee: Mapped[str | None] = mapped_column(String(64), index=True)  # a named person, when a rule says so
    status: Mapped[str] = mapped_column(String(12), default="open", index=True)  # open, acknowledged, disposed
    dedupe_key: Mapped[str] = mapped_column(String(160))
    source: Mapped[str | None] = mapped_column(String(64), index=True)  # pass id, transit no…
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    acknowledged_by: Mapped[str | None] = mapped_column(String(64))
    acknowledged_at: Mapped[datetime | None]
    disposed_by: Mapped[str | None] = mapped_column(String(64))
    disposed_at: Mapped[datetime | None]
    disposal: Mapped[str] = mapped_column(Text, default="")
    notes: Mapped[list[Any]] = mapped_column(JSON, default=list)
    # What the alert says as a code with parameters (central/alert_texts.py), rendered in the
    # reader's language; NULL for alerts stored before codes (their `message` is shown as it is).
    code: Mapped[str | None] = mapped_column(String(32))
    params: Mapped[dict[str, Any] | None] = mapped_column(JSON)


class AlertRouteRow(Base):
    """A routing rule: alerts of `kind` (or "*") whose subject starts with `subject_prefix` go to
    `role` (and `assignee`); the lowest priority number among matching active rules wins."""

    __tablename__ = "alert_routes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    kind: Mapped[str] = mapped_column(String(24))
    subject_prefix: Mapped[str | None] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(24))
    assignee: Mapped[str | None] = mapped_column(String(64))
    severity: Mapped[str | None] = mapped_column(String(8))
    priority: Mapped[int] = mapped_column(Integer, default=100)
    active: Mapped[bool] = mapped_column(default=True)
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PassSubjectRow(Base):
    """Index of passes by plate / container / order: the traceability query path."""

    __tablename__ = "pass_subjects"
    __table_args__ = (Index("ix_pass_subject", "subject_kind", "subject", "at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    pass_row: Mapped[int] = mapped_column(Integer)
    subject_kind: Mapped[str] = mapped_column(String(12))
    subject: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime]


class CursorRow(Base):
    """How far a projection of the passes has read (passes.id)."""

    __tablename__ = "projection_cursors"

    name: Mapped[str] = mapped_column(String(32), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)


class DeviceEventRow(Base):
    """A lane device's state from `at` on, as the lane reported it (kakou.sync.devices); the
    health per kind, lane and site is derived from these (kakou.central.device_health)."""

    __tablename__ = "device_events"
    __table_args__ = (
        UniqueConstraint("node", "lane", "device", "at", "state", name="uq_device_event"),
        Index("ix_device_event_at", "at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    node: Mapped[str] = mapped_column(String(limits.NODE_ID))
    lane: Mapped[str] = mapped_column(String(limits.LANE_ID))
    device: Mapped[str] = mapped_column(String(64))
    kind: Mapped[str] = mapped_column(String(24))
    state: Mapped[str] = mapped_column(String(8))
    at: Mapped[datetime]
    code: Mapped[str] = mapped_column(String(64), default="")
    detail: Mapped[str] = mapped_column(String(limits.REASON), default="")
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class RiskWhitelistRow(ReviewTrail, Base):
    """A vehicle or carrier exempt from central's risk verdicts (白名单), in force once a second
    officer approves it (kakou.central.whitelist): draft → active | rejected; active → revoked."""

    __tablename__ = "risk_whitelist"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    target_kind: Mapped[str] = mapped_column(String(12))  # vehicle (plate), carrier (code)
    value: Mapped[str] = mapped_column(String(64), index=True)
    reason: Mapped[str] = mapped_column(Text)
    valid_until: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(12), default="draft")
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_by: Mapped[str | None] = mapped_column(String(64))


class VehiclePositionRow(Base):
    """The latest position of the vehicle on an open transit, from its vehicle terminal (车载终端),
    and what central derived from it: distance off the declared route, and since when it stands."""

    __tablename__ = "vehicle_positions"

    transit_no: Mapped[str] = mapped_column(String(40), primary_key=True)
    terminal: Mapped[str] = mapped_column(String(limits.TERMINAL_ID), index=True)
    plate: Mapped[str] = mapped_column(String(limits.PLATE))
    at: Mapped[datetime]  # the terminal's fix time
    lat: Mapped[float] = mapped_column(Float)
    lon: Mapped[float] = mapped_column(Float)
    speed_kmh: Mapped[float | None] = mapped_column(Float)
    off_route_m: Mapped[float | None] = mapped_column(Float)  # None: the transit declares no route
    off_route_since: Mapped[datetime | None]  # outside the corridor since (one alert per excursion)
    stopped_since: Mapped[datetime | None]  # standing (within STOP_RADIUS_M of stop_lat/lon) since
    stop_lat: Mapped[float | None] = mapped_column(Float)
    stop_lon: Mapped[float | None] = mapped_column(Float)
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


# Ledger periods, stocktakes, reconciliations, trade modes and enterprise attachments live in their
# own module; importing it here registers them wherever these tables are.
from kakou.central import tables_ledger  # noqa: E402,F401
