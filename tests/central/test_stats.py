"""Lane statistics computed by the database agree with a plain Python count over the same passes,
on SQLite and PostgreSQL, including odd records (missing members, non-string reasons, hours that
straddle a day, a time window) and checks from lanes before check codes (counted by their old name)."""

from __future__ import annotations

import random
from collections import defaultdict
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

from central_helpers import Api

from kakou.central.service import Central
from kakou.central.tables_sync import PassRow
from kakou.sync import rates

START = datetime(2026, 11, 24, 21, 0, tzinfo=UTC)
CST = timezone(timedelta(hours=8))  # China Standard Time, as a lane might stamp it


def _record(rng: random.Random) -> dict[str, Any]:
    rec: dict[str, Any] = {}
    if rng.random() < 0.2:
        rec["entered_by"] = rng.choice(["lena", ""])
    if rng.random() < 0.1:
        rec["supersedes"] = f"n1-{rng.randrange(600)}"  # an officer's later record for that pass
    if rng.random() < 0.8:
        rec["checks"] = [
            rng.choice(
                [
                    {"code": "control_order_hit", "name": "control", "ok": rng.random() < 0.7},
                    {"code": "risk_rule_hit", "name": "risk", "ok": rng.random() < 0.8},
                    {"code": "device_fault", "name": "device", "ok": rng.random() < 0.9},
                    {"code": "weight_impossible", "name": "device", "ok": False},
                    {"code": "weight_over", "name": "weight", "ok": False},
                    {"code": "no_control_order", "name": "control", "ok": False},  # odd but no hit
                    {"code": "legacy_text", "name": "risk", "ok": False},
                    {"name": "control", "ok": rng.random() < 0.7},  # before check codes
                    {"name": "device", "ok": rng.random() < 0.9},
                    {"name": "weight", "ok": False},
                    {"name": "control"},
                    "junk",
                    # inspection results (seized counts towards the seizure rate; a
                    # further inspection is no final result; a returning truck's mark
                    # is no result at all)
                    {"code": "inspection_passed", "name": "officer", "ok": True},
                    {"code": "inspection_passed_confirmed", "name": "officer", "ok": True},
                    {"code": "inspection_seized", "name": "inspection", "ok": False},
                    {"code": "inspection_returned", "name": "inspection", "ok": False},
                    {"code": "inspection_further", "name": "inspection", "ok": False},
                    {"code": "inspected_seized", "name": "inspected", "ok": False},
                ]
            )
            for _ in range(rng.randrange(4))
        ]
    if rng.random() < 0.9:
        rec["reasons"] = [
            rng.choice(["ok", "device fault: camera", "Device fault: shouting", 7, None])
            for _ in range(rng.randrange(3))
        ]
    return rec


def _reference(passes: list[dict[str, Any]], superseded: set[str]) -> dict[str, dict[str, Any]]:
    """What the statistics mean, counted one record at a time: the rates by the one definition
    (kakou.sync.rates, passes only), the inspection results and seizures over every record."""
    by_lane: dict[str, list[dict[str, Any]]] = defaultdict(list)
    hours: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    results: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for p in passes:
        key = f"{p['node']}/{p['lane']}"
        rec = {**p["record"], "pass_id": f"{p['node']}-{p['seq']}", "plate": p["plate"], "outcome": p["outcome"]}
        by_lane[key].append(rec)
        if rates.is_pass(rec):
            hours[key][p["at"].astimezone(UTC).strftime("%Y-%m-%dT%H")] += 1
        codes = {c.get("code") for c in rec.get("checks", []) if isinstance(c, dict)}
        results[key][0] += bool(
            codes & {"inspection_passed", "inspection_passed_confirmed", "inspection_seized", "inspection_returned"}
        )
        results[key][1] += "inspection_seized" in codes
    out = {}
    for key, recs in by_lane.items():
        n_results, seized = results[key]
        out[key] = {
            **rates.rates(recs, superseded),
            "per_hour": dict(sorted(hours[key].items())),
            "inspection_results": n_results,
            "seizures": seized,
            "seizure_rate": rates.ratio(seized, n_results),
        }
    return out


def test_sql_statistics_match_a_pass_by_pass_count(central: Central, api: Api) -> None:
    rng = random.Random(6)
    passes: list[dict[str, Any]] = []
    for i in range(600):
        node, lane = rng.choice([("n1", "L1"), ("n1", "L2"), ("n2", "L1")])
        # Some passes carry a non-UTC offset: they are counted in their UTC hour.
        at = (START + timedelta(minutes=rng.randrange(6 * 60))).astimezone(rng.choice([UTC, CST]))
        passes.append(
            {
                "node": node,
                "lane": lane,
                "seq": i,
                "at": at,
                "record": _record(rng),
                "plate": rng.choice(["粤B12345", None, ""]),
                "outcome": rng.choice(["release", "inspection", "officer"]),
            }
        )
    with central.sessions.begin() as s:
        s.add_all(
            PassRow(
                node=p["node"],
                seq=p["seq"],
                pass_id=f"{p['node']}-{p['seq']}",
                lane=p["lane"],
                plate=p["plate"],
                outcome=p["outcome"],
                decided_at=p["at"],
                record=p["record"],
            )
            for p in passes
        )

    superseded = {p["record"]["supersedes"] for p in passes if p["record"].get("supersedes")}
    got = {
        s["lane"]: {k: v for k, v in s.items() if k != "lane"} for s in api("lena").get("/api/v1/stats/lanes").json()
    }
    assert got == _reference(passes, superseded)
    assert any(0 < s["manual_intervention_rate"] for s in got.values())
    assert len(got["n1/L1"]["per_hour"]) == 6 and "2026-11-25T00" in got["n1/L1"]["per_hour"]  # past midnight

    since, until = START + timedelta(hours=2), START + timedelta(hours=4)
    window = (
        api("lena").get("/api/v1/stats/lanes", params={"since": since.isoformat(), "until": until.isoformat()}).json()
    )
    assert {s["lane"]: {k: v for k, v in s.items() if k != "lane"} for s in window} == _reference(
        [p for p in passes if since <= p["at"] <= until], superseded
    )
