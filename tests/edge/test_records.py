"""Local records: in/out balance, image retention that never touches passes, statistics."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from lane_inputs import pass_record

from kakou.edge.records import Intervention, LaneRecords
from kakou.edge.store import EdgeStore
from kakou.sync.checks import CheckCode, check
from kakou.sync.messages import Outcome, PassRecord

T0 = datetime.now(UTC) - timedelta(hours=1)


def rec(i: int, plate: str, direction: str, outcome: Outcome = Outcome.RELEASE, **kw: object) -> PassRecord:
    at = T0 + timedelta(minutes=i)
    return pass_record(
        at, pass_id=f"n-L-{i}", node="n", direction=direction, plate=plate, outcome=outcome, reasons=["r"], **kw
    )


def test_in_out_balance_lists_only_vehicles_whose_crossings_do_not_match(tmp_path: Path) -> None:
    store = EdgeStore(tmp_path / "edge.db")
    records = LaneRecords(store, tmp_path / "img")
    crossings = [
        ("粤Z1234港", "in", Outcome.RELEASE),
        ("粤Z1234港", "out", Outcome.RELEASE),
        ("粤Z5678港", "in", Outcome.RELEASE),
        ("粤Z9999港", "in", Outcome.OFFICER),
    ]
    for i, (plate, d, outcome) in enumerate(crossings):
        store.record_pass(rec(i, plate, d, outcome), {})
    assert [(u["plate"], u["in"], u["out"]) for u in records.unbalanced()] == [("粤Z5678港", 1, 0)]
    # A release on documents and the backfill that supersedes it are one crossing.
    store.record_pass(rec(10, "粤Z7777港", "in"), {})
    store.record_pass(rec(11, "粤Z7777港", "in", supersedes="n-L-10"), {})
    assert ("粤Z7777港", 1, 0) in [(u["plate"], u["in"], u["out"]) for u in records.unbalanced()]


def test_retention_prunes_old_images_and_keeps_every_pass(tmp_path: Path) -> None:
    store = EdgeStore(tmp_path / "edge.db")
    records = LaneRecords(store, tmp_path / "img")
    old, new = b"\xff\xd8old-frame", b"\xff\xd8new-frame"
    h_old = records.save_image("n-L-0", old, T0 - timedelta(days=100))
    h_new = records.save_image("n-L-1", new, T0)
    store.record_pass(rec(0, "粤B12345", "in", images=[h_old]), {})
    store.record_pass(rec(1, "粤B12345", "in", images=[h_new]), {})
    assert records.prune_images(timedelta(days=90), min_free_bytes=0, now=T0) == 1
    assert records.image_path(h_old) is None and records.image_path(h_new) is not None
    assert len(store.list_passes()) == 2
    # Disk short of space: oldest first, still never a pass record.
    assert records.prune_images(timedelta(days=90), min_free_bytes=2**62, now=T0) == 1
    assert records.image_path(h_new) is None and len(store.list_passes()) == 2


def test_lane_statistics_count_reads_and_interventions(tmp_path: Path) -> None:
    store = EdgeStore(tmp_path / "edge.db")
    records = LaneRecords(store, tmp_path / "img")
    store.record_pass(rec(0, "粤B12345", "in"), {})
    camera = check(CheckCode.DEVICE_FAULT, False, fault="plate camera timed out")
    store.record_pass(rec(1, None, "in", Outcome.OFFICER, checks=[camera]), {})  # type: ignore[arg-type]
    store.record_pass(rec(2, "粤B22222", "in", supersedes="n-L-1", entered_by="o1"), {})
    records.record_intervention(
        Intervention(at=T0, lane="L1", pass_id="n-L-1", officer="o1", action="manual_entry", reason="plate dirty")
    )
    stats = records.lane_stats("L1", since=T0 - timedelta(minutes=1))
    assert stats["passes"] == 2 and stats["recognition_rate"] == 0.5 and stats["manual_intervention_rate"] == 0.5
    assert stats["device_faults"] == 1


def test_measured_tare_is_the_last_weighing_on_entry_and_containers_bring_their_registered_tare(tmp_path: Path) -> None:
    from kakou.edge.decision import Parameters, decide
    from kakou.sync.messages import Change, ChangeBatch, ChangeKind, ReleaseOrderData

    store = EdgeStore(tmp_path / "edge.db")
    records = LaneRecords(store, tmp_path / "img")
    order = ReleaseOrderData(
        order_no="HF7",
        plate="粤B12345",
        containers=["CSQU3054383"],
        direction="out",
        valid_from=T0,
        valid_until=T0 + timedelta(hours=3),
        declared_net_kg=21_000,
    )
    store.apply_batch(
        ChangeBatch(
            after_version=0,
            to_version=2,
            issued_at=T0,
            changes=[
                Change(version=1, kind=ChangeKind.RELEASE_ORDER, key="HF7", data=order.lane_json()),
                Change(
                    version=2,
                    kind=ChangeKind.CONTAINER,
                    key="CSQU3054383",
                    data={"container_no": "CSQU3054383", "size_type": "22G1", "tare_kg": 2_200},
                ),
            ],
        ),
        T0,
    )
    store.record_pass(rec(1, "粤B12345", "in", gross_kg=None), {})  # not weighed: not a tare
    store.record_pass(rec(2, "粤B12345", "in", gross_kg=16_900), {})
    store.record_pass(rec(3, "粤B12345", "in", Outcome.OFFICER, gross_kg=40_000), {})  # held: not a weighing in
    k = records.knowledge_for("粤B12345", None, ["CSQU3054383"], entry_weighing=True)
    assert k.entry_weighing is not None and (k.entry_weighing.pass_id, k.entry_weighing.gross_kg) == ("n-L-2", 16_900)
    assert [(c.container_no, c.tare_kg) for c in k.containers] == [("CSQU3054383", 2_200)]
    assert k.release_orders[0].declared_net_kg == 21_000
    from lane_inputs import observation

    seen = observation(
        pass_id="n-L-9",
        lane="L2",
        direction="out",
        at=T0 + timedelta(hours=1),
        plate_confidence=0.97,
        containers=["CSQU3054383"],
        gross_kg=38_100,
    )
    d = decide(seen, k, Parameters(tare_mode="measured"))
    assert d.outcome is Outcome.RELEASE
    basis = next(c for c in d.checks if c.code == "tare_measured")
    assert basis.params == {"net_kg": 21_000, "entry_kg": 16_900, "entry_pass": "n-L-2"}
    assert "entry weighing 16900 kg (n-L-2)" in basis.text("en")
    # Once it has been weighed on the way out, that entry is used up.
    store.record_pass(rec(4, "粤B12345", "out", gross_kg=38_000), {})
    assert records.knowledge_for("粤B12345", None, entry_weighing=True).entry_weighing is None
    store.close()
