"""Passes and node presence received from the edges: idempotent on (node, seq)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kakou.central.service import Central
from kakou.central.tables_sync import NodeRow, PassRow
from kakou.sync.messages import Envelope


def ingest_pass(c: Central, env: Envelope) -> int:
    """Store idempotently on (node, seq); return the node's contiguous high-water mark."""
    rec = env.body
    with c.sessions.begin() as s:
        node = s.get(NodeRow, env.node) or NodeRow(node=env.node, high_water=0, duplicates=0)
        s.add(node)
        node.last_seen = datetime.now(UTC)
        exists = s.scalar(select(PassRow.id).where(PassRow.node == env.node, PassRow.seq == env.seq))
        if exists is None:
            try:
                with s.begin_nested():
                    s.add(PassRow(node=env.node, seq=env.seq, pass_id=rec.pass_id, lane=rec.lane, plate=rec.plate,
                                  outcome=rec.outcome.value, decided_at=rec.decided_at,
                                  record=rec.model_dump(mode="json")))
            except IntegrityError:  # a concurrent ingest worker stored it first
                node.duplicates += 1
        else:
            node.duplicates += 1
        node.high_water = _advance(s, env.node, node.high_water)
        return node.high_water


def _advance(s: Session, node: str, high_water: int) -> int:
    # Only acknowledge a contiguous prefix: a gap means something is still in flight.
    seqs = s.scalars(select(PassRow.seq).where(PassRow.node == node, PassRow.seq > high_water).order_by(PassRow.seq))
    for seq in seqs:
        if seq != high_water + 1:
            break
        high_water = seq
    return high_water


def list_passes(c: Central, limit: int, offset: int, plate: str | None = None,
                node: str | None = None) -> tuple[int, list[PassRow]]:
    with c.sessions() as s:
        q = select(PassRow)
        if plate:
            q = q.where(PassRow.plate == plate)
        if node:
            q = q.where(PassRow.node == node)
        total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
        rows = list(s.scalars(q.order_by(PassRow.decided_at.desc(), PassRow.id.desc()).limit(limit).offset(offset)))
        return total, rows


def set_presence(c: Central, node: str, online: bool, knowledge_version: int | None = None) -> None:
    with c.sessions.begin() as s:
        row = s.get(NodeRow, node) or NodeRow(node=node, high_water=0, duplicates=0)
        s.add(row)
        row.online = online
        row.last_seen = datetime.now(UTC)
        if knowledge_version is not None:
            row.knowledge_version = knowledge_version


def list_nodes(c: Central) -> list[NodeRow]:
    with c.sessions() as s:
        return list(s.scalars(select(NodeRow).order_by(NodeRow.node)))
