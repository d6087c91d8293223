"""Replay: re-run decide() on the inputs recorded with a pass and compare with what was decided."""

from __future__ import annotations

from typing import Any

from kakou.edge.decision import Knowledge, Observation, Parameters, decide
from kakou.edge.store import EdgeStore


def replay(store: EdgeStore, pass_id: str) -> dict[str, Any] | None:
    found = store.get_pass(pass_id)
    if found is None or "observation" not in found[1]:
        return None  # unknown, or an officer's decision (its inputs are the command, not sensors)
    record, inputs = found
    decision = decide(Observation.model_validate(inputs["observation"]),
                      Knowledge.model_validate(inputs["knowledge"]),
                      Parameters.model_validate(inputs["parameters"]))
    same = (decision.outcome == record.outcome and decision.reasons == record.reasons
            and decision.knowledge_version == record.knowledge_version)
    return {"pass_id": pass_id, "recorded": {"outcome": record.outcome.value, "reasons": record.reasons},
            "replayed": decision.model_dump(mode="json"), "same": same}
