"""A truck held for its documents raises a `document_hold` alert; once the truck is released after
all — an officer's override, a release on documents, a newer pass of the vehicle — central closes
the alert itself, saying what released it, so field staff are not sent to a truck that has gone.
Passes go through central's real ingest and projection."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from central_helpers import Api
from lane_inputs import pass_record

from kakou.central import alerts, projections
from kakou.central import ingest as central_ingest
from kakou.central.service import Central
from kakou.central.tables import AlertRow
from kakou.sync.messages import Envelope

T0 = datetime(2026, 12, 5, 8, 0, tzinfo=UTC)
NO_ORDER = {"code": "release_order_missing", "ok": False, "params": {"plate": "粤B77777"}}
_seq = iter(range(1, 10_000))


def send(
    central: Central,
    pass_id: str,
    plate: str | None,
    outcome: str,
    at: datetime,
    *,
    checks: list[dict[str, Any]] | None = None,
    reasons: list[Any] | None = None,
    supersedes: str | None = None,
    containers: list[str] | None = None,
) -> None:
    """A pass record as the lane n1/L1 sends it, stored by central's ingest."""
    rec = pass_record(
        at,
        pass_id=pass_id,
        direction="out",
        plate=plate,
        plate_confidence=0.95 if plate else 0.0,
        containers=containers or [],
        outcome=outcome,
        reasons=reasons or ["ok"],
        checks=checks or [],
        supersedes=supersedes,
    )
    central_ingest.ingest_pass(central, Envelope(node="n1", seq=next(_seq), kind="pass", sent_at=at, body=rec))


def held(api: Api) -> dict[str, dict[str, Any]]:
    """The document-hold alerts by the pass that raised them."""
    items = api("fred").get("/api/v1/alerts", params={"kind": "document_hold"}).json()["items"]
    return {a["source"]: a for a in items}


def officer(code: str, name: str, note: str) -> dict[str, Any]:
    return {"code": code, "params": {"officer": name, "note": note}}


def test_an_officers_override_closes_the_hold_and_says_who_released_it(
    api: Api, central: Central, monkeypatch: pytest.MonkeyPatch
) -> None:
    pushed: list[tuple[int, str]] = []
    monkeypatch.setattr(alerts, "CHANGED", [lambda _c, row: pushed.append((row.id, row.status))])
    send(central, "P1", "粤B77777", "officer", T0, checks=[NO_ORDER])
    send(central, "P2", "粤B88888", "officer", T0, checks=[NO_ORDER])
    projections.run_all(central)
    assert {s: a["status"] for s, a in held(api).items()} == {"P1": "open", "P2": "open"}
    assert pushed == []

    # P1: the officer lets it go; P2: sent to inspection instead (still not released).
    override = officer("officer_override", "王五", "documents shown at the booth")
    send(central, "P1-m1", "粤B77777", "release", T0 + timedelta(minutes=3), reasons=[override], supersedes="P1")
    send(central, "P2-m1", "粤B88888", "inspection", T0 + timedelta(minutes=3), supersedes="P2")
    projections.run_all(central)

    alerts_now = held(api)
    assert alerts_now["P2"]["status"] == "open"
    closed = alerts_now["P1"]
    assert (closed["status"], closed["disposed_by"], closed["acknowledged_by"]) == ("disposed", "system", None)
    assert closed["disposal"] == "车辆已放行（n1/L1 通行 P1-m1）：关员 王五 人工改判：documents shown at the booth"
    note = closed["notes"][-1]
    assert (note["kind"], note["by"], note["pass_id"], note["officer"]) == ("auto_close", "system", "P1-m1", "王五")
    assert note["reason"]["code"] == "officer_override"
    audit = api("admin").get("/api/v1/audit", params={"target": f"alert:{closed['id']}"}).json()
    assert sorted(e["action"] for e in audit) == ["alert.auto_close", "alert.raise"]
    assert pushed == [(closed["id"], "disposed")]  # the field pages' live streams hear of it

    # Projected once: running again closes nothing twice.
    projections.run_all(central)
    assert len(held(api)["P1"]["notes"]) == 1


