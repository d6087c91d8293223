"""Tables of the edge↔central sync: change log, passes received, nodes."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kakou.central.db import Base, utcnow
from kakou.sync import limits


class ChangeRow(Base):
    """The ordered change log that flows down to the edges; version is the global order.

    Each change belongs to one stream (its scope: "*", "site:{code}" or "node:{id}") and has a
    gap-free position `stream_seq` in it: what the edges count and detect gaps in.
    """

    __tablename__ = "changes"
    __table_args__ = (UniqueConstraint("stream", "stream_seq", name="uq_changes_stream_seq"),)

    version: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    stream: Mapped[str] = mapped_column(String(limits.STREAM), default="*", server_default="*")
    stream_seq: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(24))
    key: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any] | None] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class PassRow(Base):
    __tablename__ = "passes"
    __table_args__ = (UniqueConstraint("node", "seq", name="uq_pass_node_seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    node: Mapped[str] = mapped_column(String(limits.NODE_ID))
    seq: Mapped[int]  # Integer: at most limits.SEQ_MAX, which the contract enforces
    pass_id: Mapped[str] = mapped_column(String(limits.PASS_ID), unique=True)
    lane: Mapped[str] = mapped_column(String(limits.LANE_ID))
    plate: Mapped[str | None] = mapped_column(String(limits.PLATE), index=True)
    outcome: Mapped[str] = mapped_column(String(12))
    decided_at: Mapped[datetime] = mapped_column(index=True)
    record: Mapped[dict[str, Any]]
    received_at: Mapped[datetime] = mapped_column(default=utcnow)


class NodeRow(Base):
    """Per-node uplink high-water mark (contiguous seqs stored) and presence."""

    __tablename__ = "nodes"

    node: Mapped[str] = mapped_column(String(limits.NODE_ID), primary_key=True)
    high_water: Mapped[int] = mapped_column(Integer, default=0)
    online: Mapped[bool] = mapped_column(default=False)
    last_seen: Mapped[datetime | None]
    knowledge_version: Mapped[int] = mapped_column(Integer, default=0)
    knowledge_streams: Mapped[dict[str, int] | None] = mapped_column(JSON)  # as the node last reported
    duplicates: Mapped[int] = mapped_column(Integer, default=0)  # redeliveries absorbed
    # Passes stored from this node, kept by ingest (passes are never deleted): their sum is the pass
    # list's total, which a COUNT over millions of passes would take most of a second to give.
    passes: Mapped[int] = mapped_column(Integer, default=0, server_default="0")


class NetworkMessageRow(Base):
    """What central received from and sent to each node, for network management.

    Uplink rows: one per pass message received (stored / duplicate / rejected). Downlink rows: the
    change answers and snapshots sent to one node (node "all" for the live broadcast). Written in
    the same transaction as the data they describe.
    """

    __tablename__ = "network_messages"
    # The ingest path looks up quarantined seqs of a node on every batch: keep that an index range.
    __table_args__ = (Index("ix_network_messages_node_status_seq", "node", "status", "seq"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    node: Mapped[str] = mapped_column(String(limits.NODE_ID), index=True)
    direction: Mapped[str] = mapped_column(String(4))  # up | down
    kind: Mapped[str] = mapped_column(String(16))  # pass | changes | snapshot
    seq: Mapped[int | None]  # uplink seq
    version: Mapped[int | None]  # downlink: the version the message brings the node to, in `stream`
    stream: Mapped[str | None] = mapped_column(String(limits.STREAM))  # downlink: the change stream
    status: Mapped[str] = mapped_column(String(12))  # stored | duplicate | rejected | sent
    detail: Mapped[str | None] = mapped_column(String(limits.REASON))
    payload: Mapped[str | None] = mapped_column(Text)  # a rejected pass message, kept verbatim (quarantine)
