"""Helpers for the ops tests (imported by name: tests/ is not a package)."""

from __future__ import annotations

from datetime import UTC, datetime

from kakou.sync.messages import Envelope, PassRecord
from kakou.sync.samples import sample_record


def a_pass(node: str, lane: str, n: int) -> PassRecord:
    return sample_record(
        node,
        n,
        datetime.now(UTC),
        lane=lane,
        plate=f"粤B{10000 + n}",
        plate_confidence=0.99,
        reasons=["release order valid"],
        knowledge_version=0,
    )


def envelope(rec: PassRecord, seq: int) -> Envelope:
    return Envelope(node=rec.node, seq=seq, kind="pass", sent_at=datetime.now(UTC), body=rec)
