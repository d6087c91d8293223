"""Transit (转关) between central and the lanes: the open transit reaches its destination's lanes
only, an arrival carrying the transit number closes it, a held arrival raises a typed alert, and a
lane without an e-seal reader never raises a false seal alert."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from central_helpers import Api, ingest, transit_sites

from kakou.central import changelog, projections
from kakou.central.service import Central
from kakou.edge.records import LaneRecords
from kakou.edge.store import EdgeStore

PLATE = "粤B12345"
BOXES = ["CSQU3054383", "MSKU1234565"]


def _declare(api: Api, no: str = "ZG1", **kw: object) -> None:
    r = api("alice").post(
        "/api/v1/transits",
        json={
            "transit_no": no,
            "plate": PLATE,
            "containers": BOXES,
            "entry_site": "ENTRY",
            "destination_site": "DEST",
            "e_seal": "CNSZ-ES0012345",
            "time_limit_h": 6,
            **kw,
        },
    )
    assert r.status_code == 201, r.text


def _lane_cache(central: Central, tmp_path: Path, node: str) -> LaneRecords:
    store = EdgeStore(tmp_path / f"{node}-{datetime.now(UTC).timestamp()}.db")
    for stream in changelog.streams_of(central, node):
        store.apply_batch(changelog.changes_after(central, 0, stream=stream), datetime.now(UTC))
    return LaneRecords(store, tmp_path / "images")


def _alerts(api: Api) -> list[dict]:
    return api("alice").get("/api/v1/alerts").json()["items"]


def test_the_open_transit_reaches_the_destination_lanes_only_and_leaves_them_when_closed(
    api: Api, central: Central, tmp_path: Path
) -> None:
    transit_sites(api)
    _declare(api)
    dest, entry = _lane_cache(central, tmp_path, "b"), _lane_cache(central, tmp_path, "a")
    (t,) = dest.transits_for(PLATE)
    assert (t.transit_no, t.containers, t.e_seal) == ("ZG1", BOXES, "CNSZ-ES0012345")
    assert [x.transit_no for x in dest.transits_for(None, ["MSKU1234565"])] == ["ZG1"]  # by container alone
    assert dest.transits_for("粤B99999", ["TGHU9876543"]) == []
    assert entry.transits_for(PLATE) == []  # another site's lanes never hold it
    assert dest.knowledge_for(PLATE, None, BOXES).transits == [t]
    dest.store.close()
    entry.store.close()

    ingest(central, 1, PLATE, node="a", containers=BOXES)  # leaves the office of entry (no seal reader there)
    ingest(
        central,
        1,
        PLATE,
        node="b",
        direction="in",
        containers=BOXES,
        transit_no="ZG1",
        checks=[
            {"code": "transit_arrived", "ok": True, "params": {"transit_no": "ZG1", "containers": ", ".join(BOXES)}}
        ],
    )
    projections.run_all(central)
    closed = api("alice").get("/api/v1/transits/ZG1").json()
    assert closed["status"] == "closed" and closed["close_pass"] == "b-L1-1"
    dest = _lane_cache(central, tmp_path, "b")
    assert dest.transits_for(PLATE) == []  # withdrawn: no lane checks a closed transit again
    dest.store.close()


def test_no_seal_reader_is_not_a_seal_alert_but_a_reader_that_hears_nothing_is(api: Api, central: Central) -> None:
    transit_sites(api)
    _declare(api, "ZG1")
    ingest(central, 1, PLATE, node="a", containers=BOXES)  # no e-seal check at all: the lane has no reader
    projections.run_all(central)
    started = api("alice").get("/api/v1/transits/ZG1").json()
    assert started["status"] == "en_route" and started["seal_ok"] is None  # not checked, not failed
    not_checked = {
        "code": "transit_seal_not_checked",
        "ok": True,
        "params": {"transit_no": "ZG1", "declared": "CNSZ-ES0012345"},
    }
    ingest(central, 2, PLATE, node="b", direction="in", containers=BOXES, transit_no="ZG1", checks=[not_checked])
    projections.run_all(central)
    assert api("alice").get("/api/v1/transits/ZG1").json()["status"] == "closed"
    assert _alerts(api) == []

    _declare(api, "ZG2", plate="粤B7")
    ingest(central, 3, "粤B7", node="a", checks=[{"code": "e_seal_none", "ok": True, "params": {}}])
    projections.run_all(central)
    (alert,) = _alerts(api)
    assert alert["kind"] == "transit_seal"
    assert alert["message"] == "转关 ZG2：起运地电子关锁为 未读到，申报为 CNSZ-ES0012345"
    assert api("alice").get("/api/v1/transits/ZG2").json()["seal_ok"] is False


def held_at_destination(central: Central, seq: int, containers: list[str], checks: list[dict[str, Any]]) -> None:
    """Pass `seq` of PLATE at the destination lane (node b), held for an officer on `checks`."""
    ingest(central, seq, PLATE, node="b", direction="in", outcome="officer", containers=containers, checks=checks)


def test_a_held_arrival_alerts_with_its_reason_and_the_transit_stays_open(api: Api, central: Central) -> None:
    transit_sites(api)
    _declare(api)
    ingest(central, 1, PLATE, node="a", containers=BOXES)
    mismatch = {
        "code": "transit_containers_mismatch",
        "ok": False,
        "params": {"transit_no": "ZG1", "missing": "MSKU1234565", "extra": "TGHU9876543"},
    }
    held_at_destination(central, 1, [BOXES[0], "TGHU9876543"], [mismatch])
    projections.run_all(central)
    t = api("alice").get("/api/v1/transits/ZG1").json()
    assert t["status"] == "en_route" and t["close_pass"] is None
    (alert,) = _alerts(api)
    assert alert["kind"] == "transit_mismatch" and alert["subject"] == PLATE
    assert alert["message"] == "转关 ZG1（DEST）：转关 ZG1 集装箱不符：申报未见 MSKU1234565，未申报 TGHU9876543"

    seal = {
        "code": "transit_seal_mismatch",
        "ok": False,
        "params": {"transit_no": "ZG1", "declared": "CNSZ-ES0012345", "seal": "CNSZ-ES0099999"},
    }
    held_at_destination(
        central, 2, BOXES, [{"code": "e_seal_read", "ok": True, "params": {"seal": "CNSZ-ES0099999"}}, seal]
    )
    projections.run_all(central)
    assert {a["kind"] for a in _alerts(api)} == {"transit_mismatch", "transit_seal"}
    assert api("alice").get("/api/v1/transits/ZG1").json()["seal_ok"] is False
    # The officer releases it after looking (a pass naming no transit): the plate's transit closes,
    # the seal failure stays on record.
    ingest(central, 3, PLATE, node="b", direction="in", containers=BOXES, entered_by="officer1")
    projections.run_all(central)
    t = api("alice").get("/api/v1/transits/ZG1").json()
    assert t["status"] == "closed" and t["seal_ok"] is False and t["close_pass"] == "b-L1-3"


def test_a_destination_that_is_no_site_code_is_refused(api: Api) -> None:
    r = api("alice").post(
        "/api/v1/transits",
        json={"transit_no": "ZG9", "plate": PLATE, "entry_site": "ENTRY", "destination_site": "DEST/#"},
    )
    assert r.status_code == 422 and "site code" in r.text


def test_a_declared_route_is_kept_and_an_impossible_one_refused(api: Api) -> None:
    transit_sites(api)
    route = [[22.5, 113.9], [22.6, 113.95], [22.7, 113.9]]
    _declare(api, "ZG3", route=route)
    assert api("alice").get("/api/v1/transits/ZG3").json()["route"] == route
    for bad in ([[95.0, 113.9], [22.6, 113.9]], [[22.5, 113.9]], [[22.5, 200.0], [22.6, 113.9]], [[22.5, 113.9]] * 501):
        r = api("alice").post(
            "/api/v1/transits",
            json={"transit_no": "ZG4", "plate": PLATE, "entry_site": "ENTRY", "destination_site": "DEST", "route": bad},
        )
        assert r.status_code == 422, bad
    assert api("alice").get("/api/v1/transits/ZG4").status_code == 404
