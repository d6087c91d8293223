"""The risk whitelist (白名单): vehicles and carriers central's risk verdicts leave alone.

An entry is prepared by one officer and in force only once another approves it (the four-eyes
pattern of every rule in central); approving or revoking one republishes the affected active
release orders with their new verdict (kakou.central.risk_eval.refresh). Revoking is at once: it
only makes the lanes stricter. Control orders (布控) and the lane's own checks are never exempt.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.orm import Session

from kakou.central import audit, reviews, risk_eval
from kakou.central.db import where_given
from kakou.central.review_model import WHITELIST, Step, WhitelistStatus
from kakou.central.reviews import Reviewed
from kakou.central.service import Central, NotFound
from kakou.central.tables import RegistrationRow, ReleaseOrderRow, RiskWhitelistRow
from kakou.sync import limits


class WhitelistIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    target_kind: Literal["vehicle", "carrier"]
    value: str = Field(min_length=1, max_length=64, pattern=r"^[^\x00-\x1f\x7f]+$")  # plate or carrier code
    reason: str = Field(min_length=1, max_length=limits.NOTE)
    valid_until: datetime | None = None


def _now() -> datetime:
    return datetime.now(UTC)


def propose(c: Central, actor: str, entry: WhitelistIn) -> RiskWhitelistRow:
    with audit.write(c, actor) as w:
        row = RiskWhitelistRow(
            target_kind=entry.target_kind,
            value=entry.value,
            reason=entry.reason,
            valid_until=entry.valid_until,
            status=WHITELIST.submitted.value,
            created_by=actor,
            created_at=_now(),
            review_note="",
        )
        w.session.add(row)
        w.session.flush()
        w.audit("whitelist.prepare", f"whitelist:{row.id}", entry.model_dump(mode="json"))
    return row


def _affected(w: audit.Work, row: RiskWhitelistRow) -> None:
    """Republish the verdicts of the orders the entry covers."""
    risk_eval.refresh(w, row.value if row.target_kind == "vehicle" else None)


ENTRY_REVIEW = Reviewed(RiskWhitelistRow, "whitelist entry", WHITELIST, "created_by", "whitelist:{id}", "whitelist")


def _refresh_if_approved(w: audit.Work, row: RiskWhitelistRow, _status: WhitelistStatus, approve: bool) -> None:
    w.session.flush()
    if approve:
        _affected(w, row)


def review(c: Central, actor: str, entry_id: int, approve: bool, note: str = "") -> RiskWhitelistRow:
    return reviews.decide(c, actor, ENTRY_REVIEW, entry_id, approve, note, effects=_refresh_if_approved)


def revoke(c: Central, actor: str, entry_id: int) -> RiskWhitelistRow:
    with audit.write(c, actor) as w:
        row = w.session.get(RiskWhitelistRow, entry_id)
        if row is None:
            raise NotFound(f"no whitelist entry {entry_id}")
        status = WhitelistStatus(row.status)
        row.status = reviews.advance(WHITELIST, status, Step.REVOKE, actor, subject=f"whitelist entry {entry_id}").value
        row.revoked_by = actor
        w.session.flush()
        _affected(w, row)
        w.audit("whitelist.revoke", f"whitelist:{entry_id}", {})
    return row


def entries(c: Central, status: str | None = None) -> list[RiskWhitelistRow]:
    with c.sessions() as s:
        q = where_given(select(RiskWhitelistRow).order_by(RiskWhitelistRow.id), (RiskWhitelistRow.status, status))
        return list(s.scalars(q))


def exempt(s: Session, order: ReleaseOrderRow) -> bool:
    """Whether the order's vehicle, or its registered carrier, is on the whitelist now."""
    carrier = s.scalar(
        select(RegistrationRow.data).where(
            RegistrationRow.kind == "vehicle", RegistrationRow.key == order.plate, RegistrationRow.deleted.is_(False)
        )
    )
    code = carrier.get("carrier") if isinstance(carrier, dict) else None
    match: ColumnElement[bool] = (RiskWhitelistRow.target_kind == "vehicle") & (RiskWhitelistRow.value == order.plate)
    if code:
        match = or_(match, (RiskWhitelistRow.target_kind == "carrier") & (RiskWhitelistRow.value == code))
    for row in s.scalars(select(RiskWhitelistRow).where(RiskWhitelistRow.status == WhitelistStatus.ACTIVE, match)):
        if (
            row.valid_until is None
            or (row.valid_until if row.valid_until.tzinfo else row.valid_until.replace(tzinfo=UTC)) > _now()
        ):
            return True
    return False
