"""Risk rules as data (versioned; each version reviewed by a second officer before it is in force)
and the lane parameter library (参数库), both published to lanes."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from kakou.central import audit, reviews, risk_eval
from kakou.central.db import where_given
from kakou.central.review_model import PARAMETERS, RISK_RULE, DraftStatus
from kakou.central.reviews import Reviewed
from kakou.central.service import Central, Conflict, NotFound
from kakou.central.tables import ParameterDraftRow, ParametersRow, RiskRuleRow
from kakou.sync.knowledge import Condition, LaneParameters, RiskRule
from kakou.sync.messages import ChangeKind, Outcome


class RiskRuleIn(BaseModel):
    """A rule as an officer writes it; central numbers the versions."""

    model_config = ConfigDict(extra="forbid")

    rule_id: str = Field(min_length=1, max_length=40, pattern=r"^[A-Za-z0-9_.-]+$")
    name: str = Field(min_length=1)
    conditions: list[Condition] = Field(min_length=1)
    outcome: Outcome
    explanation: str = Field(min_length=1)
    priority: int = 100


def save_rule(c: Central, actor: str, rule: RiskRuleIn) -> RiskRuleRow:
    """Store a new version of the rule (the first is version 1) as a draft; it goes in force
    only when another officer approves it (`review_rule`)."""
    with audit.write(c, actor) as w:
        latest = w.session.scalar(select(func.max(RiskRuleRow.version)).where(RiskRuleRow.rule_id == rule.rule_id))
        version = (latest or 0) + 1
        data = RiskRule(version=version, **rule.model_dump()).model_dump(mode="json")
        row = RiskRuleRow(
            rule_id=rule.rule_id,
            version=version,
            data=data,
            active=False,
            created_by=actor,
            created_at=datetime.now(UTC),
            review_status=RISK_RULE.submitted.value,
            review_note="",
        )
        w.session.add(row)
        w.audit("risk_rule.prepare", f"risk_rule:{rule.rule_id}", data)
    return row


RULE_REVIEW = Reviewed(
    RiskRuleRow, "rule", RISK_RULE, "created_by", "risk_rule:{rule_id}", "risk_rule", column="review_status"
)


def review_rule(
    c: Central, actor: str, rule_id: str, version: int, approve: bool, note: str = "", now: datetime | None = None
) -> RiskRuleRow:
    """Approve a draft version (it replaces the version in force, on the lanes too) or reject it."""

    def put_in_force(w: audit.Work, row: RiskRuleRow, _status: DraftStatus, approve: bool) -> dict[str, Any]:
        if approve:
            newer = w.session.scalar(
                select(func.max(RiskRuleRow.version)).where(
                    RiskRuleRow.rule_id == rule_id, RiskRuleRow.review_status == DraftStatus.APPROVED
                )
            )
            if newer is not None and newer > version:
                raise Conflict(f"rule {rule_id} version {newer} was approved after this draft; reject it")
            w.session.execute(RiskRuleRow.__table__.update().where(RiskRuleRow.rule_id == rule_id).values(active=False))
            row.active = True
            w.publish(ChangeKind.RISK_RULE, rule_id, row.data)
            w.session.flush()
            risk_eval.refresh(w)  # the orders' verdicts under the rules now in force
        return {"version": version}

    return reviews.decide(
        c,
        actor,
        RULE_REVIEW,
        (rule_id, version),
        approve,
        note,
        now=now,
        effects=put_in_force,
        label=f"rule {rule_id} version {version}",
    )


def pending_rules(c: Central) -> list[RiskRuleRow]:
    """Draft versions awaiting review, oldest first."""
    with c.sessions() as s:
        return list(
            s.scalars(
                select(RiskRuleRow)
                .where(RiskRuleRow.review_status == DraftStatus.DRAFT)
                .order_by(RiskRuleRow.created_at, RiskRuleRow.rule_id, RiskRuleRow.version)
            )
        )


def retire_rule(c: Central, actor: str, rule_id: str) -> None:
    with audit.write(c, actor) as w:
        row = w.session.scalar(select(RiskRuleRow).where(RiskRuleRow.rule_id == rule_id, RiskRuleRow.active.is_(True)))
        if row is None:
            raise NotFound(f"no rule {rule_id} in force")
        row.active = False
        w.publish(ChangeKind.RISK_RULE, rule_id, None)
        w.session.flush()
        risk_eval.refresh(w)
        w.audit("risk_rule.retire", f"risk_rule:{rule_id}", {"version": row.version})


def rules_in_force(c: Central) -> list[RiskRule]:
    with c.sessions() as s:
        rows = s.scalars(select(RiskRuleRow).where(RiskRuleRow.active.is_(True)).order_by(RiskRuleRow.rule_id))
        return [RiskRule.model_validate(r.data) for r in rows]


def rule_versions(c: Central, rule_id: str) -> list[RiskRuleRow]:
    with c.sessions() as s:
        rows = list(s.scalars(select(RiskRuleRow).where(RiskRuleRow.rule_id == rule_id).order_by(RiskRuleRow.version)))
    if not rows:
        raise NotFound(f"no rule {rule_id}")
    return rows


def set_parameters(c: Central, actor: str, params: LaneParameters, expect_revision: int | None = None) -> int:
    """Store the parameters of one lane (or "*" for all) and publish them; returns the revision.

    At once, for settings that come already reviewed (a site's commissioning, the sync tests); the
    API never calls this: officers' edits go through `propose_parameters` → `review_parameters`."""
    data = params.model_dump(mode="json")
    with audit.write(c, actor) as w:
        row = w.session.get(ParametersRow, params.scope)
        if row is not None and expect_revision is not None and row.revision != expect_revision:
            raise Conflict(f"parameters of {params.scope} were changed meanwhile (revision {row.revision})")
        if row is None:
            row = ParametersRow(scope=params.scope, data=data, revision=1, updated_by=actor)
            w.session.add(row)
        else:
            row.data, row.revision, row.updated_by, row.updated_at = data, row.revision + 1, actor, datetime.now(UTC)
        w.publish(ChangeKind.PARAMETERS, params.scope, data)
        w.audit("parameters.set", f"parameters:{params.scope}", data)
        return row.revision


def propose_parameters(
    c: Central, actor: str, params: LaneParameters, expect_revision: int | None = None
) -> ParameterDraftRow:
    """An officer's edit as a draft: nothing changes on the lanes until another officer approves it."""
    with audit.write(c, actor) as w:
        row = w.session.get(ParametersRow, params.scope)
        if row is not None and expect_revision is not None and row.revision != expect_revision:
            raise Conflict(f"parameters of {params.scope} were changed meanwhile (revision {row.revision})")
        draft = ParameterDraftRow(
            scope=params.scope,
            data=params.model_dump(mode="json"),
            based_on=row.revision if row else None,
            status=PARAMETERS.submitted.value,
            created_by=actor,
            created_at=datetime.now(UTC),
            review_note="",
        )
        w.session.add(draft)
        w.session.flush()
        w.audit("parameters.prepare", f"parameters:{params.scope}", {"draft": draft.id, **draft.data})
    return draft


PARAMETER_REVIEW = Reviewed(
    ParameterDraftRow, "parameter draft", PARAMETERS, "created_by", "parameters:{scope}", "parameters"
)


def _put_parameters_in_force(
    w: audit.Work, draft: ParameterDraftRow, _status: DraftStatus, approve: bool
) -> dict[str, Any]:
    """Approved: stored as a new revision of the scope's parameters and published to the lanes."""
    if approve:
        row = w.session.get(ParametersRow, draft.scope)
        if (row.revision if row else None) != draft.based_on:
            raise Conflict(
                f"parameters of {draft.scope} changed since this draft was written "
                f"(now revision {row.revision if row else None}); reject it"
            )
        if row is None:
            row = ParametersRow(scope=draft.scope, data=draft.data, revision=1, updated_by=draft.created_by)
            w.session.add(row)
        else:
            row.data, row.revision = draft.data, row.revision + 1
            row.updated_by, row.updated_at = draft.created_by, draft.reviewed_at or datetime.now(UTC)
        w.publish(ChangeKind.PARAMETERS, draft.scope, draft.data)
        draft.revision = row.revision
    return {"draft": draft.id, "revision": draft.revision}


def review_parameters(
    c: Central, actor: str, draft_id: int, approve: bool, note: str = "", now: datetime | None = None
) -> ParameterDraftRow:
    """Approve a draft (stored, a new revision, published to the lanes) or reject it."""
    return reviews.decide(
        c, actor, PARAMETER_REVIEW, draft_id, approve, note, now=now, effects=_put_parameters_in_force
    )


def parameter_drafts(c: Central, status: str | None = DraftStatus.DRAFT) -> list[ParameterDraftRow]:
    with c.sessions() as s:
        q = where_given(select(ParameterDraftRow).order_by(ParameterDraftRow.id), (ParameterDraftRow.status, status))
        return list(s.scalars(q))


def parameters_for(c: Central, lane: str | None = None) -> LaneParameters:
    """The lane's own parameters, else the defaults for every lane, else the built-in ones."""
    with c.sessions() as s:
        for scope in ([lane] if lane else []) + ["*"]:
            row = s.get(ParametersRow, scope)
            if row is not None:
                return LaneParameters.model_validate(row.data)
    return LaneParameters()


def list_parameters(c: Central) -> list[dict[str, Any]]:
    with c.sessions() as s:
        return [
            {"revision": r.revision, "updated_by": r.updated_by, **r.data}
            for r in s.scalars(select(ParametersRow).order_by(ParametersRow.scope))
        ]
