"""Lane officers' PINs, managed by the security administrator and sent to the lanes as hashes."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Path

from kakou.central import lane_officers
from kakou.central.lane_officers import OFFICER_ID, LaneOfficerIn, LaneOfficerOut
from kakou.central.routes.deps import CentralDep
from kakou.central.routes.security import SecurityAdmin, domain_errors

router = APIRouter(prefix="/api/v1/lane-officers", tags=["lane officers"])
OfficerId = Annotated[str, Path(pattern=OFFICER_ID)]


@router.get("")
def list_officers(central: CentralDep, _me: SecurityAdmin) -> list[LaneOfficerOut]:
    return lane_officers.list_officers(central)


@router.put("/{officer}")
def set_pin(officer: OfficerId, body: LaneOfficerIn, central: CentralDep, me: SecurityAdmin) -> LaneOfficerOut:
    """Issue or change the officer's PIN (6–8 digits); the lanes get its salted hash, never the PIN."""
    with domain_errors():
        return lane_officers.set_pin(central, me.username, officer, body)


@router.post("/{officer}/revoke")
def revoke(officer: OfficerId, central: CentralDep, me: SecurityAdmin) -> LaneOfficerOut:
    """No more logins at any lane; the officer's open lane sessions end."""
    with domain_errors():
        return lane_officers.revoke(central, me.username, officer)
