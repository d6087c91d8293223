"""Inspection round trip (查验): the result an officer records, and the "inspected" mark by which
a vehicle coming back from inspection is judged against that result instead of from scratch.

The result is a pass record (it supersedes the pass that sent the vehicle to inspection) carrying
one check with the result's code, so it reaches central through the outbox like any pass and
central counts seizures from it. The mark is read back from those records: the node's own passes
(no second copy to keep consistent, and a lane that is offline still knows), and central's
`inspection` changes for results recorded at other nodes of the site.

A mark applies to the same vehicle (plate) for `MARK_VALID` after the result, and, when the
inspected vehicle carried containers, only while the containers seen are among them: new cargo
is judged from scratch.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from kakou.sync.checks import INSPECTION_RESULT_CODES, INSPECTION_RESULTS, Check, CheckCode
from kakou.sync.knowledge import INSPECTION_MARK_VALID_H
from kakou.sync.messages import Outcome

Result = Literal["passed", "seized", "returned", "further_inspection"]
MARK_VALID = timedelta(hours=INSPECTION_MARK_VALID_H)  # a vehicle inspected yesterday is judged afresh today

# The reason/check code of the pass that records a result (passed: see lane.py, one or two officers).
RESULT_CODES: dict[str, CheckCode] = {
    "seized": CheckCode.INSPECTION_SEIZED,
    "returned": CheckCode.INSPECTION_RETURNED,
    "further_inspection": CheckCode.INSPECTION_FURTHER,
}
# What a returning vehicle's decision says about its mark.
MARK_CODES: dict[Result, CheckCode] = {
    "passed": CheckCode.INSPECTED_PASSED,
    "seized": CheckCode.INSPECTED_SEIZED,
    "returned": CheckCode.INSPECTED_RETURNED,
    "further_inspection": CheckCode.INSPECTED_FURTHER,
}
# Checks an inspection answers: a passed inspection lifts only these (never a control order, a
# fault, an identity or document problem).
_LIFTED = {"weight", "random", "risk"}
KIND_INSPECTION = "inspection"  # central's change kind for a result recorded elsewhere (key = plate)


class InspectionMark(BaseModel):
    """The latest inspection result for a vehicle (lenient: central may send more fields)."""

    model_config = ConfigDict(extra="ignore", frozen=True)

    result: Result
    plate: str
    containers: list[str] = Field(default_factory=list)
    officer: str
    note: str = ""
    at: datetime
    pass_id: str  # the pass that recorded the result

    def applies(self, plate: str | None, containers: list[str], at: datetime) -> bool:
        if plate != self.plate or not (self.at <= at <= self.at + MARK_VALID):
            return False
        return not self.containers or set(containers) <= set(self.containers)


def mark_of_record(record: dict[str, Any]) -> InspectionMark | None:
    """The mark a pass record (as JSON) carries, if it records an inspection result."""
    for c in record.get("checks") or []:
        try:
            code = CheckCode(c.get("code"))
        except (ValueError, AttributeError):
            continue
        if code in INSPECTION_RESULT_CODES and record.get("plate"):
            params = c.get("params") or {}
            return InspectionMark.model_validate(
                {
                    "result": INSPECTION_RESULTS[code],
                    "plate": record["plate"],
                    "containers": record.get("containers") or [],
                    "officer": str(params.get("officer", "")),
                    "note": str(params.get("note", "")),
                    "at": record["decided_at"],
                    "pass_id": record["pass_id"],
                }
            )
    return None


def latest_mark(query: Callable[..., list[tuple[Any, ...]]], plate: str | None, now: datetime) -> InspectionMark | None:
    """The newest result for `plate` within MARK_VALID: this node's passes, or central's change."""
    if not plate:
        return None
    since = (now - MARK_VALID).isoformat()
    codes = ",".join(f"'{c.value}'" for c in INSPECTION_RESULT_CODES)  # [a-z_] only
    marks: list[InspectionMark] = []
    for (data,) in query(
        "SELECT record FROM passes WHERE decided_at >= ? AND json_extract(record, '$.plate') = ? "
        "AND EXISTS (SELECT 1 FROM json_each(record, '$.checks') AS c "
        f"WHERE json_extract(c.value, '$.code') IN ({codes})) ORDER BY decided_at DESC LIMIT 1",
        (since, plate),
    ):
        if (m := mark_of_record(json.loads(data))) is not None:
            marks.append(m)
    for (data,) in query("SELECT data FROM knowledge WHERE kind = ? AND key = ?", (KIND_INSPECTION, plate)):
        try:
            marks.append(InspectionMark.model_validate_json(data))
        except ValidationError:
            continue  # a record this lane cannot read: judged from scratch, as before marks existed
    return max(marks, key=lambda m: m.at, default=None)


def judge_against_mark(
    mark: InspectionMark,
    plate: str | None,
    containers: list[str],
    at: datetime,
    control_hit: bool,
    outcome: Outcome,
    failed: list[Check],
    rule_outcome: Outcome | None,
    check: Callable[..., bool],
    checks: list[Check],
) -> tuple[Outcome, list[Check]]:
    """decide()'s last step for a vehicle back from inspection: (outcome, the checks the reasons
    are made of). Passed: an outcome of inspection that only the weight, the random draw or an
    inspecting risk rule asked for becomes a release. Failed (seized, returned, further
    inspection): held for the officer (further inspection: sent back to inspection), the result
    first among the reasons; a control-order hit keeps its own outcome."""
    if not mark.applies(plate, containers, at):
        return outcome, failed
    code = MARK_CODES[mark.result]
    params = {
        "officer": mark.officer,
        "at": mark.at.isoformat(timespec="seconds"),
        "pass_id": mark.pass_id,
        "note": mark.note,
    }
    if mark.result == "passed":
        check(code, True, **params)
        lifted = (
            outcome is Outcome.INSPECTION
            and not control_hit
            and rule_outcome in (None, Outcome.INSPECTION)
            and all(c.name in _LIFTED for c in failed)
        )
        return (Outcome.RELEASE, [checks[-1], *failed]) if lifted else (outcome, failed)
    check(code, False, **params)
    if control_hit:  # a control order decides the outcome over everything else
        return outcome, [*failed, checks[-1]]
    # Seized or returned: the officer deals with it (not another inspection the draw may ask for).
    held = Outcome.INSPECTION if mark.result == "further_inspection" else Outcome.OFFICER
    return held, [checks[-1], *failed]


def awaiting(query: Callable[..., list[tuple[Any, ...]]], now: datetime) -> list[dict[str, Any]]:
    """Trucks this node sent to inspection within MARK_VALID with no final result recorded yet
    (none, or a further inspection), oldest first: the inspection area's list to record."""
    since = (now - MARK_VALID).isoformat()
    codes = ",".join(f"'{c.value}'" for c in INSPECTION_RESULT_CODES)
    results: dict[str, str] = {}  # sent pass → its latest result
    for sent, data in query(
        "SELECT json_extract(record, '$.supersedes'), record FROM passes WHERE decided_at >= ? "
        "AND json_extract(record, '$.supersedes') IS NOT NULL AND EXISTS (SELECT 1 FROM "
        f"json_each(record, '$.checks') AS c WHERE json_extract(c.value, '$.code') IN ({codes})) "
        "ORDER BY decided_at",
        (since,),
    ):
        if (m := mark_of_record(json.loads(data))) is not None:
            results[sent] = m.result
    out = []
    for pass_id, lane, at, data in query(
        "SELECT pass_id, lane, decided_at, record FROM passes WHERE decided_at >= ? "
        "AND json_extract(record, '$.outcome') = 'inspection' ORDER BY decided_at",
        (since,),
    ):
        rec = json.loads(data)
        if mark_of_record(rec) is not None or results.get(pass_id, "further_inspection") != "further_inspection":
            continue  # a result itself, or a truck whose inspection is over
        out.append(
            {
                "pass_id": pass_id,
                "lane": lane,
                "plate": rec.get("plate") or "",
                "at": at,
                "containers": ", ".join(rec.get("containers") or []),
                "result": results.get(pass_id, ""),
            }
        )
    return out
