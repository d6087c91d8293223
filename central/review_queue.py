"""What awaits review (待复核), every kind in one paged list: `GET /api/v1/reviews`.

One SELECT per kind of what its flow (kakou.central.review_model) says awaits review (the
statuses in `Flow.awaiting`), joined with UNION ALL, so a page is one query and the counts per
kind another, whatever the number of kinds.
Oldest first, by when each was submitted or asked for; a request pending since before its time was
recorded (migration 0017) comes after the rest.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from datetime import datetime
from typing import Any
from urllib.parse import quote

from pydantic import BaseModel
from sqlalchemy import Select, SQLColumnExpression, String, and_, cast, func, literal, null, or_, select, union_all
from sqlalchemy.orm import aliased

from kakou.central import review_model as m
from kakou.central.review_model import KIND_LABELS, MatchRule, ReviewKind
from kakou.central.service import Central
from kakou.central.tables import (
    ControlOrderRow,
    DeclarationRow,
    ParameterDraftRow,
    ReleaseOrderRow,
    RiskRuleRow,
    RiskWhitelistRow,
)
from kakou.central.tables_ledger import LedgerReconciliationRow

MAX_LIMIT = 200


class ReviewItem(BaseModel):
    """One record (or request) awaiting review."""

    kind: ReviewKind
    label: str  # the kind in Chinese (label_en: in English)
    label_en: str
    key: str  # the record's key in its own endpoints: an order number, an id, "RULE/VERSION"
    summary: str
    submitted_by: str | None
    submitted_at: datetime | None  # None: a request asked for before its time was recorded
    approve_url: str  # POST {"approve": true|false, "note": …}: approves and rejects alike
    reject_url: str


class KindCount(BaseModel):
    kind: ReviewKind
    label: str
    label_en: str
    count: int


class ReviewPage(BaseModel):
    total: int
    limit: int
    offset: int
    items: list[ReviewItem]
    kinds: list[KindCount]  # every kind asked for, with how many await review (zero too)


def _row(
    kind: ReviewKind,
    key: SQLColumnExpression[Any],
    by: SQLColumnExpression[Any] | Any,
    at: SQLColumnExpression[Any],
    *parts: SQLColumnExpression[Any],
) -> Select[Any]:
    """The queue's columns for one kind: kind, key, by, at and up to three summary parts."""
    padded = [cast(p, String) for p in (*parts, *[null()] * (3 - len(parts)))]
    return select(
        literal(kind.value, String).label("kind"),
        cast(key, String).label("key"),
        by.label("by"),
        at.label("at"),
        *(p.label(f"p{i}") for i, p in enumerate(padded)),
    )


def _awaiting(
    flow: m.Flow[Any],
    status: SQLColumnExpression[Any],
    key: SQLColumnExpression[Any],
    by: SQLColumnExpression[Any],
    at: SQLColumnExpression[Any],
    *parts: SQLColumnExpression[Any],
) -> Select[Any]:
    """The records of `flow`'s kind whose `status` the flow says awaits review."""
    return _row(flow.kind, key, by, at, *parts).where(status.in_(flow.awaiting))


def _pending(kind: ReviewKind) -> Select[Any]:
    match kind:
        case ReviewKind.RELEASE_ORDER:
            o = ReleaseOrderRow
            return _awaiting(m.RELEASE_ORDER, o.status, o.order_no, o.created_by, o.created_at, o.order_no, o.plate)
        case ReviewKind.VEHICLE_CHANGE:
            o = ReleaseOrderRow
            return _row(kind, o.order_no, o.pending_by, o.pending_at, o.order_no, o.plate, o.pending_plate).where(
                o.pending_plate.is_not(None)
            )
        case ReviewKind.CONTROL_ORDER:
            c = ControlOrderRow
            emergency_unreviewed = and_(
                c.emergency.is_(True),
                c.status.in_(m.EMERGENCY_CONTROL_ORDER.awaiting),
                c.reviewed_by.is_(None),
            )
            return _row(kind, c.order_no, c.created_by, c.created_at, c.order_no, c.target_value).where(
                or_(c.status.in_(m.CONTROL_ORDER.awaiting), emergency_unreviewed)
            )
        case ReviewKind.CONTROL_REVOKE:
            c = ControlOrderRow
            by, at = c.revoke_requested_by, c.revoke_requested_at
            return _awaiting(m.CONTROL_REVOKE, c.status, c.order_no, by, at, c.order_no, c.target_value)
        case ReviewKind.RISK_RULE:
            r = RiskRuleRow
            key = r.rule_id + "/" + cast(r.version, String)
            return _awaiting(m.RISK_RULE, r.review_status, key, r.created_by, r.created_at, r.rule_id, r.version)
        case ReviewKind.PARAMETERS:
            p = ParameterDraftRow
            return _awaiting(m.PARAMETERS, p.status, p.id, p.created_by, p.created_at, p.id, p.scope)
        case ReviewKind.DECLARATION:
            d = DeclarationRow
            return _awaiting(
                m.DECLARATION, d.review_status, d.id, d.created_by, d.created_at, d.doc_no, d.stage, d.doc_type
            ).where(d.deleted.is_(False))
        case ReviewKind.MANUAL_MATCH:
            # Both documents of a pair carry manual_pending: one entry per pair, under the lower id.
            a, b = DeclarationRow, aliased(DeclarationRow)
            return (
                _row(kind, a.id, a.match_by, a.match_proposed_at, a.doc_no, b.doc_no)
                .join(b, b.id == a.matched_id)
                .where(a.match_rule == MatchRule.MANUAL_PENDING, a.id < a.matched_id, a.deleted.is_(False))
            )
        case ReviewKind.RECONCILIATION:
            rec = LedgerReconciliationRow
            return _awaiting(
                m.RECONCILIATION, rec.status, rec.id, rec.prepared_by, rec.prepared_at, rec.ledger_no, rec.id
            )
        case ReviewKind.WHITELIST:
            e = RiskWhitelistRow
            return _awaiting(m.WHITELIST, e.status, e.id, e.created_by, e.created_at, e.id, e.target_kind, e.value)


