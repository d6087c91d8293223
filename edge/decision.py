"""The lane decision: a pure function of what was observed, what is known and the parameters.

No I/O and no clock here: the caller passes the time in the observation, so a recorded pass can
be replayed (`kakou edge replay`) and gives the same decision.
"""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from kakou.sync.messages import Outcome, ReleaseOrderData


class Parameters(BaseModel):
    """The lane's part of the parameter library (参数库)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_plate_confidence: float = Field(0.80, ge=0, le=1)


class Observation(BaseModel):
    model_config = ConfigDict(frozen=True)

    lane: str
    direction: Literal["in", "out"]
    at: datetime
    plate: str | None
    plate_confidence: float = 0.0
    containers: list[str] = Field(default_factory=list)
    faults: list[str] = Field(default_factory=list)  # device faults during this pass


class Knowledge(BaseModel):
    """The slice of the cache relevant to this vehicle, and the version it was read at."""

    model_config = ConfigDict(frozen=True)

    version: int
    release_orders: list[ReleaseOrderData] = Field(default_factory=list)


class Decision(BaseModel):
    model_config = ConfigDict(frozen=True)

    outcome: Outcome
    reasons: list[str]
    release_order: str | None = None
    knowledge_version: int


def decide(obs: Observation, knowledge: Knowledge, params: Parameters) -> Decision:
    def held(*reasons: str) -> Decision:
        return Decision(outcome=Outcome.OFFICER, reasons=list(reasons), knowledge_version=knowledge.version)

    if obs.faults:
        return held(*(f"device fault: {f}" for f in obs.faults))
    if obs.plate is None:
        return held("plate not read")
    if obs.plate_confidence < params.min_plate_confidence:
        return held(f"plate read {obs.plate} below confidence ({obs.plate_confidence:.2f})")

    rejected: list[str] = []
    for order in sorted(knowledge.release_orders, key=lambda o: o.order_no):
        why = _order_mismatch(order, obs)
        if why is None:
            return Decision(
                outcome=Outcome.RELEASE,
                reasons=[f"release order {order.order_no} valid for {obs.plate}"],
                release_order=order.order_no,
                knowledge_version=knowledge.version,
            )
        rejected.append(f"release order {order.order_no}: {why}")
    if not rejected:
        return held(f"no release order for {obs.plate}")
    return held(*rejected)


def _order_mismatch(order: ReleaseOrderData, obs: Observation) -> str | None:
    if order.plate != obs.plate:
        return f"for plate {order.plate}"
    if order.direction != obs.direction:
        return f"for direction {order.direction}, lane is {obs.direction}"
    if obs.at < order.valid_from:
        return f"not valid before {order.valid_from.isoformat()}"
    if obs.at > order.valid_until:
        return f"expired {order.valid_until.isoformat()}"
    missing = sorted(set(order.containers) - set(obs.containers))
    if missing:
        return f"containers not seen: {', '.join(missing)}"
    extra = sorted(set(obs.containers) - set(order.containers))
    if extra:
        return f"containers not on the order: {', '.join(extra)}"
    return None
