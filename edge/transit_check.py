"""The e-seal and transit (转关) checks of decide(): at the destination lane, the arriving truck's
plate, containers and electronic seal against the open transit the cache holds for it.

Kept apart from decision.py (which calls `transit_checks`) so the rest of the decision reads as it
did; pure like it: no I/O, no clock.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

from kakou.edge.knowledge import TransitView
from kakou.sync.checks import CheckCode

if TYPE_CHECKING:
    from kakou.edge.decision import Observation


class _Check(Protocol):
    def __call__(self, code: CheckCode, ok: bool, /, **params: Any) -> bool: ...


def _listed(items: set[str]) -> str:
    return ", ".join(sorted(items)) or "-"


def seal_checks(obs: Observation, check: _Check) -> None:
    """What the lane's e-seal reader heard. A lane without a reader reports nothing, and that is how
    central tells 'no reader here' from 'no seal heard' (E_SEAL_NONE)."""
    if obs.e_seal is not None:
        check(CheckCode.E_SEAL_READ, True, seal=obs.e_seal)
        if obs.e_seal_status == "tampered":
            check(CheckCode.E_SEAL_TAMPERED, False, seal=obs.e_seal)  # whatever the documents say
        elif obs.e_seal_status == "low_battery":
            check(CheckCode.E_SEAL_LOW_BATTERY, True, seal=obs.e_seal)
    elif obs.e_seal_reader:
        check(CheckCode.E_SEAL_NONE, True)


def transit_checks(obs: Observation, transits: list[TransitView], check: _Check) -> str | None:
    """The transit this truck arrives on, checked. Returns None when no open transit concerns it
    (the release-order check applies as usual); the transit number when everything matches; ""
    when one concerns it and something does not match (the officer decides).

    A transit concerns the truck on an inward lane when its plate or one of its containers is the
    truck's. The transit is the document the truck arrives on, so it takes the release order's place.
    """
    if obs.direction != "in":
        return None
    seen = set(obs.containers)
    mine = sorted(
        (t for t in transits if (obs.plate is not None and t.plate == obs.plate) or seen & set(t.containers)),
        key=lambda t: t.transit_no,
    )
    if not mine:
        return None
    if len(mine) > 1:
        check(CheckCode.TRANSIT_SEVERAL, False, transits=", ".join(t.transit_no for t in mine))
        return ""
    t = mine[0]
    ok = True
    if obs.plate is not None and t.plate != obs.plate:
        ok = check(CheckCode.TRANSIT_PLATE_MISMATCH, False, transit_no=t.transit_no, plate=t.plate)
    declared = set(t.containers)
    if declared != seen:
        ok = check(
            CheckCode.TRANSIT_CONTAINERS_MISMATCH,
            False,
            transit_no=t.transit_no,
            missing=_listed(declared - seen),
            extra=_listed(seen - declared),
        )
    if t.e_seal:
        if not obs.e_seal_reader:
            # Nothing to read it with: an officer may look at the seal; no false "not read".
            check(CheckCode.TRANSIT_SEAL_NOT_CHECKED, True, transit_no=t.transit_no, declared=t.e_seal)
        elif obs.e_seal is None:
            ok = check(CheckCode.TRANSIT_SEAL_NOT_READ, False, transit_no=t.transit_no, declared=t.e_seal)
        elif obs.e_seal != t.e_seal:
            ok = check(
                CheckCode.TRANSIT_SEAL_MISMATCH, False, transit_no=t.transit_no, declared=t.e_seal, seal=obs.e_seal
            )
    if obs.e_seal is not None and obs.e_seal_status == "tampered":
        ok = False  # reported by seal_checks
    if not ok:
        return ""
    check(CheckCode.TRANSIT_ARRIVED, True, transit_no=t.transit_no, containers=_listed(declared))
    return t.transit_no
