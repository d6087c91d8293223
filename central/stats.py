"""Statistics over the passes: per lane and hour, recognition, manual intervention, inspection
and hit rates, and device availability (share of passes without a device fault)."""

from __future__ import annotations

from collections import defaultdict
from datetime import datetime
from typing import Any

from pydantic import BaseModel
from sqlalchemy import select

from kakou.central.service import Central
from kakou.central.tables_sync import PassRow


class LaneStats(BaseModel):
    lane: str  # node/lane
    passes: int
    per_hour: dict[str, int]  # "YYYY-MM-DDTHH" → passes
    recognition_rate: float | None  # plate read automatically, not keyed in by an officer
    manual_intervention_rate: float | None  # officer entered data or decided
    inspection_rate: float | None
    hit_rate: float | None  # control-order or risk hits among passes
    device_availability: float | None  # passes without a device fault


def _rate(n: int, d: int) -> float | None:
    return round(n / d, 4) if d else None


def lane_stats(c: Central, since: datetime | None = None, until: datetime | None = None) -> list[LaneStats]:
    acc: dict[str, dict[str, Any]] = defaultdict(lambda: {"n": 0, "hours": defaultdict(int), "read": 0, "manual": 0,
                                                          "insp": 0, "hit": 0, "fault": 0})
    with c.sessions() as s:
        q = select(PassRow.node, PassRow.lane, PassRow.decided_at, PassRow.outcome, PassRow.plate, PassRow.record)
        if since:
            q = q.where(PassRow.decided_at >= since)
        if until:
            q = q.where(PassRow.decided_at <= until)
        for node, lane, at, outcome, plate, rec in s.execute(q.execution_options(yield_per=2000)):
            a = acc[f"{node}/{lane}"]
            a["n"] += 1
            a["hours"][at.strftime("%Y-%m-%dT%H")] += 1
            manual = bool(rec.get("entered_by") or rec.get("supersedes"))
            a["read"] += bool(plate) and not rec.get("entered_by")
            a["manual"] += manual
            a["insp"] += outcome == "inspection"
            checks = [ch for ch in rec.get("checks", []) if isinstance(ch, dict)]
            a["hit"] += any(ch.get("name") in ("control", "risk") and not ch.get("ok", True) for ch in checks)
            a["fault"] += any(isinstance(r, str) and r.startswith("device fault") for r in rec.get("reasons", [])) \
                or any(ch.get("name") == "device" and not ch.get("ok", True) for ch in checks)
    return [LaneStats(lane=k, passes=a["n"], per_hour=dict(sorted(a["hours"].items())),
                      recognition_rate=_rate(a["read"], a["n"]), manual_intervention_rate=_rate(a["manual"], a["n"]),
                      inspection_rate=_rate(a["insp"], a["n"]), hit_rate=_rate(a["hit"], a["n"]),
                      device_availability=_rate(a["n"] - a["fault"], a["n"]))
            for k, a in sorted(acc.items())]
