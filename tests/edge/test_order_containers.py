"""Which cached release orders name a container (the index legality reads for a container seen on
another vehicle's open order) follows every way the cache is written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from kakou.edge.records import LaneRecords
from kakou.edge.store import EdgeStore
from kakou.sync.messages import Change, ChangeBatch, ChangeKind

NOW = datetime.now(UTC)
BOX, BOX2 = "CSQU3054383", "MSKU1234565"


def _order(no: str, plate: str, *boxes: str) -> dict:
    return {
        "order_no": no,
        "plate": plate,
        "containers": list(boxes),
        "direction": "in",
        "valid_from": NOW.isoformat(),
        "valid_until": (NOW + timedelta(hours=4)).isoformat(),
    }


def _batch(after: int, *changes: tuple[str, dict | None], snapshot: bool = False) -> ChangeBatch:
    return ChangeBatch(
        after_version=0 if snapshot else after,
        to_version=after + len(changes),
        issued_at=NOW,
        snapshot=snapshot,
        changes=[
            Change(version=after + i + 1, kind=ChangeKind.RELEASE_ORDER, key=k, data=d)
            for i, (k, d) in enumerate(changes)
        ],
    )


def _others(records: LaneRecords, *boxes: str) -> set[tuple[str, str]]:
    return {(o.container, o.order_no) for o in records.knowledge_for("粤A00001", None, list(boxes)).other_orders}


def test_live_changes_update_and_withdrawal(tmp_path: Path) -> None:
    store = EdgeStore(tmp_path / "e.db")
    records = LaneRecords(store, tmp_path / "img")
    store.apply_batch(_batch(0, ("HF1", _order("HF1", "粤B00002", BOX)), ("HF9", _order("HF9", "粤A00001", BOX))), NOW)
    assert _others(records, BOX) == {(BOX, "HF1")}  # the truck's own order HF9 is not another's
    store.apply_batch(_batch(2, ("HF1", _order("HF1", "粤B00002", BOX2))), NOW)  # the order changed its box
    assert _others(records, BOX, BOX2) == {(BOX2, "HF1")}
    store.apply_batch(_batch(3, ("HF1", None)), NOW)  # withdrawn
    assert _others(records, BOX, BOX2) == set()
    store.close()


def test_snapshot_replaces_and_an_older_cache_is_indexed_once(tmp_path: Path) -> None:
    store = EdgeStore(tmp_path / "e.db")
    # Written before the lane's records (and their triggers) existed, as an upgraded node's cache is.
    store.apply_batch(_batch(0, ("HF1", _order("HF1", "粤B00002", BOX))), NOW)
    records = LaneRecords(store, tmp_path / "img")
    assert _others(records, BOX) == {(BOX, "HF1")}
    assert LaneRecords(store, tmp_path / "img") and store.query("SELECT count(*) FROM order_containers") == [(1,)]
    store.apply_batch(_batch(5, ("HF2", _order("HF2", "粤B00003", BOX2)), snapshot=True), NOW)
    assert _others(records, BOX, BOX2) == {(BOX2, "HF2")}
    store.close()