# Per kind: the summary from the parts ({0} {1} {2}), and the endpoint that approves and rejects
# it (`ReviewIn`) from the key ({k}; a risk rule's is RULE/VERSION: {rule}, {version}).
_SHOWN: dict[ReviewKind, tuple[str, str]] = {
    ReviewKind.RELEASE_ORDER: ("{0} · {1}", "/api/v1/release-orders/{k}/review"),
    ReviewKind.VEHICLE_CHANGE: ("{0}: {1} → {2}", "/api/v1/release-orders/{k}/vehicle/review"),
    ReviewKind.CONTROL_ORDER: ("{0} · {1}", "/api/v1/control-orders/{k}/review"),
    ReviewKind.CONTROL_REVOKE: ("{0} · {1}", "/api/v1/control-orders/{k}/revoke/review"),
    ReviewKind.RISK_RULE: ("{0} v{1}", "/api/v1/risk-rules/{rule}/versions/{version}/review"),
    ReviewKind.PARAMETERS: ("#{0} · {1}", "/api/v1/parameters/drafts/{k}/review"),
    ReviewKind.DECLARATION: ("{0} · {2}/{1}", "/api/v1/declarations/{k}/review"),
    ReviewKind.MANUAL_MATCH: ("{0} ↔ {1}", "/api/v1/declarations/{k}/match/review"),
    ReviewKind.RECONCILIATION: ("{0} #{1}", "/api/v1/ledger-reconciliations/{k}/review"),
    ReviewKind.WHITELIST: ("#{0} · {1} {2}", "/api/v1/risk-whitelist/{k}/review"),
}


def review_url(kind: ReviewKind, key: str) -> str:
    """The endpoint that approves and rejects this item (`ReviewIn`)."""
    rule, _, version = key.rpartition("/")
    return _SHOWN[kind][1].format(k=quote(key, safe=""), rule=quote(rule, safe=""), version=version)


def _item(row: Any) -> ReviewItem:
    kind = ReviewKind(row.kind)
    url = review_url(kind, row.key)
    label = KIND_LABELS[kind]
    return ReviewItem(
        kind=kind,
        label=label.zh,
        label_en=label.en,
        key=row.key,
        summary=_SHOWN[kind][0].format(row.p0, row.p1, row.p2),
        submitted_by=row.by,
        submitted_at=row.at,
        approve_url=url,
        reject_url=url,
    )


def pending(c: Central, limit: int, offset: int, kinds: Iterable[ReviewKind] | None = None) -> ReviewPage:
    """One page of what awaits review, of the kinds asked for (default: every kind)."""
    asked: Sequence[ReviewKind] = list(dict.fromkeys(kinds or ReviewKind))
    queue = union_all(*(_pending(k) for k in asked)).subquery()
    with c.read() as s:
        counts: dict[str, int] = {
            kind: n for kind, n in s.execute(select(queue.c.kind, func.count()).group_by(queue.c.kind))
        }
        rows = s.execute(
            select(queue)
            .order_by(queue.c.at.is_(None), queue.c.at, queue.c.kind, queue.c.key)
            .limit(limit)
            .offset(offset)
        ).all()
    return ReviewPage(
        total=sum(counts.values()),
        limit=limit,
        offset=offset,
        items=[_item(r) for r in rows],
        kinds=[
            KindCount(kind=k, label=KIND_LABELS[k].zh, label_en=KIND_LABELS[k].en, count=counts.get(k.value, 0))
            for k in asked
        ],
    )
