"""Helpers for the ops tests (imported by name: tests/ is not a package)."""

from __future__ import annotations

from datetime import UTC, datetime

from kakou.sync.messages import Envelope, Outcome, PassRecord


def a_pass(node: str, lane: str, n: int) -> PassRecord:
    at = datetime.now(UTC)
    return PassRecord(
        pass_id=f"{node}-{lane}-{n}",
        node=node,
        lane=lane,
        direction="in",
        started_at=at,
        decided_at=at,
        plate=f"粤B{10000 + n}",
        plate_confidence=0.99,
        outcome=Outcome.RELEASE,
        reasons=["release order valid"],
        knowledge_version=0,
        opens_barrier=True,
    )


def envelope(rec: PassRecord, seq: int) -> Envelope:
    return Envelope(node=rec.node, seq=seq, kind="pass", sent_at=datetime.now(UTC), body=rec)
