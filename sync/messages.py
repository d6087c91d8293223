"""Wire contracts between edge and central. Everything on MQTT is one of these, as JSON.

Every uplink message is wrapped in an `Envelope` with the node's own monotonically increasing
sequence number; central stores on (node, seq) idempotently and acknowledges a high-water mark.
"""

from __future__ import annotations

import json
from datetime import datetime
from enum import StrEnum
from typing import Annotated, Any, Final, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from kakou.sync import limits
from kakou.sync.checks import Check, Finding, upgrade_checks, upgrade_reasons
from kakou.sync.risk_verdicts import MAX_HITS, RiskVerdictHit

PROTOCOL_VERSION: Final = 1
# Pass envelopes: 2 carries the decision as typed check codes (kakou.sync.checks); central still
# accepts 1 (English sentences, kept as legacy_text findings) for this protocol version.
PASS_VERSION: Literal[2] = 2

# Identifiers: no control characters (PostgreSQL refuses NUL in text; none belongs in an id).
_NO_CONTROL = r"^[^\x00-\x1f\x7f]*$"
NodeId = Annotated[str, Field(min_length=1, max_length=limits.NODE_ID, pattern=_NO_CONTROL)]
LaneId = Annotated[str, Field(min_length=1, max_length=limits.LANE_ID, pattern=_NO_CONTROL)]
PassId = Annotated[str, Field(min_length=1, max_length=limits.PASS_ID, pattern=_NO_CONTROL)]
Plate = Annotated[str, Field(max_length=limits.PLATE, pattern=_NO_CONTROL)]
OrderNo = Annotated[str, Field(max_length=limits.ORDER_NO, pattern=_NO_CONTROL)]
Username = Annotated[str, Field(max_length=limits.USERNAME, pattern=_NO_CONTROL)]
ContainerNo = Annotated[str, Field(max_length=limits.CONTAINER_NO, pattern=_NO_CONTROL)]
CardNo = Annotated[str, Field(max_length=limits.CARD_NO, pattern=_NO_CONTROL)]
Sha256 = Annotated[str, Field(max_length=limits.SHA256_HEX, pattern=_NO_CONTROL)]
Seq = Annotated[int, Field(ge=1, le=limits.SEQ_MAX)]
Position = Annotated[int, Field(ge=0, le=limits.VERSION_MAX)]
StreamName = Annotated[str, Field(max_length=limits.STREAM, pattern=_NO_CONTROL)]


class Strict(BaseModel):
    # Floats are finite: NaN and Infinity are not numbers a lane measures (and not JSON).
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Outcome(StrEnum):
    RELEASE = "release"
    OFFICER = "officer"  # hold for an officer at the lane
    INSPECTION = "inspection"


class PassRecord(Strict):
    """One vehicle's pass through a lane, with what the decision was based on."""

    pass_id: PassId
    node: NodeId
    lane: LaneId
    direction: Literal["in", "out"]
    started_at: datetime
    decided_at: datetime
    plate: Plate | None
    plate_confidence: float = Field(ge=0, le=1)
    containers: list[ContainerNo] = Field(default_factory=list, max_length=limits.MAX_CONTAINERS)
    gross_kg: float | None = Field(None, ge=-1e6, le=1e7)
    outcome: Outcome
    reasons: list[Finding] = Field(max_length=limits.MAX_REASONS)
    release_order: OrderNo | None = None  # the first of release_orders; all an older lane sends
    knowledge_version: int = Field(ge=0, lt=2**63)
    opens_barrier: bool  # the decision commanded the barrier open
    checks: list[Check] = Field(default_factory=list, max_length=limits.MAX_CHECKS)  # each: code, ok, params (and name)
    e_plate: CardNo | None = None
    ic_card: CardNo | None = None
    entered_by: Username | None = None  # officer who keyed the identity (manual entry)
    supersedes: PassId | None = None  # an officer's decision replaces this earlier pass_id
    images: list[Sha256] = Field(default_factory=list, max_length=limits.MAX_IMAGES)  # frames kept at the edge
    # Every release order the pass goes out on (several orders can share one truck).
    release_orders: list[OrderNo] = Field(default_factory=list, max_length=limits.MAX_CONTAINERS)
    # The transit (转关) this pass is the arrival of: containers and e-seal checked against it at the
    # destination lane; central closes it.
    transit_no: OrderNo | None = None

    def orders_used(self) -> list[str]:
        """The orders this pass used, from a lane of either version."""
        return list(self.release_orders) or ([self.release_order] if self.release_order else [])

    @model_validator(mode="before")
    @classmethod
    def _v1_sentences(cls, data: Any) -> Any:
        """A record from a version-1 lane (or recorded by one) has sentences: keep them as legacy_text."""
        if isinstance(data, dict) and ("reasons" in data or "checks" in data):
            data = {
                **data,
                "reasons": upgrade_reasons(data.get("reasons")),
                "checks": upgrade_checks(data.get("checks", [])),
            }
        return data


