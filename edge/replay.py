"""Replay: re-run decide() on the inputs recorded with a pass and compare with what was decided."""

from __future__ import annotations

from typing import Any

from kakou.edge.decision import Knowledge, Observation, Parameters, decide
from kakou.edge.store import EdgeStore
from kakou.sync.checks import Finding, legacy


def same_reasons(replayed: list[Finding], recorded: list[Finding]) -> bool:
    """Codes and parameters must agree. A pass recorded before check codes (version-1 sentences)
    agrees when the replayed reasons read the same in English, the language those sentences were in."""
    if legacy(recorded):
        return [f.text("en") for f in replayed] == [str(f.params.get("text", "")) for f in recorded]
    return replayed == recorded


def replay(store: EdgeStore, pass_id: str) -> dict[str, Any] | None:
    found = store.get_pass(pass_id)
    if found is None or "observation" not in found[1]:
        return None  # unknown, or an officer's decision (its inputs are the command, not sensors)
    record, inputs = found
    decision = decide(Observation.model_validate(inputs["observation"]),
                      Knowledge.model_validate(inputs["knowledge"]),
                      Parameters.model_validate(inputs["parameters"]))
    same = (decision.outcome == record.outcome and same_reasons(decision.reasons, record.reasons)
            and decision.knowledge_version == record.knowledge_version)
    return {"pass_id": pass_id,
            "recorded": {"outcome": record.outcome.value,
                         "reasons": [r.model_dump(mode="json") for r in record.reasons],
                         "text": [r.text() for r in record.reasons]},
            "replayed": decision.model_dump(mode="json"), "text": [r.text() for r in decision.reasons], "same": same}
