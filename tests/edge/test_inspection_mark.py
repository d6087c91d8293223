"""A vehicle back from inspection is judged against the result, not from scratch: decide() with the
"inspected" mark, and the mark as the node reads it back from its own stored passes."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from lane_inputs import AT, BOX, PLATE, observation, pass_record

from kakou.edge.decision import Knowledge, Observation, Parameters, decide
from kakou.edge.inspections import InspectionMark, latest_mark
from kakou.edge.knowledge import ControlOrder
from kakou.edge.store import EdgeStore
from kakou.sync.checks import CheckCode as C
from kakou.sync.checks import check
from kakou.sync.messages import Outcome, ReleaseOrderData

ORDER = ReleaseOrderData(
    order_no="HF1",
    plate=PLATE,
    direction="in",
    containers=[BOX],
    valid_from=AT - timedelta(hours=3),
    valid_until=AT + timedelta(hours=3),
    declared_gross_kg=30_000,
)
ALWAYS = Parameters(random_inspection_rate=1.0)  # every truck is drawn for inspection


def obs(**kw: object) -> Observation:
    return observation(**{"pass_id": "n1-L1-9", "containers": [BOX], "gross_kg": 30_100, **kw})


def mark(result: str = "passed", at: datetime = AT - timedelta(hours=1), **kw: object) -> InspectionMark:
    return InspectionMark.model_validate(
        {
            "result": result,
            "plate": PLATE,
            "containers": [BOX],
            "officer": "wang",
            "note": "开箱查验",
            "at": at,
            "pass_id": "n1-L1-3-i1a2b",
            **kw,
        }
    )


def know(m: InspectionMark | None, **kw: object) -> Knowledge:
    return Knowledge(**{"version": 3, "release_orders": [ORDER], "inspection": m, **kw})


def test_without_a_mark_the_draw_sends_the_truck_to_inspection() -> None:
    d = decide(obs(), know(None), ALWAYS)
    assert d.outcome is Outcome.INSPECTION and [r.code for r in d.reasons] == [C.RANDOM_INSPECTION]


def test_passed_inspection_releases_a_truck_the_draw_or_the_weight_would_send_back() -> None:
    d = decide(obs(), know(mark()), ALWAYS)
    assert d.outcome is Outcome.RELEASE and d.release_orders == ["HF1"]
    assert [r.code for r in d.reasons] == [C.INSPECTED_PASSED, C.RANDOM_INSPECTION]
    assert d.reasons[0].text() == "已查验通过（关员 wang，2026-11-25T07:00:00+00:00）：不再送查验"
    assert "the inspection hold no longer applies" in d.reasons[0].text("en")
    overweight = decide(obs(gross_kg=36_000), know(mark()), Parameters())
    assert overweight.outcome is Outcome.RELEASE
    assert [r.code for r in overweight.reasons] == [C.INSPECTED_PASSED, C.WEIGHT_OVER]


def test_passed_inspection_does_not_lift_a_control_order_or_a_document_problem() -> None:
    control = ControlOrder(order_no="BK1", target="vehicle", value=PLATE, action="inspect")
    d = decide(obs(), know(mark(), control_orders=[control]), ALWAYS)
    assert d.outcome is Outcome.INSPECTION and any(c.code is C.INSPECTED_PASSED and c.ok for c in d.checks)
    no_order = decide(obs(), Knowledge(version=3, inspection=mark()), ALWAYS)
    assert no_order.outcome is Outcome.OFFICER


def test_a_failed_result_holds_the_returning_truck_with_the_result_first() -> None:
    for result, code, outcome in (
        ("seized", C.INSPECTED_SEIZED, Outcome.OFFICER),
        ("returned", C.INSPECTED_RETURNED, Outcome.OFFICER),
        ("further_inspection", C.INSPECTED_FURTHER, Outcome.INSPECTION),
    ):
        d = decide(obs(), know(mark(result)), Parameters())  # documents and weight fit: it would release
        assert d.outcome is outcome, result
        assert d.reasons[0].code is code and d.reasons[0].params["note"] == "开箱查验"
        assert d.release_orders == []
    assert decide(obs(), know(mark("seized")), Parameters()).reasons[0].text() == (
        "查验结果为查扣（关员 wang，2026-11-25T07:00:00+00:00：开箱查验）：请关员处置"
    )


def test_a_mark_is_for_the_same_truck_and_cargo_and_expires() -> None:
    assert (
        decide(obs(plate="沪AD12345"), know(mark("seized"), release_orders=[]), Parameters()).reasons[0].code
        is not C.INSPECTED_SEIZED
    )
    other_box = decide(obs(containers=["MSKU1234565"]), know(mark("seized")), Parameters())
    assert all(c.name != "inspected" for c in other_box.checks)  # new cargo: judged from scratch
    old = decide(obs(), know(mark("seized", at=AT - timedelta(hours=25))), Parameters())
    assert old.outcome is Outcome.RELEASE and all(c.name != "inspected" for c in old.checks)
    before = decide(obs(), know(mark("seized", at=AT + timedelta(minutes=1))), Parameters())
    assert before.outcome is Outcome.RELEASE  # a result recorded after this pass does not judge it


def _result_pass(store: EdgeStore, pass_id: str, code: C, at: datetime, plate: str = PLATE) -> None:
    c = check(code, code in (C.INSPECTION_PASSED, C.INSPECTION_PASSED_CONFIRMED), officer="wang", note="n")
    rec = pass_record(
        at,
        pass_id=pass_id,
        plate=plate,
        plate_confidence=1.0,
        containers=[BOX],
        outcome=Outcome.INSPECTION,
        reasons=[c.finding()],
        knowledge_version=0,
        checks=[c],
        supersedes="n1-L1-1",
        entered_by="wang",
    )
    store.record_pass(rec, {})


def test_the_node_reads_the_newest_result_from_its_own_passes_and_central(tmp_path: Path) -> None:
    store = EdgeStore(tmp_path / "edge.db")
    now = datetime.now(UTC)
    assert latest_mark(store.query, PLATE, now) is None
    _result_pass(store, "p1", C.INSPECTION_FURTHER, now - timedelta(hours=2))
    _result_pass(store, "p2", C.INSPECTION_PASSED, now - timedelta(hours=1))
    _result_pass(store, "p3", C.INSPECTION_SEIZED, now - timedelta(minutes=5), plate="沪AD12345")
    _result_pass(store, "p0", C.INSPECTION_SEIZED, now - timedelta(hours=30))  # too old to count
    got = latest_mark(store.query, PLATE, now)
    assert got is not None and (got.result, got.pass_id, got.containers) == ("passed", "p2", [BOX])
    # A result recorded at another node of the site, newer than ours, arrives as central's change.
    with store.tx() as db:
        db.execute(
            "INSERT INTO knowledge(kind, key, version, data, plate, stream) VALUES(?, ?, 1, ?, ?, ?)",
            (
                "inspection",
                PLATE,
                mark("returned", at=now - timedelta(minutes=10)).model_dump_json(),
                PLATE,
                "site:gate1",
            ),
        )
        db.execute(
            "INSERT INTO knowledge(kind, key, version, data, plate, stream) VALUES(?, ?, 1, ?, ?, ?)",
            ("inspection", "沪AD12345", '{"result": "exploded"}', "沪AD12345", "site:gate1"),
        )
    got = latest_mark(store.query, PLATE, now)
    assert got is not None and got.result == "returned"
    other = latest_mark(store.query, "沪AD12345", now)  # central's unreadable record is skipped
    assert other is not None and (other.result, other.pass_id) == ("seized", "p3")
    store.close()
