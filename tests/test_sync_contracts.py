"""Signed change batches, ordered application at the edge, idempotent ingest at central."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from kakou.central import changelog, ingest, orders
from kakou.central.db import create_schema, make_engine, make_sessionmaker
from kakou.central.service import Central, Conflict
from kakou.edge.store import EdgeStore, VersionGap
from kakou.sync.messages import (
    Change,
    ChangeBatch,
    ChangeKind,
    Envelope,
    ReleaseOrderData,
)
from kakou.sync.samples import sample_record
from kakou.sync.signing import SignatureError, key_id, sign, verify

NOW = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)


def order(no: str, plate: str) -> ReleaseOrderData:
    return ReleaseOrderData(
        order_no=no,
        plate=plate,
        direction="in",
        valid_from=NOW - timedelta(hours=1),
        valid_until=NOW + timedelta(hours=1),
    )


def batch(after: int, orders: list[ReleaseOrderData]) -> ChangeBatch:
    changes = [
        Change(version=after + i + 1, kind=ChangeKind.RELEASE_ORDER, key=o.order_no, data=o.model_dump(mode="json"))
        for i, o in enumerate(orders)
    ]
    return ChangeBatch(after_version=after, to_version=after + len(orders), issued_at=NOW, changes=changes)


@pytest.fixture
def central(tmp_path: Path) -> Central:
    engine = make_engine(f"sqlite:///{tmp_path / 'central.db'}")
    create_schema(engine)
    return Central(make_sessionmaker(engine))


def test_signed_batch_verifies_and_forgeries_do_not() -> None:
    central_key, other_key = Ed25519PrivateKey.generate(), Ed25519PrivateKey.generate()
    trusted = {key_id(central_key.public_key()): central_key.public_key()}
    signed = sign(batch(0, [order("HF1", "粤B12345")]), central_key)
    verify(signed, trusted)

    tampered = signed.model_copy(
        update={
            "changes": [
                signed.changes[0].model_copy(update={"data": {**(signed.changes[0].data or {}), "plate": "粤B99999"}})
            ]
        }
    )
    with pytest.raises(SignatureError, match="does not verify"):
        verify(tampered, trusted)
    with pytest.raises(SignatureError, match="unknown key"):
        verify(sign(batch(0, [order("HF1", "粤B12345")]), other_key), trusted)
    with pytest.raises(SignatureError, match="unsigned"):
        verify(batch(0, [order("HF1", "粤B12345")]), trusted)


def test_edge_applies_in_order_ignores_replays_and_detects_gaps(tmp_path: Path) -> None:
    store = EdgeStore(tmp_path / "edge.db")
    assert store.apply_batch(batch(0, [order("HF1", "粤B12345")]), NOW) == 1
    assert store.apply_batch(batch(0, [order("HF1", "粤B12345")]), NOW) == 0  # replay: nothing changes
    with pytest.raises(VersionGap):
        store.apply_batch(batch(2, [order("HF3", "粤B33333")]), NOW)
    assert store.knowledge_version == 1
    assert store.apply_batch(batch(1, [order("HF2", "粤B12345"), order("HF3", "粤B33333")]), NOW) == 2
    version, orders = store.release_orders_for("粤B12345")
    assert version == 3 and sorted(o.order_no for o in orders) == ["HF1", "HF2"]


def _envelope(seq: int) -> Envelope:
    rec = sample_record("n1", seq, NOW, plate_confidence=0.99, reasons=["ok"])
    return Envelope(node="n1", seq=seq, kind="pass", sent_at=NOW, body=rec)


def test_central_ingest_is_idempotent_and_acks_only_a_contiguous_prefix(central: Central) -> None:
    assert ingest.ingest_pass(central, _envelope(1)) == 1
    assert ingest.ingest_pass(central, _envelope(3)) == 1  # 2 is still in flight: do not ack 3
    assert ingest.ingest_pass(central, _envelope(1)) == 1  # duplicate delivery
    assert ingest.ingest_pass(central, _envelope(2)) == 3
    total, rows = ingest.list_passes(central, 50, 0)
    assert total == 3 and sorted(r.seq for r in rows) == [1, 2, 3]
    assert ingest.list_nodes(central)[0].duplicates == 1


def test_release_order_numbers_are_unique_and_each_change_is_versioned(central: Central) -> None:
    assert orders.create_release_order(central, order("HF1", "粤B12345")) == 1
    assert orders.create_release_order(central, order("HF2", "粤B12346")) == 2
    with pytest.raises(Conflict):
        orders.create_release_order(central, order("HF1", "粤B00000"))
    b = changelog.changes_after(central, 1)
    assert (b.after_version, b.to_version, [c.key for c in b.changes]) == (1, 2, ["HF2"])
