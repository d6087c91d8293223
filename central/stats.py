"""Statistics over the passes: per lane and hour, recognition, manual intervention, officer,
inspection and hit rates, and device availability (share of passes without a device fault).

The definitions are kakou.sync.rates (the lane and the console use the same): a pass is a record
that supersedes none; an officer's later record makes its pass manual.

Computed by the database: one GROUP BY over (node, lane, hour) with a 0/1 flag per pass, so a
day or a year of passes costs a scan in the database, not millions of rows through Python. The
flags read the pass record (JSON) with each database's own JSON functions:

- recognised: a plate was read and no officer keyed it in (`entered_by` empty);
- manual: an officer entered data (`entered_by`) or a later record supersedes the pass;
- held: the first decision was not `release`;
- inspection: outcome `inspection`;
- hit: a failed check with code `control_order_hit` or `risk_rule_hit` (kakou.sync.checks.HIT_CODES);
- device fault: a failed check with code `device_fault` or `weight_impossible` (DEVICE_CODES);
- inspection result: a check with a final result's code (passed, seized or returned:
  INSPECTION_FINAL_CODES; a further inspection is not final); seized: code `inspection_seized`.
  The seizure rate (查扣率) is seized / inspection results, over the results recorded in the period.

A check stored by a lane older than check codes (no `code`, or `legacy_text`) counts by its old
name instead: `control`/`risk` for a hit, `device` for a fault.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import Select, func, literal_column, select

from kakou.central.service import Central
from kakou.central.tables_sync import PassRow
from kakou.sync.checks import DEVICE_CODES, HIT_CODES, INSPECTION_FINAL_CODES, CheckCode
from kakou.sync.rates import ratio


class LaneStats(BaseModel):
    lane: str  # node/lane
    passes: int
    per_hour: dict[str, int]  # "YYYY-MM-DDTHH" (UTC) → passes
    recognition_rate: float | None  # plate read automatically, not keyed in by an officer
    manual_intervention_rate: float | None  # officer entered data or decided
    inspection_rate: float | None
    hit_rate: float | None  # control-order or risk hits among passes
    device_availability: float | None  # passes without a device fault
    held_rate: float | None = None  # passes the lane did not release on its own (kakou.sync.rates)
    inspection_results: int = 0  # final inspection results recorded (passed, seized, returned)
    seizures: int = 0  # of which seized (查扣)
    seizure_rate: float | None = None  # seizures / inspection_results (查扣率)


_rate = ratio  # one rounding for every screen (kakou.sync.rates)


def _sql_list(values: Iterable[object]) -> str:
    return ", ".join(f"'{v}'" for v in sorted(str(x) for x in values))  # codes are [a-z_] only


HIT = (_sql_list(HIT_CODES), "'control', 'risk'")  # (codes, the old check names) in SQL
DEVICE = (_sql_list(DEVICE_CODES), "'device'")
FINAL = _sql_list(INSPECTION_FINAL_CODES)
SEIZED = _sql_list([CheckCode.INSPECTION_SEIZED])
LEGACY = CheckCode.LEGACY_TEXT.value


def _flags(dialect: str) -> dict[str, str]:
    """SQL for the hour and each per-pass 0/1 flag, on `passes`."""
    rec = "passes.record"
    # Per dialect, only how JSON is read: a member of the record as text, the record's checks as
    # rows `c` (objects only), and a check's code, name and "ok is false".
    if dialect == "postgresql":

        def text(key: str) -> str:
            return f"COALESCE({rec}->>'{key}', '')"

        # the elements of an array member (none if absent or not an array)
        checks = f"(CASE WHEN json_typeof({rec}->'checks') = 'array' THEN {rec}->'checks' ELSE '[]'::json END)"
        each_check = f"json_array_elements({checks}) AS c WHERE json_typeof(c) = 'object'"
        code, name = "c->>'code'", "c->>'name'"
        not_ok = "json_typeof(c->'ok') = 'boolean' AND c->>'ok' = 'false'"
        hour = "to_char(passes.decided_at AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24')"
        superseding = "COALESCE(p2.record->>'supersedes', '')"
    else:  # SQLite (JSON1): timestamps are stored as UTC text

        def text(key: str) -> str:
            return f"COALESCE(json_extract({rec}, '$.{key}'), '')"

        each_check = f"json_each({rec}, '$.checks') AS c WHERE c.type = 'object'"
        code, name = "json_extract(c.value, '$.code')", "json_extract(c.value, '$.name')"
        not_ok = "json_type(c.value, '$.ok') = 'false'"
        hour = "strftime('%Y-%m-%dT%H', passes.decided_at)"
        superseding = "COALESCE(json_extract(p2.record, '$.supersedes'), '')"

    def failed(which: tuple[str, str]) -> str:  # a failed check with one of these codes, or old names
        codes, names = which
        return (
            f"EXISTS (SELECT 1 FROM {each_check} AND ({code} IN ({codes}) OR "
            f"(COALESCE({code}, '{LEGACY}') = '{LEGACY}' AND {name} IN ({names}))) AND {not_ok})"
        )

    def has(codes: str) -> str:  # a check with one of these codes, passed or not
        return f"EXISTS (SELECT 1 FROM {each_check} AND {code} IN ({codes}))"

    entered = f"{text('entered_by')} <> ''"
    # superseded by a later record (any time): a semi-join the database hashes, one scan of passes
    later = f"passes.pass_id IN (SELECT {superseding} FROM passes AS p2 WHERE {superseding} <> '')"
    # A pass is a record that supersedes none (kakou.sync.rates): the rates count passes only; the
    # inspection results (follow-up records) count as records.
    first = f"{text('supersedes')} IN ('', 'false', '0')"
    return {
        "hour": hour,
        "first": f"CASE WHEN {first} THEN 1 ELSE 0 END",
        "recognised": f"CASE WHEN {first} AND COALESCE(passes.plate, '') <> '' AND NOT ({entered}) THEN 1 ELSE 0 END",
        "manual": f"CASE WHEN {first} AND ({entered} OR {later}) THEN 1 ELSE 0 END",
        "held": f"CASE WHEN {first} AND passes.outcome <> 'release' THEN 1 ELSE 0 END",
        "inspection": f"CASE WHEN {first} AND passes.outcome = 'inspection' THEN 1 ELSE 0 END",
        "hit": f"CASE WHEN {first} AND {failed(HIT)} THEN 1 ELSE 0 END",
        "fault": f"CASE WHEN {first} AND {failed(DEVICE)} THEN 1 ELSE 0 END",
        "result": f"CASE WHEN {has(FINAL)} THEN 1 ELSE 0 END",
        "seized": f"CASE WHEN {has(SEIZED)} THEN 1 ELSE 0 END",
    }


def lane_stats(c: Central, since: datetime | None = None, until: datetime | None = None) -> list[LaneStats]:
    with c.read() as s:
        flags = _flags(s.get_bind().dialect.name)
        per_pass: Select[*tuple[Any, ...]] = select(
            PassRow.node, PassRow.lane, *(literal_column(sql).label(name) for name, sql in flags.items())
        )
        if since:
            per_pass = per_pass.where(PassRow.decided_at >= since)
        if until:
            per_pass = per_pass.where(PassRow.decided_at <= until)
        p = per_pass.subquery()
        q = select(
            p.c.node,
            p.c.lane,
            p.c.hour,
            func.count(),
            func.sum(p.c.recognised),
            func.sum(p.c.manual),
            func.sum(p.c.inspection),
            func.sum(p.c.hit),
            func.sum(p.c.fault),
            func.sum(p.c.held),
            func.sum(p.c.result),
            func.sum(p.c.seized),
            func.sum(p.c.first),
        ).group_by(p.c.node, p.c.lane, p.c.hour)
        rows = s.execute(q).all()
    # One row per lane and hour: summing those per lane is a handful of rows, not the passes.
    acc: dict[str, list[int]] = {}
    hours: dict[str, dict[str, int]] = {}
    for node, lane, hour, n, *sums in rows:
        key = f"{node}/{lane}"
        totals = acc.setdefault(key, [0] * 10)
        for i, v in enumerate((n, *sums)):
            totals[i] += int(v or 0)
        hours.setdefault(key, {})
        if sums[-1]:  # passes that hour (follow-up records are not passes)
            hours[key][hour] = int(sums[-1])
    return [
        LaneStats(
            lane=k,
            passes=n,
            per_hour=dict(sorted(hours[k].items())),
            recognition_rate=_rate(read, n),
            manual_intervention_rate=_rate(manual, n),
            inspection_rate=_rate(insp, n),
            hit_rate=_rate(hit, n),
            device_availability=_rate(n - fault, n),
            held_rate=_rate(held, n),
            inspection_results=results,
            seizures=seized,
            seizure_rate=_rate(seized, results),
        )
        for k, (_records, read, manual, insp, hit, fault, held, results, seized, n) in sorted(acc.items())
    ]
