"""A plausible pass record, every field a caller does not care about filled in. The benches, the
fleet and lane simulators and the tests build theirs here and say only what their case needs, so a
field added to `PassRecord` is added in one place."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from kakou.sync.messages import Outcome, PassRecord


def sample_record(node: str, seq: int | str, at: datetime, **fields: Any) -> PassRecord:
    """Pass `seq` of `node`'s lane L1 (pass_id "node-L1-seq"), started and decided at `at`: 粤B12345
    read at 0.9, released on knowledge version 1 with no reasons. `fields` set any other field."""
    lane = fields.get("lane", "L1")
    values: dict[str, Any] = {
        "pass_id": f"{node}-{lane}-{seq}",
        "node": node,
        "lane": lane,
        "direction": "in",
        "started_at": at,
        "decided_at": at,
        "plate": "粤B12345",
        "plate_confidence": 0.9,
        "outcome": Outcome.RELEASE,
        "reasons": [],
        "knowledge_version": 1,
        "opens_barrier": True,
    }
    return PassRecord(**{**values, **fields})
