"""Every MQTT topic kakou uses, in one place.

Uplink topics carry the node id so the broker ACL can pin each node to its own topics
(`pattern write kakou/v1/up/%u/#`). Downlink is per node, per site or broadcast: each change
stream (scope) has its own topic, so a node is sent only broadcast, its site's and its own changes.
"""

from __future__ import annotations

import re

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


def down_site(site: str, kind: str) -> str:
    """Central → the nodes of one site (read access granted per node in the ACL)."""
    return f"{ROOT}/down/site/{site}/{kind}"


# -- change streams (scopes) --------------------------------------------------------------------
BROADCAST = "*"
# A site code or node id is one topic level: no '/', '+', '#', and nothing the ACL gives a meaning to.
NAME = re.compile(r"^[A-Za-z0-9_.-]{1,64}$")


def site_stream(site: str) -> str:
    return f"site:{site}"


def node_stream(node: str) -> str:
    return f"node:{node}"


def check_stream(stream: str) -> str:
    """`stream` if it is "*", "site:{code}" or "node:{id}" with a usable name; ValueError otherwise."""
    if stream == BROADCAST:
        return stream
    kind, _, name = stream.partition(":")
    if kind not in ("site", "node") or not NAME.match(name):
        raise ValueError(f"not a change scope: {stream!r} (use '*', 'site:CODE' or 'node:ID')")
    return stream


def stream_topic(stream: str) -> str:
    """Where the live batches of a stream are published."""
    check_stream(stream)
    if stream == BROADCAST:
        return down_all(CHANGES)
    kind, _, name = stream.partition(":")
    return down_site(name, CHANGES) if kind == "site" else down(name, CHANGES)


def stream_of_topic(topic: str) -> str | None:
    """The stream whose live batches `topic` carries (None: not a changes topic)."""
    parts = topic.split("/")
    if "/".join(parts[:3]) != f"{ROOT}/down" or parts[-1] != CHANGES:
        return None
    if len(parts) == 5:
        return BROADCAST if parts[3] == "all" else node_stream(parts[3])
    if len(parts) == 6 and parts[3] == "site":
        return site_stream(parts[4])
    return None


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
# A vehicle terminal (车载终端) on a transit truck reports its position on up(terminal id, POSITION):
# the terminal is an MQTT user like a node, so the same ACL line pins it to its own topic.
POSITION = "position"
DEVICES = "devices"  # kakou.sync.devices.DeviceReport: a lane's device states
# Downlink kinds
ACK = "ack"
CHANGES = "changes"
