"""The review model without a database: every (status, step) of every kind, legal or not, and the
four-eyes rule for any pair of names."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from kakou.central import review_model as m
from kakou.central.review_model import (
    ControlStatus,
    DocumentStatus,
    DraftStatus,
    Flow,
    FourEyesViolation,
    IllegalTransition,
    OrderStatus,
    RequestStatus,
    ReviewKind,
    Step,
    WhitelistStatus,
)

A, R = Step.APPROVE, Step.REJECT


def decided(pending: Any, approved: Any, rejected: Any) -> dict[tuple[Any, Step], Any]:
    return {(pending, A): approved, (pending, R): rejected}


REQUEST = {
    (RequestStatus.NONE, Step.SUBMIT): RequestStatus.PENDING,
    **decided(RequestStatus.PENDING, RequestStatus.NONE, RequestStatus.NONE),
}
# What each flow allows, written out here on its own: every pair not listed must be refused.
LEGAL: dict[str, tuple[Flow[Any], type[StrEnum], dict[tuple[Any, Step], Any]]] = {
    "release order": (
        m.RELEASE_ORDER,
        OrderStatus,
        decided(OrderStatus.DRAFT, OrderStatus.ACTIVE, OrderStatus.REJECTED),
    ),
    "vehicle change": (
        m.VEHICLE_CHANGE,
        RequestStatus,
        REQUEST,
    ),
    "control order": (
        m.CONTROL_ORDER,
        ControlStatus,
        decided(ControlStatus.PENDING_REVIEW, ControlStatus.ACTIVE, ControlStatus.REJECTED),
    ),
    "emergency control order": (
        m.EMERGENCY_CONTROL_ORDER,
        ControlStatus,
        {
            (ControlStatus.ACTIVE, A): ControlStatus.ACTIVE,
            (ControlStatus.ACTIVE, R): ControlStatus.REJECTED,
            (ControlStatus.REVOKE_PENDING, A): ControlStatus.REVOKE_PENDING,
            (ControlStatus.REVOKE_PENDING, R): ControlStatus.REJECTED,
        },
    ),
    "revocation": (
        m.CONTROL_REVOKE,
        ControlStatus,
        {
            (ControlStatus.ACTIVE, Step.REQUEST_REVOKE): ControlStatus.REVOKE_PENDING,
            (ControlStatus.REVOKE_PENDING, A): ControlStatus.REVOKED,
            (ControlStatus.REVOKE_PENDING, R): ControlStatus.ACTIVE,
        },
    ),
    "risk rule": (
        m.RISK_RULE,
        DraftStatus,
        decided(DraftStatus.DRAFT, DraftStatus.APPROVED, DraftStatus.REJECTED),
    ),
    "parameters": (
        m.PARAMETERS,
        DraftStatus,
        decided(DraftStatus.DRAFT, DraftStatus.APPROVED, DraftStatus.REJECTED),
    ),
    "declaration": (
        m.DECLARATION,
        DocumentStatus,
        decided(DocumentStatus.PENDING, DocumentStatus.APPROVED, DocumentStatus.REJECTED),
    ),
    "manual match": (
        m.MANUAL_MATCH,
        RequestStatus,
        REQUEST,
    ),
    "reconciliation": (
        m.RECONCILIATION,
        DocumentStatus,
        decided(DocumentStatus.PENDING, DocumentStatus.APPROVED, DocumentStatus.REJECTED),
    ),
    "whitelist": (
        m.WHITELIST,
        WhitelistStatus,
        {
            (WhitelistStatus.DRAFT, A): WhitelistStatus.ACTIVE,
            (WhitelistStatus.DRAFT, R): WhitelistStatus.REJECTED,
            (WhitelistStatus.ACTIVE, Step.REVOKE): WhitelistStatus.REVOKED,
        },
    ),
}

CASES = [
    pytest.param(flow, status, step, legal.get((status, step)), id=f"{name}-{status.value}-{step.value}")
    for name, (flow, statuses, legal) in LEGAL.items()
    for status in statuses
    for step in Step
]


@pytest.mark.parametrize(("flow", "status", "step", "after"), CASES)
def test_every_status_and_step_of_every_kind(flow: Flow[Any], status: StrEnum, step: Step, after: Any) -> None:
    if after is None:
        with pytest.raises(IllegalTransition) as refused:
            flow.step(status, step, "bob", "alice", subject="record X")
        assert (refused.value.status, refused.value.step) == (status, step)
        assert "record X" in str(refused.value)
    else:
        assert flow.step(status, step, "bob", "alice", subject="record X") == after


def test_the_stored_strings_are_the_values() -> None:
    # Values of rows written before the model: no data migration.
    assert [s.value for s in ControlStatus] == [
        "pending_review",
        "active",
        "revoke_pending",
        "revoked",
        "rejected",
        "expired",
    ]
    assert [s.value for s in OrderStatus] == ["draft", "active", "rejected", "cancelled", "used"]
    assert [s.value for s in DocumentStatus] == ["pending", "approved", "rejected"]
    assert [s.value for s in DraftStatus] == ["draft", "approved", "rejected"]
    assert [s.value for s in WhitelistStatus] == ["draft", "active", "rejected", "revoked"]
    assert m.MatchRule.MANUAL_PENDING == "manual_pending"


def test_every_kind_has_a_chinese_label_and_a_flow_that_awaits_review() -> None:
    assert set(m.KIND_LABELS) == set(ReviewKind)
    assert all(label.zh and label.en and label.zh != label.en for label in m.KIND_LABELS.values())
    flows = [flow for flow, _, _ in LEGAL.values()]
    assert {f.kind for f in flows} == set(ReviewKind)
    assert all(f.awaiting for f in flows)
    assert m.RELEASE_ORDER.awaiting == {OrderStatus.DRAFT}
    assert m.EMERGENCY_CONTROL_ORDER.awaiting == {ControlStatus.ACTIVE, ControlStatus.REVOKE_PENDING}


@pytest.mark.parametrize("name", list(LEGAL))
@pytest.mark.parametrize("approve", [True, False])
def test_the_submitter_never_reviews(name: str, approve: bool) -> None:
    flow, _, _ = LEGAL[name]
    (pending,) = [s for s in flow.awaiting if s != ControlStatus.REVOKE_PENDING or name == "revocation"]
    with pytest.raises(FourEyesViolation, match=f"must not be {flow.submitter_is}"):
        flow.review(pending, approve, "alice", "alice")
    assert flow.review(pending, approve, "bob", "alice") in type(pending)


def test_a_records_own_preparer_is_refused_first_a_requests_asker_only_while_it_is_pending() -> None:
    # The preparer of a release order never reviews it, whatever it has become.
    with pytest.raises(FourEyesViolation):
        m.RELEASE_ORDER.review(OrderStatus.ACTIVE, True, "alice", "alice")
    # A revocation asked and refused earlier: nothing is pending, so nothing to review.
    with pytest.raises(IllegalTransition, match="no revocation awaits review"):
        m.CONTROL_REVOKE.review(ControlStatus.ACTIVE, True, "alice", "alice", "control order BK1")


def test_an_emergency_order_in_force_has_its_own_review() -> None:
    assert m.control_order_flow(emergency_unreviewed=True) is m.EMERGENCY_CONTROL_ORDER
    assert m.control_order_flow(emergency_unreviewed=False) is m.CONTROL_ORDER
    assert m.EMERGENCY_CONTROL_ORDER.submitted == ControlStatus.ACTIVE  # in force from its creation
    assert m.CONTROL_ORDER.submitted == ControlStatus.PENDING_REVIEW


def test_refusals_say_what_and_why() -> None:
    with pytest.raises(IllegalTransition, match=r"^release order HF1 is active, not awaiting review$"):
        m.RELEASE_ORDER.review(OrderStatus.ACTIVE, True, "bob", "alice", "release order HF1")
    with pytest.raises(FourEyesViolation, match=r"^the reviewer of declaration D1 must not be its preparer$"):
        m.DECLARATION.review(DocumentStatus.PENDING, False, "al", "al", what="declaration D1")
    with pytest.raises(IllegalTransition, match=r"^a change to 粤B9 already awaits review$"):
        m.VEHICLE_CHANGE.step(RequestStatus.PENDING, Step.SUBMIT, "al", subject="to 粤B9")


names = st.text(min_size=1, max_size=12)


@given(actor=names, submitter=st.one_of(st.none(), names), approve=st.booleans())
def test_four_eyes_for_any_names(actor: str, submitter: str | None, approve: bool) -> None:
    for flow, _, _ in LEGAL.values():
        for status in flow.awaiting:
            if actor == submitter:
                with pytest.raises(FourEyesViolation):
                    flow.review(status, approve, actor, submitter)
            else:
                flow.review(status, approve, actor, submitter)