def test_a_newer_release_of_the_same_vehicle_closes_its_earlier_holds_only(api: Api, central: Central) -> None:
    send(central, "Q0", "粤B12345", "release", T0 - timedelta(hours=1))  # an earlier trip, arriving first
    send(central, "Q1", "粤B12345", "officer", T0, checks=[NO_ORDER])
    send(central, "Q2", "粤B55555", "officer", T0, checks=[NO_ORDER])
    # A node back online sends an older release of the same truck after the hold: it closes nothing.
    send(central, "Q-late", "粤B12345", "release", T0 - timedelta(minutes=30))
    projections.run_all(central)
    assert {s: a["status"] for s, a in held(api).items()} == {"Q1": "open", "Q2": "open"}

    # The truck comes back with its papers an hour later and the lane releases it on its own.
    send(central, "Q3", "粤B12345", "release", T0 + timedelta(hours=1))
    projections.run_all(central)
    alerts_now = held(api)
    assert (alerts_now["Q1"]["status"], alerts_now["Q2"]["status"]) == ("disposed", "open")
    assert alerts_now["Q1"]["disposal"] == "车辆已放行（n1/L1 通行 Q3）：通道放行"
    assert alerts_now["Q1"]["notes"][-1]["officer"] is None


def test_a_release_on_documents_closes_every_hold_of_the_chain_it_ends(api: Api, central: Central) -> None:
    # The plate was not read: held under its container; the officer keys the plate in, and the
    # re-decided pass is held for its documents too; then the officer releases it on documents and
    # keys the data in afterwards (backfill).
    send(central, "R1", None, "officer", T0, checks=[NO_ORDER], containers=["MSCU1234565"])
    send(central, "R1-m1", "粤B24680", "officer", T0 + timedelta(minutes=1), checks=[NO_ORDER], supersedes="R1")
    projections.run_all(central)
    before = held(api)
    assert {s: (a["subject"], a["status"]) for s, a in before.items()} == {
        "R1": ("MSCU1234565", "open"),
        "R1-m1": ("粤B24680", "open"),
    }
    acked = api("fred").post(f"/api/v1/alerts/{before['R1-m1']['id']}/acknowledge", json={"text": "on my way"})
    assert acked.status_code == 200, acked.text

    on_documents = officer("released_on_documents", "赵六", "paper release order HF88")
    send(central, "R1-m2", None, "release", T0 + timedelta(minutes=2), reasons=[on_documents], supersedes="R1-m1")
    backfill = {"code": "backfilled", "params": {"officer": "赵六"}}
    send(central, "R1-m2-b1", "粤B24680", "release", T0 + timedelta(minutes=9), reasons=[backfill], supersedes="R1-m2")
    projections.run_all(central)

    after = held(api)
    assert {s: a["status"] for s, a in after.items()} == {"R1": "disposed", "R1-m1": "disposed"}
    for a in after.values():
        assert a["disposal"] == "车辆已放行（n1/L1 通行 R1-m2）：关员 赵六 凭单放行（待补录）：paper release order HF88"
        assert [n["kind"] for n in a["notes"]].count("auto_close") == 1  # the backfill finds it closed


def test_an_alert_disposed_of_by_an_officer_is_left_as_they_closed_it(api: Api, central: Central) -> None:
    send(central, "S1", "粤B13579", "officer", T0, checks=[NO_ORDER])
    projections.run_all(central)
    alert = held(api)["S1"]
    r = api("fred").post(f"/api/v1/alerts/{alert['id']}/dispose", json={"disposal": "driver sent back for papers"})
    assert r.status_code == 200, r.text
    send(central, "S2", "粤B13579", "release", T0 + timedelta(hours=2))
    projections.run_all(central)
    again = held(api)["S1"]
    assert (again["disposed_by"], again["disposal"]) == ("fred", "driver sent back for papers")
    with central.sessions() as s:
        row = s.get(AlertRow, alert["id"])
        assert row is not None and row.notes[-1]["kind"] == "dispose"


def test_a_hold_and_its_release_projected_in_one_batch_end_closed(api: Api, central: Central) -> None:
    send(central, "U1", "粤B11223", "officer", T0, checks=[NO_ORDER])
    on_documents = officer("released_on_documents", "赵六", "paper order")
    send(central, "U1-m1", "粤B11223", "release", T0 + timedelta(minutes=1), reasons=[on_documents], supersedes="U1")
    assert projections.run(central) == 2  # one batch
    assert held(api)["U1"]["status"] == "disposed"
