"""Wire contracts between edge and central. Everything on MQTT is one of these, as JSON.

Every uplink message is wrapped in an `Envelope` with the node's own monotonically increasing
sequence number; central stores on (node, seq) idempotently and acknowledges a high-water mark.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kakou.sync.checks import Check, Finding, upgrade_checks, upgrade_reasons

PROTOCOL_VERSION = 1
# Pass envelopes: 2 carries the decision as typed check codes (kakou.sync.checks); central still
# accepts 1 (English sentences, kept as legacy_text findings) for this protocol version.
PASS_VERSION: Literal[2] = 2


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Outcome(StrEnum):
    RELEASE = "release"
    OFFICER = "officer"  # hold for an officer at the lane
    INSPECTION = "inspection"


class PassRecord(Strict):
    """One vehicle's pass through a lane, with what the decision was based on."""

    pass_id: str
    node: str
    lane: str
    direction: Literal["in", "out"]
    started_at: datetime
    decided_at: datetime
    plate: str | None
    plate_confidence: float
    containers: list[str] = Field(default_factory=list)
    gross_kg: float | None = None
    outcome: Outcome
    reasons: list[Finding] = Field(max_length=64)
    release_order: str | None = None  # the first of release_orders; all an older lane sends
    knowledge_version: int
    opens_barrier: bool  # the decision commanded the barrier open
    checks: list[Check] = Field(default_factory=list, max_length=64)  # each check: code, ok, params (and name)
    e_plate: str | None = None
    ic_card: str | None = None
    entered_by: str | None = None  # officer who keyed the identity (manual entry)
    supersedes: str | None = None  # an officer's decision replaces this earlier pass_id
    images: list[str] = Field(default_factory=list)  # sha256 of the frames kept at the edge
    # Every release order the pass goes out on (several orders can share one truck).
    release_orders: list[str] = Field(default_factory=list)

    def orders_used(self) -> list[str]:
        """The orders this pass used, from a lane of either version."""
        return list(self.release_orders) or ([self.release_order] if self.release_order else [])

    @model_validator(mode="before")
    @classmethod
    def _v1_sentences(cls, data: Any) -> Any:
        """A record from a version-1 lane (or recorded by one) has sentences: keep them as legacy_text."""
        if isinstance(data, dict) and ("reasons" in data or "checks" in data):
            data = {**data, "reasons": upgrade_reasons(data.get("reasons")),
                    "checks": upgrade_checks(data.get("checks", []))}
        return data


class Envelope(Strict):
    """Uplink wrapper: (node, seq) is the idempotency key at central."""

    v: Literal[1, 2] = PASS_VERSION
    node: str
    seq: int = Field(ge=1)
    kind: Literal["pass"]
    sent_at: datetime
    body: PassRecord


class Ack(Strict):
    """Central → edge: every seq ≤ high_water from this node is stored (or quarantined).

    `rejected` lists seqs central could not accept as passes (malformed body, newer schema): it
    kept their raw payload in quarantine so the stream is not blocked behind them; the edge marks
    them failed for an operator to look at.
    """

    v: Literal[1] = PROTOCOL_VERSION
    node: str
    high_water: int = Field(ge=0)
    rejected: list[int] = Field(default_factory=list)


class EnvelopeHeader(BaseModel):
    """What central needs to quarantine an envelope whose body it cannot accept."""

    model_config = ConfigDict(extra="ignore")

    node: str
    seq: int = Field(ge=1)


class SyncRequest(Strict):
    """Edge → central: send me what I am missing (gap or start-up).

    `streams` is the node's position in each change stream it holds (docs/protocol.md, "Scopes");
    `after_version` is its broadcast position, all a node that predates scoping sends.
    """

    v: Literal[1] = PROTOCOL_VERSION
    node: str
    after_version: int = Field(ge=0)
    streams: dict[str, int] = Field(default_factory=dict)

    def positions(self) -> dict[str, int]:
        return self.streams or {"*": self.after_version}


class NodeStatus(Strict):
    """Retained presence on topics.status(node); the MQTT last will publishes online=False."""

    v: Literal[1] = PROTOCOL_VERSION
    online: bool
    knowledge_version: int = Field(0, ge=0)  # the sum of `streams`: changes of the node's scope it holds
    streams: dict[str, int] = Field(default_factory=dict)  # position in each change stream


class ChangeKind(StrEnum):
    RELEASE_ORDER = "release_order"
    CONTROL_ORDER = "control_order"
    # Registrations and settings the lanes need; data models in kakou.sync.knowledge.
    VEHICLE = "vehicle"
    DRIVER = "driver"
    CONTAINER = "container"
    CARRIER = "carrier"
    YARD = "yard"
    PARAMETERS = "parameters"  # key: lane id, or "*" for every lane
    RISK_RULE = "risk_rule"
    # Central disposed of a control-order hit and released the vehicle held on it; key = the held
    # pass_id, published on the node stream of the lane that holds it only.
    CONTROL_DISPOSAL = "control_disposal"


class Change(Strict):
    """One entry of central's ordered change log. `data` None means the key was withdrawn.

    `version` is the change's position in its stream (ChangeBatch.stream), gap-free per stream.
    """

    version: int = Field(ge=1)
    kind: ChangeKind
    key: str
    data: dict[str, Any] | None


class ChangeBatch(Strict):
    """A contiguous run (after_version, to_version] of one change stream, signed by central.

    `stream` is the scope the changes are for: "*" (every node), "site:{code}" or "node:{id}";
    versions count within that stream. `more`: central had further changes than fit; ask again.
    With `snapshot` true it is instead the whole current state at `to_version` (every live key,
    each with the version that last changed it): the edge replaces its cache with it. Central sends
    one when an edge is too far behind for the log to be worth replaying, or on a manual resync.
    """

    v: Literal[1] = PROTOCOL_VERSION
    after_version: int = Field(ge=0)
    to_version: int = Field(ge=0)
    issued_at: datetime
    changes: list[Change]
    snapshot: bool = False
    stream: str = "*"
    more: bool = False
    # This node no longer follows `stream` (its lanes moved to another site): drop the stream's
    # entries and position. Only ever sent to one node, on its own topic.
    retired: bool = False
    key_id: str = ""
    signature: str = ""  # base64 Ed25519 over the canonical bytes of every other field

    def signing_bytes(self) -> bytes:
        body = self.model_dump(mode="json", exclude={"signature"})
        return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


class ReleaseOrderData(Strict):
    """What the lane needs of a release order (核放单)."""

    order_no: str
    plate: str
    containers: list[str] = Field(default_factory=list)
    direction: Literal["in", "out"]
    valid_from: datetime
    valid_until: datetime
    declared_gross_kg: float | None = None
    declared_net_kg: float | None = None  # the cargo alone: the lane adds the tare by its tare mode

    def lane_json(self) -> dict[str, Any]:
        """As published to the lanes: without a net weight the record is what lanes before
        `declared_net_kg` read (they refuse unknown fields, so none is sent when there is none)."""
        data = self.model_dump(mode="json")
        if data["declared_net_kg"] is None:
            del data["declared_net_kg"]
        return data
