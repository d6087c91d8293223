"""Lane officers' PINs managed at central (issue 15): issued, changed and revoked here, and sent to
the lanes through the signed downlink as salted scrypt hashes (kakou.sync.knowledge.OfficerPin) —
never the PIN itself, which central does not keep either. The lanes' own lockouts (per officer and
per node, kakou.edge.officers) apply to these officers as to those of their config file; a revoked
officer can no longer log in at any lane, and their open lane sessions end."""

from __future__ import annotations

from datetime import datetime
from itertools import pairwise
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import func, select

from kakou.central import audit
from kakou.central.service import Central, NotFound
from kakou.central.tables_sync import ChangeRow
from kakou.sync.knowledge import OfficerPin
from kakou.sync.messages import ChangeKind
from kakou.sync.pins import hash_pin

OFFICER_ID = r"^[A-Za-z0-9_.-]{1,32}$"


class LaneOfficerIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field("", max_length=64)
    # Six to eight digits: the lanes' pads take digits; four were guessed in minutes before lockouts.
    pin: str = Field(pattern=r"^[0-9]{6,8}$")


class LaneOfficerOut(BaseModel):
    officer: str
    name: str
    revoked: bool
    changed_at: datetime | None = None
    version: int


def _weak(pin: str) -> bool:
    steps = {int(b) - int(a) for a, b in pairwise(pin)}
    return len(set(pin)) == 1 or steps in ({1}, {-1})


def set_pin(c: Central, actor: str, officer: str, body: LaneOfficerIn) -> LaneOfficerOut:
    """Issue or change an officer's PIN; the lanes get its hash with their next changes."""
    if _weak(body.pin):
        raise ValueError("PIN 过于简单（相同或连续数字）/ the PIN is too simple (one digit repeated, or a run)")
    data = OfficerPin(officer=officer, name=body.name, pin_hash=hash_pin(body.pin))
    with audit.write(c, actor) as w:
        version = w.publish(ChangeKind.OFFICER, officer, data.model_dump(mode="json"))
        w.audit("lane_officer.pin", f"lane_officer:{officer}", {"name": body.name})  # never the PIN or hash
    return LaneOfficerOut(officer=officer, name=body.name, revoked=False, version=version)


def revoke(c: Central, actor: str, officer: str) -> LaneOfficerOut:
    with audit.write(c, actor) as w:
        current = _latest(w.session, officer)
        if current is None:
            raise NotFound(f"no lane officer {officer}")
        name = str((current.data or {}).get("name") or "")
        data = OfficerPin(officer=officer, name=name, revoked=True)
        version = w.publish(ChangeKind.OFFICER, officer, data.model_dump(mode="json"))
        w.audit("lane_officer.revoke", f"lane_officer:{officer}")
    return LaneOfficerOut(officer=officer, name=name, revoked=True, version=version)


def _latest(s: Any, officer: str) -> ChangeRow | None:
    return s.scalar(
        select(ChangeRow)
        .where(ChangeRow.kind == ChangeKind.OFFICER.value, ChangeRow.key == officer)
        .order_by(ChangeRow.version.desc())
        .limit(1)
    )


def list_officers(c: Central) -> list[LaneOfficerOut]:
    """Every officer central manages, as the lanes have them (no hashes)."""
    with c.sessions() as s:
        last = (
            select(ChangeRow.key, func.max(ChangeRow.version).label("v"))
            .where(ChangeRow.kind == ChangeKind.OFFICER.value)
            .group_by(ChangeRow.key)
            .subquery()
        )
        rows = s.scalars(select(ChangeRow).join(last, ChangeRow.version == last.c.v).order_by(ChangeRow.key))
        return [
            LaneOfficerOut(
                officer=r.key,
                name=str((r.data or {}).get("name") or ""),
                revoked=bool((r.data or {}).get("revoked")),
                changed_at=r.created_at,
                version=r.version,
            )
            for r in rows
        ]