class Envelope(Strict):
    """Uplink wrapper: (node, seq) is the idempotency key at central."""

    v: Literal[1, 2] = PASS_VERSION
    node: NodeId
    seq: Seq
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
    node: NodeId
    high_water: int = Field(ge=0, le=limits.SEQ_MAX)
    rejected: list[Seq] = Field(default_factory=list)


class EnvelopeHeader(BaseModel):
    """What central needs to quarantine an envelope whose body it cannot accept."""

    model_config = ConfigDict(extra="ignore")

    node: NodeId
    seq: Seq


class SyncRequest(Strict):
    """Edge → central: send me what I am missing (gap or start-up).

    `streams` is the node's position in each change stream it holds (docs/protocol.md, "Scopes");
    `after_version` is its broadcast position, all a node that predates scoping sends.
    """

    v: Literal[1] = PROTOCOL_VERSION
    node: NodeId
    after_version: Position
    streams: dict[StreamName, Position] = Field(default_factory=dict, max_length=64)

    def positions(self) -> dict[str, int]:
        return self.streams or {"*": self.after_version}


class NodeStatus(Strict):
    """Retained presence on topics.status(node); the MQTT last will publishes online=False."""

    v: Literal[1] = PROTOCOL_VERSION
    online: bool
    # the sum of `streams`: changes of the node's scope it holds
    knowledge_version: int = Field(0, ge=0, le=limits.VERSION_MAX)
    streams: dict[StreamName, Position] = Field(default_factory=dict, max_length=64)  # position in each stream


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
    # An open transit (转关) arriving at a site, on that site's stream; withdrawn once it is closed.
    TRANSIT = "transit"
    # An inspection result recorded at a lane, for the other nodes of its site: a vehicle coming back
    # from inspection is judged against it there too. key = plate; published on the site stream.
    INSPECTION = "inspection"
    # A lane's settings at central (class, direction, gate role, limits); key = lane id, on its node's stream.
    LANE = "lane"
    APPOINTMENT = "appointment"  # a truck's appointment (预约); key = appointment_no
    # A lane officer's PIN, issued, changed or revoked at central (key: officer id): only the
    # salted hash travels (kakou.sync.knowledge.OfficerPin).
    OFFICER = "officer"


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
    # The one node the batch is for, when central sends it on that node's own topic (answers,
    # snapshots, retirements); signed, so a batch for one node cannot be replayed to another. Empty
    # on the shared topics, and then left out of the message and of the signed bytes (edges that
    # predate it know no such field).
    to_node: str = ""
    # A snapshot too large for one message is sent in `parts` signed parts (0-based `part`), each
    # with the same range; the edge applies it once it has them all. Left out of the message and
    # the signed bytes when whole (parts 1), as edges before them expect.
    part: int = Field(0, ge=0, lt=limits.MAX_SNAPSHOT_PARTS)
    parts: int = Field(1, ge=1, le=limits.MAX_SNAPSHOT_PARTS)
    key_id: str = ""
    signature: str = ""  # base64 Ed25519 over the canonical bytes of every other field

    def _omit(self) -> set[str]:
        return (set() if self.to_node else {"to_node"}) | (set() if self.parts > 1 else {"part", "parts"})

    def signing_bytes(self) -> bytes:
        body = self.model_dump(mode="json", exclude={"signature", *self._omit()})
        return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()

    def wire(self) -> str:
        """The batch as published (JSON)."""
        return self.model_dump_json(exclude=self._omit())


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
    # Central's risk verdict (kakou.sync.risk_verdicts): the rules whose declaration-side
    # conditions hold for this order. None: none hold. Central makes it: it is left out of a dump
    # (an order written from this model is an order to file, not a verdict), and in `lane_json`.
    risk: list[RiskVerdictHit] | None = Field(None, max_length=MAX_HITS, exclude=True)

    def lane_json(self) -> dict[str, Any]:
        """As published to the lanes: without a net weight the record is what lanes before
        `declared_net_kg` read (they refuse unknown fields, so none is sent when there is none)."""
        data = self.model_dump(mode="json")
        if data["declared_net_kg"] is None:
            del data["declared_net_kg"]
        if self.risk:
            data["risk"] = [h.model_dump(mode="json") for h in self.risk]
        return data


TerminalId = Annotated[str, Field(min_length=1, max_length=limits.TERMINAL_ID, pattern=r"^[A-Za-z0-9_.-]+$")]
Latitude = Annotated[float, Field(ge=-90, le=90)]
Longitude = Annotated[float, Field(ge=-180, le=180)]


class VehiclePosition(Strict):
    """Vehicle terminal → central, on topics.up(terminal, POSITION): where the truck is (WGS-84).

    Central takes the plate from the terminal's registration, never from the message; a terminal
    no vehicle is registered with, or a position outside these bounds, is refused and counted.
    """

    v: Literal[1] = PROTOCOL_VERSION
    terminal: TerminalId
    at: datetime  # the terminal's fix time
    lat: Latitude
    lon: Longitude
    speed_kmh: float | None = Field(None, ge=0, le=300)
    heading_deg: float | None = Field(None, ge=0, lt=360)
