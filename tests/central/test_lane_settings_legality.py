"""Lane settings and the legality registries at central (SQLite and PostgreSQL): validated through
the API, sent to the lanes on the right stream, and what a lane's cache then decides."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from central_helpers import Api, issue_order, order_json
from lane_inputs import observation

from kakou.central import changelog
from kakou.central.service import Central
from kakou.edge.decision import Parameters, decide
from kakou.edge.records import LaneRecords
from kakou.edge.store import EdgeStore
from kakou.sync.checks import CheckCode as C
from kakou.sync.messages import Outcome

NOW = datetime.now(UTC)
PLATE, BOX = "粤B12345", "CSQU3054383"


def _edge(central: Central, tmp_path: Path, node: str = "n1", site: str = "GATE1") -> tuple[EdgeStore, LaneRecords]:
    """A node's cache as the downlink would fill it: broadcast, its site's and its own stream."""
    store = EdgeStore(tmp_path / f"{node}-{datetime.now(UTC).timestamp()}.db")
    for stream in ("*", f"site:{site}", f"node:{node}"):
        store.apply_batch(changelog.changes_after(central, 0, stream=stream), datetime.now(UTC))
    return store, LaneRecords(store, tmp_path / "images")


def _problem(r: object) -> str:
    body = r.json()  # type: ignore[attr-defined]
    return str(body.get("title", "")) + str(body.get("detail", ""))


def _setup(alice: object) -> None:
    for kind, data in (
        ("site", {"code": "GATE1", "name": "North gate"}),
        ("yard", {"code": "Y01", "name": "Container yard 1", "site": "GATE1"}),
    ):
        assert alice.put(f"/api/v1/registrations/{kind}", json=data).status_code == 200  # type: ignore[attr-defined]


def test_lane_settings_are_validated_and_reach_only_their_node(api: Api, central: Central, tmp_path: Path) -> None:
    alice = api("alice")
    _setup(alice)
    lane = {"node": "n1", "lane": "L1", "site": "GATE1", "direction": "in"}
    for bad, why in (
        ({"gate_role": "boarding_pass"}, "gate_role"),
        ({"allowed_sizes": ["25"]}, "allowed_sizes"),
        ({"cargo_types": ["liquid"]}, "cargo_types"),
        ({"yard": "Y99"}, "not a registered yard"),
    ):
        r = alice.put("/api/v1/registrations/lane", json={**lane, **bad})
        assert r.status_code == 422 and why in r.text, r.text
    r = alice.put(
        "/api/v1/registrations/lane",
        json={
            **lane,
            "lane_class": "B",
            "gate_role": "release_control",
            "allowed_sizes": ["40", "20", "20"],
            "cargo_types": ["container"],
            "appointment_required": True,
            "yard": "Y01",
        },
    )
    assert r.status_code == 200, r.text
    # Another node's lane of the same id gets its own settings, on its own stream.
    assert (
        alice.put(
            "/api/v1/registrations/lane", json={"node": "n2", "lane": "L1", "site": "GATE1", "direction": "out"}
        ).status_code
        == 200
    )

    store, records = _edge(central, tmp_path)
    settings = records.lane_settings("L1")
    assert settings is not None and (settings.direction, settings.lane_class) == ("in", "B")
    params = records.parameters_for("L1", Parameters())
    assert (params.gate_role, params.allowed_sizes, params.cargo_types, params.require_appointment, params.yard) == (
        "release_control",
        ("20", "40"),
        ("container",),
        True,
        "Y01",
    )
    other, other_records = _edge(central, tmp_path, node="n2")
    assert other_records.lane_settings("L1").direction == "out"  # type: ignore[union-attr]
    assert other_records.parameters_for("L1", Parameters()).gate_role == "gate"

    # The console's form: the lane's settings by node and lane, typed (a field it does not know is refused).
    url = "/api/v1/registrations/lane/n1/L1/settings"
    assert alice.put(url, json={"site": "GATE1", "direction": "in", "speed": 5}).status_code == 422
    assert api("lena").put(url, json={"site": "GATE1", "direction": "out"}).status_code == 403
    r = alice.put(
        url, params={"expect_revision": 1}, json={"site": "GATE1", "direction": "out", "gate_role": "inspection"}
    )
    assert r.status_code == 200 and r.json()["revision"] == 2, r.text
    store.close()
    store, records = _edge(central, tmp_path)
    assert records.lane_settings("L1").direction == "out"  # type: ignore[union-attr]
    assert records.parameters_for("L1", Parameters()).gate_role == "inspection"

    # Deleting the lane at central gives the node back its own configuration.
    assert alice.delete("/api/v1/registrations/lane/n1/L1").status_code == 200
    store, records = _edge(central, tmp_path)
    assert records.lane_settings("L1") is None and records.parameters_for("L1", Parameters()) == Parameters()
    assert other_records.lane_settings("L1") is not None
    store.close()
    other.close()


def test_registries_refuse_bad_records_with_the_reason(api: Api, central: Central) -> None:
    alice = api("alice")
    _setup(alice)
    cases = [
        ("carrier", {"code": "C01", "name": "Haul", "status": "closed"}, "status"),
        ("carrier", {"code": "C01", "name": "Haul", "credit_grade": "E"}, "credit_grade"),
        (
            "carrier",
            {
                "code": "C01",
                "name": "Haul",
                "valid_from": NOW.isoformat(),
                "valid_until": (NOW - timedelta(days=1)).isoformat(),
            },
            "valid_until must be after valid_from",
        ),
        ("container", {"container_no": BOX, "size_type": "twenty"}, "size_type"),
        ("container", {"container_no": BOX, "status": "lost"}, "status"),
        ("yard", {"code": "Y02", "name": "Yard 2", "status": "closed"}, "status"),
        (
            "appointment",
            {"appointment_no": "YY1", "plate": PLATE, "valid_from": NOW.isoformat(), "valid_until": NOW.isoformat()},
            "valid_until must be after valid_from",
        ),
        (
            "appointment",
            {
                "appointment_no": "YY1",
                "plate": PLATE,
                "site": "NOWHERE",
                "valid_from": NOW.isoformat(),
                "valid_until": (NOW + timedelta(hours=1)).isoformat(),
            },
            "not a registered site",
        ),
    ]
    heads = changelog.stream_heads(central)
    for kind, data, why in cases:
        r = alice.put(f"/api/v1/registrations/{kind}", json=data)
        assert r.status_code == 422 and why in r.text, (kind, data, r.text)
    assert changelog.stream_heads(central) == heads  # nothing half-written reached any lane


def test_the_lane_decides_legality_from_what_central_registered(api: Api, central: Central, tmp_path: Path) -> None:
    alice = api("alice")
    _setup(alice)
    for kind, data in (
        (
            "carrier",
            {"code": "C01", "name": "Haul", "credit_grade": "D", "valid_until": (NOW + timedelta(days=30)).isoformat()},
        ),
        ("vehicle", {"plate": PLATE, "carrier": "C01", "tare_kg": 15_000}),
        ("container", {"container_no": BOX, "size_type": "45G1", "tare_kg": 3_900}),
        (
            "lane",
            {
                "node": "n1",
                "lane": "L1",
                "site": "GATE1",
                "direction": "in",
                "allowed_sizes": ["20"],
                "appointment_required": True,
                "yard": "Y01",
            },
        ),
        (
            "appointment",
            {
                "appointment_no": "YY1",
                "plate": PLATE,
                "site": "GATE1",
                "valid_from": (NOW - timedelta(hours=1)).isoformat(),
                "valid_until": (NOW + timedelta(hours=1)).isoformat(),
            },
        ),
    ):
        r = alice.put(f"/api/v1/registrations/{kind}", json=data)
        assert r.status_code == 200, r.text
    order = order_json("HF1", PLATE, at=NOW, containers=[BOX])
    issue_order(api, order)
    issue_order(api, {**order, "order_no": "HF2", "plate": "粤B99999"})  # the same box on another truck's order
    # The library's legality switches (central's parameter library for every lane).
    draft = alice.put(
        "/api/v1/parameters",
        json={
            "scope": "*",
            "require_registered_container": True,
            "require_valid_carrier": True,
            "refused_carrier_grades": ["D"],
            "require_yard": True,
        },
    )
    assert draft.status_code == 201, draft.text
    approved = api("rita").post(f"/api/v1/parameters/drafts/{draft.json()['id']}/review", json={"approve": True})
    assert approved.status_code == 200, approved.text

    store, records = _edge(central, tmp_path)
    params = records.parameters_for("L1", Parameters())
    assert params.require_valid_carrier and params.refused_carrier_grades == ("D",) and params.yard == "Y01"
    seen = observation(at=NOW, plate=PLATE, containers=[BOX])
    k = records.knowledge_for(PLATE, None, [BOX], yard=params.yard)
    d = decide(seen, k, params)
    failed = {c.code for c in d.checks if not c.ok}
    assert failed == {C.CARRIER_GRADE_REFUSED, C.LANE_SIZE_NOT_ALLOWED, C.CONTAINER_ON_OTHER_ORDER}
    assert d.outcome is Outcome.OFFICER and d.release_orders == []
    passed = {c.code for c in d.checks if c.ok}
    assert {C.CONTAINER_REGISTERED, C.YARD_OK, C.APPOINTMENT_OK, C.RELEASE_ORDER_VALID} <= passed

    # Central suspends the yard and cancels the appointment: the next read of the cache says so.
    assert (
        alice.put(
            "/api/v1/registrations/yard",
            json={"code": "Y01", "name": "Container yard 1", "site": "GATE1", "status": "suspended"},
        ).status_code
        == 200
    )
    assert alice.delete("/api/v1/registrations/appointment/YY1").status_code == 200
    store.close()
    store, records = _edge(central, tmp_path)
    d = decide(seen, records.knowledge_for(PLATE, None, [BOX], yard="Y01"), records.parameters_for("L1", Parameters()))
    assert {C.YARD_NOT_VALID, C.APPOINTMENT_MISSING} <= {c.code for c in d.checks if not c.ok}
    store.close()
