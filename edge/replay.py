"""Replay: re-run decide() on the inputs recorded with a pass and compare with what was decided;
and decide from a file of such inputs (`kakou edge decide FILE`)."""

from __future__ import annotations

from typing import Any

from pydantic import ValidationError

from kakou.edge.decision import Decision, Knowledge, Observation, Parameters, decide
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
    decision = decide(
        Observation.model_validate(inputs["observation"]),
        Knowledge.model_validate(inputs["knowledge"]),
        Parameters.model_validate(inputs["parameters"]),
    )
    same = (
        decision.outcome == record.outcome
        and same_reasons(decision.reasons, record.reasons)
        and decision.knowledge_version == record.knowledge_version
    )
    return {
        "pass_id": pass_id,
        "recorded": {
            "outcome": record.outcome.value,
            "reasons": [r.model_dump(mode="json") for r in record.reasons],
            "text": [r.text() for r in record.reasons],
        },
        "replayed": decision.model_dump(mode="json"),
        "text": [r.text() for r in decision.reasons],
        "same": same,
    }


class InputsError(ValueError):
    """The recorded inputs cannot be read; the message says which part and why."""


def decide_recorded(data: Any) -> Decision:
    """The decision for recorded inputs: {"observation", "knowledge", "parameters"} as a pass stores
    them (or the edge's GET /api/v1/passes/{id} answer, whose "inputs" they are). Knowledge may be
    left out (nothing known) and so may parameters (the lane's defaults)."""
    if isinstance(data, dict) and isinstance(data.get("inputs"), dict):
        data = data["inputs"]
    if not isinstance(data, dict):
        raise InputsError("expected a JSON object with observation, knowledge and parameters")
    if "officer_command" in data and "observation" not in data:
        raise InputsError("these are the inputs of an officer's decision (a command), not of decide()")
    if "observation" not in data:
        raise InputsError("no observation: the inputs need at least what the lane read")
    unknown = sorted(set(data) - {"observation", "knowledge", "parameters"})
    if unknown:
        raise InputsError(f"unknown part(s) {', '.join(unknown)}; expected observation, knowledge, parameters")
    parts: dict[str, Any] = {}
    for name, model, default in (
        ("observation", Observation, None),
        ("knowledge", Knowledge, {"version": 0}),
        ("parameters", Parameters, {}),
    ):
        try:
            parts[name] = model.model_validate(data.get(name, default))
        except ValidationError as exc:
            problems = "; ".join(
                f"{'.'.join(str(x) for x in e['loc']) or '(whole)'}: {e['msg']}" for e in exc.errors()[:5]
            )
            raise InputsError(f"{name}: {problems}") from None
    return decide(parts["observation"], parts["knowledge"], parts["parameters"])
