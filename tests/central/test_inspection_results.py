"""Inspection results at central: a result a lane sends goes to every node of the lane's site as the
vehicle's latest result, and is withdrawn once it is too old for a lane to use (SQLite and PostgreSQL)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from central_helpers import Api, ingest

from kakou.central import changelog, projections
from kakou.central.service import Central

PLATE = "粤B12345"


def _seized(officer: str = "wang") -> list[dict]:
    return [{"code": "inspection_seized", "ok": False, "params": {"officer": officer, "note": "夹藏"}}]


def test_a_result_is_shared_with_the_site_and_withdrawn_when_too_old(central: Central, api: Api) -> None:
    alice = api("alice")
    assert alice.put("/api/v1/registrations/site", json={"code": "GATE1", "name": "北门"}).status_code == 200
    r = alice.put("/api/v1/registrations/lane", json={"node": "n1", "lane": "L1", "site": "GATE1", "direction": "in"})
    assert r.status_code == 200, r.text
    ingest(
        central,
        1,
        PLATE,
        outcome="officer",
        containers=["CSQU3054383"],
        checks=_seized(),
        reasons=[{"code": "inspection_seized", "params": {"officer": "wang", "note": "夹藏"}}],
    )
    ingest(
        central,
        2,
        "沪AD12345",
        checks=[{"code": "plate_read", "ok": True, "params": {"plate": "沪AD12345", "confidence": 0.9}}],
    )  # no result
    ingest(central, 3, PLATE, node="n9", outcome="officer", checks=_seized())  # a lane of no registered site
    projections.run_all(central)

    site = changelog.snapshot(central, "site:GATE1")
    (mark,) = [ch for ch in site.changes if ch.kind.value == "inspection"]
    assert mark.key == PLATE and mark.data is not None
    assert {
        k: mark.data[k] for k in ("result", "plate", "containers", "officer", "note", "pass_id", "node", "lane")
    } == {
        "result": "seized",
        "plate": PLATE,
        "containers": ["CSQU3054383"],
        "officer": "wang",
        "note": "夹藏",
        "pass_id": "n1-L1-1",
        "node": "n1",
        "lane": "L1",
    }
    assert not [ch for ch in changelog.snapshot(central).changes if ch.kind.value == "inspection"]  # not broadcast

    assert projections.expire_inspection_results(central) == 0  # still in use
    assert projections.expire_inspection_results(central, datetime.now(UTC) + timedelta(hours=25)) == 1
    assert not [ch for ch in changelog.snapshot(central, "site:GATE1").changes if ch.kind.value == "inspection"]
    withdrawn = changelog.changes_after(central, site.to_version, stream="site:GATE1").changes
    assert [(ch.kind.value, ch.key, ch.data) for ch in withdrawn] == [("inspection", PLATE, None)]
    assert projections.expire_inspection_results(central, datetime.now(UTC) + timedelta(hours=25)) == 0
