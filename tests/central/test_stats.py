"""Lane statistics computed by the database agree with a plain Python count over the same passes,
on SQLite and PostgreSQL, including odd records (missing members, non-string reasons, hours that
straddle a day, a time window) and checks from lanes before check codes (counted by their old name)."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from central_helpers import Api

from kakou.central import stats
from kakou.central.service import Central
from kakou.central.tables_sync import PassRow

START = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)
CST = timezone(timedelta(hours=8))  # China Standard Time, as a lane might stamp it


def _record(rng: random.Random) -> dict[str, Any]:
    rec: dict[str, Any] = {}
    if rng.random() < 0.2:
        rec["entered_by"] = rng.choice(["lena", ""])
    if rng.random() < 0.1:
        rec["supersedes"] = "n1-L1-1"
    if rng.random() < 0.8:
        rec["checks"] = [rng.choice([{"code": "control_order_hit", "name": "control", "ok": rng.random() < 0.7},
                                     {"code": "risk_rule_hit", "name": "risk", "ok": rng.random() < 0.8},
                                     {"code": "device_fault", "name": "device", "ok": rng.random() < 0.9},
                                     {"code": "weight_impossible", "name": "device", "ok": False},
                                     {"code": "weight_over", "name": "weight", "ok": False},
                                     {"code": "no_control_order", "name": "control", "ok": False},  # odd but no hit
                                     {"code": "legacy_text", "name": "risk", "ok": False},
                                     {"name": "control", "ok": rng.random() < 0.7},  # before check codes
                                     {"name": "device", "ok": rng.random() < 0.9},
                                     {"name": "weight", "ok": False}, {"name": "control"}, "junk",
                                     # inspection results (seized counts towards the seizure rate; a
                                     # further inspection is no final result; a returning truck's mark
                                     # is no result at all)
                                     {"code": "inspection_passed", "name": "officer", "ok": True},
                                     {"code": "inspection_passed_confirmed", "name": "officer", "ok": True},
                                     {"code": "inspection_seized", "name": "inspection", "ok": False},
                                     {"code": "inspection_returned", "name": "inspection", "ok": False},
                                     {"code": "inspection_further", "name": "inspection", "ok": False},
                                     {"code": "inspected_seized", "name": "inspected", "ok": False}])
                         for _ in range(rng.randrange(4))]
    if rng.random() < 0.9:
        rec["reasons"] = [rng.choice(["ok", "device fault: camera", "Device fault: shouting", 7, None])
                          for _ in range(rng.randrange(3))]
    return rec


def _reference(passes: list[dict[str, Any]]) -> dict[str, dict[str, Any]]:
    """What the statistics mean, counted one pass at a time."""
    acc: dict[str, dict[str, Any]] = defaultdict(lambda: {"n": 0, "hours": defaultdict(int), "read": 0,
                                                          "manual": 0, "insp": 0, "hit": 0, "fault": 0,
                                                          "results": 0, "seized": 0})
    for p in passes:
        a, rec = acc[f"{p['node']}/{p['lane']}"], p["record"]
        checks = [c for c in rec.get("checks", []) if isinstance(c, dict)]

        def failed(codes: tuple[str, ...], names: tuple[str, ...], checks: list[dict[str, Any]] = checks) -> bool:
            return any((c.get("code") in codes or (c.get("code", "legacy_text") == "legacy_text"
                                                   and c.get("name") in names)) and c.get("ok") is False
                       for c in checks)

        a["n"] += 1
        a["hours"][p["at"].astimezone(UTC).strftime("%Y-%m-%dT%H")] += 1
        a["read"] += bool(p["plate"]) and not rec.get("entered_by")
        a["manual"] += bool(rec.get("entered_by") or rec.get("supersedes"))
        a["insp"] += p["outcome"] == "inspection"
        a["hit"] += failed(("control_order_hit", "risk_rule_hit"), ("control", "risk"))
        a["fault"] += failed(("device_fault", "weight_impossible"), ("device",))
        codes = {c.get("code") for c in checks}
        a["results"] += bool(codes & {"inspection_passed", "inspection_passed_confirmed", "inspection_seized",
                                      "inspection_returned"})
        a["seized"] += "inspection_seized" in codes
    return {k: {"passes": a["n"], "per_hour": dict(sorted(a["hours"].items())),
                "recognition_rate": stats._rate(a["read"], a["n"]),
                "manual_intervention_rate": stats._rate(a["manual"], a["n"]),
                "inspection_rate": stats._rate(a["insp"], a["n"]), "hit_rate": stats._rate(a["hit"], a["n"]),
                "device_availability": stats._rate(a["n"] - a["fault"], a["n"]),
                "inspection_results": a["results"], "seizures": a["seized"],
                "seizure_rate": stats._rate(a["seized"], a["results"])} for k, a in acc.items()}


def test_sql_statistics_match_a_pass_by_pass_count(central: Central, api: Api) -> None:
    rng = random.Random(6)
    passes = []
    for i in range(600):
        node, lane = rng.choice([("n1", "L1"), ("n1", "L2"), ("n2", "L1")])
        # Some passes carry a non-UTC offset: they are counted in their UTC hour.
        at = (START + timedelta(minutes=rng.randrange(6 * 60))).astimezone(rng.choice([UTC, CST]))
        passes.append({"node": node, "lane": lane, "seq": i, "at": at, "record": _record(rng),
                       "plate": rng.choice(["粤B12345", None, ""]), "outcome": rng.choice(
                           ["release", "inspection", "officer"])})
    with central.sessions.begin() as s:
        s.add_all(PassRow(node=p["node"], seq=p["seq"], pass_id=f"{p['node']}-{p['seq']}", lane=p["lane"],
                          plate=p["plate"], outcome=p["outcome"], decided_at=p["at"], record=p["record"])
                  for p in passes)

    got = {s["lane"]: {k: v for k, v in s.items() if k != "lane"}
           for s in api("lena").get("/api/v1/stats/lanes").json()}
    assert got == _reference(passes)
    assert len(got["n1/L1"]["per_hour"]) == 6 and "2026-11-25T00" in got["n1/L1"]["per_hour"]  # past midnight

    since, until = START + timedelta(hours=2), START + timedelta(hours=4)
    window = api("lena").get("/api/v1/stats/lanes", params={"since": since.isoformat(),
                                                             "until": until.isoformat()}).json()
    assert {s["lane"]: {k: v for k, v in s.items() if k != "lane"} for s in window} == \
        _reference([p for p in passes if since <= p["at"] <= until])
