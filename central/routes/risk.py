"""Risk rules (versioned) and lane parameters (参数库)."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict

from kakou.central import risk, risk_eval, whitelist
from kakou.central.risk import RiskRuleIn
from kakou.central.routes.deps import CentralDep, review_refusals
from kakou.central.routes.security import AnyUser, Officer, Reviewer, Revision, RowId, domain_errors
from kakou.central.schemas import ParameterDraftOut, ReviewIn, RiskRuleVersionOut
from kakou.central.service import NotFound
from kakou.central.tables import ReleaseOrderRow
from kakou.central.whitelist import WhitelistIn
from kakou.sync.knowledge import LaneParameters, RiskRule

router = APIRouter(prefix="/api/v1", tags=["risk rules and parameters"])


@router.post("/risk-rules", status_code=201)
def save_rule(body: RiskRuleIn, central: CentralDep, me: Officer) -> RiskRuleVersionOut:
    """A new rule, or a new version of an existing rule_id, as a draft: in force (and on the lanes)
    once another officer approves it."""
    with domain_errors():
        return RiskRuleVersionOut.model_validate(risk.save_rule(central, me.username, body))


@router.get("/risk-rules/pending")
def pending_rules(central: CentralDep, _me: AnyUser) -> list[RiskRuleVersionOut]:
    """Draft versions awaiting review."""
    return [RiskRuleVersionOut.model_validate(r) for r in risk.pending_rules(central)]


@router.post(
    "/risk-rules/{rule_id}/versions/{version}/review",
    responses=review_refusals(
        "the reviewer prepared this version", "not a draft, or a newer version is already approved"
    ),
)
def review_rule(rule_id: str, version: RowId, body: ReviewIn, central: CentralDep, me: Reviewer) -> RiskRuleVersionOut:
    """Approve (put in force, publish to the lanes) or reject a draft version."""
    with domain_errors():
        return RiskRuleVersionOut.model_validate(
            risk.review_rule(central, me.username, rule_id, version, body.approve, body.note)
        )


@router.get("/risk-rules")
def rules_in_force(central: CentralDep, _me: AnyUser) -> list[RiskRule]:
    return risk.rules_in_force(central)


@router.get("/risk-rules/{rule_id}/versions")
def rule_versions(rule_id: str, central: CentralDep, _me: AnyUser) -> list[RiskRuleVersionOut]:
    with domain_errors():
        return [RiskRuleVersionOut.model_validate(r) for r in risk.rule_versions(central, rule_id)]


@router.delete("/risk-rules/{rule_id}", status_code=204)
def retire_rule(rule_id: str, central: CentralDep, me: Officer) -> None:
    with domain_errors():
        risk.retire_rule(central, me.username, rule_id)


@router.put("/parameters", status_code=201)
def set_parameters(
    body: LaneParameters, central: CentralDep, me: Officer, expect_revision: Revision = None
) -> ParameterDraftOut:
    """A draft of one scope's parameters; applied and published to the lanes when another officer
    approves it (`POST /parameters/drafts/{id}/review`)."""
    with domain_errors():
        return ParameterDraftOut.model_validate(risk.propose_parameters(central, me.username, body, expect_revision))


@router.get("/parameters/drafts")
def parameter_drafts(
    central: CentralDep, _me: AnyUser, status: Literal["draft", "approved", "rejected"] | None = "draft"
) -> list[ParameterDraftOut]:
    return [ParameterDraftOut.model_validate(d) for d in risk.parameter_drafts(central, status)]


@router.post(
    "/parameters/drafts/{draft_id}/review",
    responses=review_refusals(
        "the reviewer prepared this draft", "not awaiting review, or the parameters changed since"
    ),
)
def review_parameters(draft_id: RowId, body: ReviewIn, central: CentralDep, me: Reviewer) -> ParameterDraftOut:
    with domain_errors():
        return ParameterDraftOut.model_validate(
            risk.review_parameters(central, me.username, draft_id, body.approve, body.note)
        )


@router.get("/parameters")
def list_parameters(central: CentralDep, _me: AnyUser) -> list[dict[str, Any]]:
    return risk.list_parameters(central)


@router.get("/parameters/effective")
def effective_parameters(central: CentralDep, _me: AnyUser, lane: str | None = None) -> LaneParameters:
    return risk.parameters_for(central, lane)


# -- the risk whitelist (白名单) and central's verdict on an order ------------------------------------


class WhitelistOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    target_kind: str
    value: str
    reason: str
    valid_until: datetime | None
    status: str
    created_by: str
    created_at: datetime
    reviewed_by: str | None
    reviewed_at: datetime | None
    review_note: str
    revoked_by: str | None


@router.post("/risk-whitelist", status_code=201)
def propose_whitelist(body: WhitelistIn, central: CentralDep, me: Officer) -> WhitelistOut:
    """A vehicle (plate) or carrier (code) to leave out of central's risk verdicts, as a draft: in
    force once another officer approves it."""
    with domain_errors():
        return WhitelistOut.model_validate(whitelist.propose(central, me.username, body))


@router.get("/risk-whitelist")
def list_whitelist(
    central: CentralDep, _me: AnyUser, status: Literal["draft", "active", "rejected", "revoked"] | None = None
) -> list[WhitelistOut]:
    return [WhitelistOut.model_validate(r) for r in whitelist.entries(central, status)]


@router.post(
    "/risk-whitelist/{entry_id}/review",
    responses=review_refusals("the reviewer prepared this entry"),
)
def review_whitelist(entry_id: RowId, body: ReviewIn, central: CentralDep, me: Reviewer) -> WhitelistOut:
    """Approve (in force; the covered orders' verdicts republished) or reject."""
    with domain_errors():
        return WhitelistOut.model_validate(whitelist.review(central, me.username, entry_id, body.approve, body.note))


@router.delete("/risk-whitelist/{entry_id}")
def revoke_whitelist(entry_id: RowId, central: CentralDep, me: Officer) -> WhitelistOut:
    """Out of force at once (it only makes the lanes stricter)."""
    with domain_errors():
        return WhitelistOut.model_validate(whitelist.revoke(central, me.username, entry_id))


@router.get("/release-orders/{order_no}/risk")
def order_risk(
    order_no: str, central: CentralDep, _me: AnyUser, lang: Literal["zh", "en"] = "zh"
) -> list[dict[str, Any]]:
    """Central's verdict on the order under the rules in force now: each rule whose
    declaration-side conditions hold, from when, and what was found (codes, params and text)."""
    with domain_errors(), central.sessions() as s:
        row = s.get(ReleaseOrderRow, order_no)
        if row is None:
            raise NotFound(f"no release order {order_no}")
        return [
            {**h.model_dump(mode="json"), "texts": [f.text(lang) for f in h.findings]}
            for h in risk_eval.verdict(s, row)
        ]
