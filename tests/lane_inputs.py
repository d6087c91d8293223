"""The decision's inputs with plausible defaults, for the tests of every folder (imported by name:
tests/ is not a package, and this folder is on the path of all of them)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from kakou.edge.decision import Observation
from kakou.sync.messages import Outcome, PassRecord, ReleaseOrderData

AT = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
PLATE, BOX = "粤B12345", "CSQU3054383"


def observation(**kw: object) -> Observation:
    """What a lane saw of PLATE at AT, read with confidence; `kw` adds or overrides fields."""
    base: dict[str, object] = dict(
        pass_id="n1-L1-1", lane="L1", direction="in", at=AT, plate=PLATE, plate_confidence=0.99
    )
    return Observation(**{**base, **kw})


def release_order(**kw: object) -> ReleaseOrderData:
    """Release order HF1 for PLATE, valid an hour either side of AT; `kw` adds or overrides fields."""
    base: dict[str, object] = dict(
        order_no="HF1",
        plate=PLATE,
        direction="in",
        valid_from=AT - timedelta(hours=1),
        valid_until=AT + timedelta(hours=1),
    )
    return ReleaseOrderData(**{**base, **kw})


def pass_record(at: datetime = AT, **kw: object) -> PassRecord:
    """Pass 1 of lane n1/L1 decided at `at`: PLATE released, as the lane records it; `kw` adds or
    overrides fields. The barrier opens on a release, as a lane's does."""
    base: dict[str, object] = dict(
        pass_id="n1-L1-1",
        node="n1",
        lane="L1",
        direction="in",
        started_at=at,
        decided_at=at,
        plate=PLATE,
        plate_confidence=0.95,
        outcome=Outcome.RELEASE,
        reasons=[],
        knowledge_version=1,
    )
    fields = {**base, **kw}
    return PassRecord(**{"opens_barrier": fields["outcome"] == Outcome.RELEASE, **fields})
