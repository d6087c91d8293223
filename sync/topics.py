"""Every MQTT topic kakou uses, in one place.

Uplink topics carry the node id so the broker ACL can pin each node to its own topics
(`pattern write kakou/v1/up/%u/#`). Downlink is either per node or broadcast.
"""

from __future__ import annotations

ROOT = "kakou/v1"


def up(node: str, kind: str) -> str:
    """Edge → central: passes, interventions, device status, heartbeats, sync requests."""
    return f"{ROOT}/up/{node}/{kind}"


def up_filter(kind: str, share_group: str | None = None) -> str:
    """Central's subscription to one uplink kind from every node (optionally shared, MQTT 5)."""
    topic = f"{ROOT}/up/+/{kind}"
    return f"$share/{share_group}/{topic}" if share_group else topic


def down(node: str, kind: str) -> str:
    """Central → one edge node: acks, change batches answering a sync request."""
    return f"{ROOT}/down/{node}/{kind}"


def down_all(kind: str) -> str:
    """Central → every edge node: the live change stream."""
    return f"{ROOT}/down/all/{kind}"


def status(node: str) -> str:
    """Retained presence of a node; its MQTT last will sets it offline."""
    return f"{ROOT}/status/{node}"


STATUS_FILTER = f"{ROOT}/status/+"


def node_of(topic: str) -> str | None:
    """The node id an uplink or status topic belongs to, or None if the topic is not one of ours."""
    parts = topic.split("/")
    if len(parts) >= 4 and "/".join(parts[:2]) == ROOT and parts[2] in ("up", "status"):
        return parts[3]
    return None


# Uplink kinds
PASSES = "passes"
SYNC_REQUEST = "sync-request"
# Downlink kinds
ACK = "ack"
CHANGES = "changes"
