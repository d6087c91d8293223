"""The four-eyes review model: what each kind of record may become, and who may decide it.

Pure: no database, no HTTP. Each kind of record central reviews has a `Flow`, a table of legal
(status, step) → status transitions; `Flow.step` applies one, refusing an illegal transition
(`IllegalTransition`) and a reviewer who submitted what they review (`FourEyesViolation`). The
statuses are StrEnums whose values are the strings stored in the database. `kakou.central.reviews`
loads the records, applies these flows, stamps the reviewer, publishes and audits.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Generic, NamedTuple, TypeVar


class ReviewKind(StrEnum):
    """What is reviewed; the values name the kinds in `GET /api/v1/reviews` and the console."""

    CONTROL_ORDER = "control_order"
    CONTROL_REVOKE = "control_revoke"
    RELEASE_ORDER = "release_order"
    VEHICLE_CHANGE = "vehicle_change"
    PARAMETERS = "parameters"
    MANUAL_MATCH = "manual_match"
    RISK_RULE = "risk_rule"
    DECLARATION = "declaration"
    RECONCILIATION = "reconciliation"
    WHITELIST = "whitelist"


class Label(NamedTuple):
    zh: str
    en: str


KIND_LABELS: Mapping[ReviewKind, Label] = {
    ReviewKind.CONTROL_ORDER: Label("布控", "Control order"),
    ReviewKind.CONTROL_REVOKE: Label("撤控", "Control order revocation"),
    ReviewKind.RELEASE_ORDER: Label("核放单", "Release order"),
    ReviewKind.VEHICLE_CHANGE: Label("换车", "Vehicle change"),
    ReviewKind.PARAMETERS: Label("通道参数", "Lane parameters"),
    ReviewKind.MANUAL_MATCH: Label("人工匹配", "Manual match"),
    ReviewKind.RISK_RULE: Label("风险规则", "Risk rule"),
    ReviewKind.DECLARATION: Label("报关单/核注清单", "Declaration / inventory list"),
    ReviewKind.RECONCILIATION: Label("报核", "Ledger reconciliation"),
    ReviewKind.WHITELIST: Label("白名单", "Whitelist entry"),
}


class Step(StrEnum):
    SUBMIT = "submit"  # file a request on a record that exists (a new record is filed as `Flow.submitted`)
    APPROVE = "approve"
    REJECT = "reject"
    REQUEST_REVOKE = "request_revoke"  # revocation that itself awaits review (撤控)
    REVOKE = "revoke"  # revocation at once: it only makes the lanes stricter


# Approving and rejecting are the reviews: only they are held to four eyes.
REVIEW_STEPS = frozenset({Step.APPROVE, Step.REJECT})


# -- statuses, as stored ---------------------------------------------------------------------


class OrderStatus(StrEnum):
    """A release order (核放单)."""

    DRAFT = "draft"
    ACTIVE = "active"
    REJECTED = "rejected"
    CANCELLED = "cancelled"
    USED = "used"  # a batch-exit order with nothing left


class ControlStatus(StrEnum):
    """A control order (布控)."""

    PENDING_REVIEW = "pending_review"
    ACTIVE = "active"
    REVOKE_PENDING = "revoke_pending"  # still on the lanes until the revocation is reviewed
    REVOKED = "revoked"
    REJECTED = "rejected"
    EXPIRED = "expired"


class DraftStatus(StrEnum):
    """A risk-rule version (`review_status`) or a lane-parameter draft."""

    DRAFT = "draft"
    APPROVED = "approved"
    REJECTED = "rejected"


class DocumentStatus(StrEnum):
    """A declaration / inventory list (`review_status`) or a saved 报核 result."""

    PENDING = "pending"
    APPROVED = "approved"
    REJECTED = "rejected"


class WhitelistStatus(StrEnum):
    DRAFT = "draft"
    ACTIVE = "active"
    REJECTED = "rejected"
    REVOKED = "revoked"


class RequestStatus(StrEnum):
    """A request made on a record that has its own status: a vehicle change on a release order
    (`pending_plate` set), a manual match of two documents (`match_rule` manual_pending). Derived
    from those columns, not stored."""

    NONE = "none"
    PENDING = "pending"


class MatchRule(StrEnum):
    """How two documents were matched (`match_rule`)."""

    LIST_NO = "list_no"
    UNIFIED_NO = "unified_no"
    COMPOSITE = "composite"
    MANUAL_PENDING = "manual_pending"  # proposed by an officer, awaiting another's review
    MANUAL = "manual"


# -- errors ------------------------------------------------------------------------------------


class ReviewError(Exception):
    """A step the model refuses."""


class FourEyesViolation(ReviewError):
    """The reviewer is the one who submitted what is reviewed."""


class IllegalTransition(ReviewError):
    """The record is not in a status that allows the step (e.g. it no longer awaits review)."""

    def __init__(self, message: str, status: StrEnum, step: Step) -> None:
        super().__init__(message)
        self.status = status
        self.step = step


def check_four_eyes(actor: str, submitter: str | None, what: str, submitter_is: str = "its preparer") -> None:
    """The one rule every review keeps: the reviewer is never who submitted it."""
    if submitter == actor:
        raise FourEyesViolation(f"the reviewer of {what} must not be {submitter_is}")


# -- flows -------------------------------------------------------------------------------------

S = TypeVar("S", bound=StrEnum)

_AWAITING = "{subject} is {status}, not awaiting review"


@dataclass(frozen=True)
class Flow(Generic[S]):
    """The legal transitions of one kind of record under review."""

    kind: ReviewKind
    what: str  # in the four-eyes refusal: "the reviewer of {what} must not be …"
    submitted: S  # what a new record (or request) is filed as
    steps: Mapping[tuple[S, Step], S]
    submitter_is: str = "its preparer"
    # The reviewed thing is a request on the record (a vehicle change, a revocation, a manual match):
    # its submitter exists only while it is pending, so legality is checked before four eyes. A
    # record's own preparer is refused first, whatever its status.
    request: bool = False
    # The refusal per step ({subject}, {status}); a review step defaults to "… not awaiting review".
    refusals: Mapping[Step, str] = field(default_factory=dict)

    @property
    def awaiting(self) -> frozenset[S]:
        """The statuses in which the record awaits review."""
        return frozenset(s for s, step in self.steps if step is Step.APPROVE)

    def allows(self, status: S, step: Step) -> bool:
        return (status, step) in self.steps

    def step(
        self, status: S, step: Step, actor: str, submitter: str | None = None, subject: str = "", what: str = ""
    ) -> S:
        """The status after `step`, or a typed refusal. `submitter` is checked on review steps only;
        `subject` names the record in a refusal, `what` (default the flow's) in a four-eyes one."""
        review = step in REVIEW_STEPS
        what = what or self.what
        if review and not self.request:
            check_four_eyes(actor, submitter, what, self.submitter_is)
        after = self.steps.get((status, step))
        if after is None:
            template = self.refusals.get(step, _AWAITING)
            raise IllegalTransition(template.format(subject=subject or self.kind, status=status), status, step)
        if review and self.request:
            check_four_eyes(actor, submitter, what, self.submitter_is)
        return after

    def review(
        self, status: S, approve: bool, actor: str, submitter: str | None, subject: str = "", what: str = ""
    ) -> S:
        return self.step(status, Step.APPROVE if approve else Step.REJECT, actor, submitter, subject, what)


def _decided(pending: S, approved: S, rejected: S) -> dict[tuple[S, Step], S]:
    return {(pending, Step.APPROVE): approved, (pending, Step.REJECT): rejected}


def _reviewed(kind: ReviewKind, what: str, pending: S, approved: S, rejected: S) -> Flow[S]:
    """The plain flow: filed as `pending`, then approved or rejected by another officer."""
    return Flow(kind, what, pending, _decided(pending, approved, rejected))


def _request(kind: ReviewKind, what: str, submitter_is: str, submit_refused: str) -> Flow[RequestStatus]:
    """A request on a record (it exists only while pending); approved or rejected, it is settled."""
    pending = f"{{subject}} has no {what[2:]} awaiting review"
    return Flow(
        kind,
        what,
        RequestStatus.PENDING,
        {
            (RequestStatus.NONE, Step.SUBMIT): RequestStatus.PENDING,
            **_decided(RequestStatus.PENDING, RequestStatus.NONE, RequestStatus.NONE),
        },
        submitter_is=submitter_is,
        request=True,
        refusals={Step.SUBMIT: submit_refused, Step.APPROVE: pending, Step.REJECT: pending},
    )


RELEASE_ORDER = _reviewed(
    ReviewKind.RELEASE_ORDER, "a release order", OrderStatus.DRAFT, OrderStatus.ACTIVE, OrderStatus.REJECTED
)
# A vehicle change (换车) on an active order; approving republishes it under the new plate.
VEHICLE_CHANGE = _request(
    ReviewKind.VEHICLE_CHANGE,
    "a vehicle change",
    "the officer who asked for it",
    "a change {subject} already awaits review",
)
CONTROL_ORDER = _reviewed(
    ReviewKind.CONTROL_ORDER,
    "a control order",
    ControlStatus.PENDING_REVIEW,
    ControlStatus.ACTIVE,
    ControlStatus.REJECTED,
)
# An emergency control order is in force from its creation and reviewed afterwards: approving
# leaves it as it is (in force, or with its revocation pending); rejecting withdraws it.
EMERGENCY_CONTROL_ORDER: Flow[ControlStatus] = Flow(
    ReviewKind.CONTROL_ORDER,
    "a control order",
    ControlStatus.ACTIVE,
    {
        **_decided(ControlStatus.ACTIVE, ControlStatus.ACTIVE, ControlStatus.REJECTED),
        **_decided(ControlStatus.REVOKE_PENDING, ControlStatus.REVOKE_PENDING, ControlStatus.REJECTED),
    },
)


def control_order_flow(emergency_unreviewed: bool) -> Flow[ControlStatus]:
    """The review of a control order: an emergency one in force and not yet reviewed has its own."""
    return EMERGENCY_CONTROL_ORDER if emergency_unreviewed else CONTROL_ORDER


# 撤控: asked by one officer, in effect once another approves; refused, the order stays in force.
_NO_REVOCATION = "{subject} is {status}, no revocation awaits review"
CONTROL_REVOKE: Flow[ControlStatus] = Flow(
    ReviewKind.CONTROL_REVOKE,
    "a revocation",
    ControlStatus.REVOKE_PENDING,
    {
        (ControlStatus.ACTIVE, Step.REQUEST_REVOKE): ControlStatus.REVOKE_PENDING,
        **_decided(ControlStatus.REVOKE_PENDING, ControlStatus.REVOKED, ControlStatus.ACTIVE),
    },
    submitter_is="the officer who asked for it",
    request=True,
    refusals={
        Step.REQUEST_REVOKE: "{subject} is {status}; only an active order can be revoked",
        Step.APPROVE: _NO_REVOCATION,
        Step.REJECT: _NO_REVOCATION,
    },
)
_DRAFT = (DraftStatus.DRAFT, DraftStatus.APPROVED, DraftStatus.REJECTED)
_DOCUMENT = (DocumentStatus.PENDING, DocumentStatus.APPROVED, DocumentStatus.REJECTED)
RISK_RULE = _reviewed(ReviewKind.RISK_RULE, "a risk rule", *_DRAFT)
PARAMETERS = _reviewed(ReviewKind.PARAMETERS, "a parameter change", *_DRAFT)
DECLARATION = _reviewed(ReviewKind.DECLARATION, "a document", *_DOCUMENT)
# A manual match: approved, the pair is matched (rule `manual`); rejected, both are unmatched.
MANUAL_MATCH = _request(
    ReviewKind.MANUAL_MATCH,
    "a manual match",
    "the officer who proposed it",
    "unmatch first: {subject} is already matched",
)
RECONCILIATION = _reviewed(ReviewKind.RECONCILIATION, "a reconciliation (报核)", *_DOCUMENT)
WHITELIST: Flow[WhitelistStatus] = Flow(
    ReviewKind.WHITELIST,
    "a whitelist entry",
    WhitelistStatus.DRAFT,
    {
        **_decided(WhitelistStatus.DRAFT, WhitelistStatus.ACTIVE, WhitelistStatus.REJECTED),
        (WhitelistStatus.ACTIVE, Step.REVOKE): WhitelistStatus.REVOKED,
    },
    refusals={Step.REVOKE: "{subject} is {status}, not in force"},
)
