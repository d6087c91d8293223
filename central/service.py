"""Central's service layer: the operations the API and MQTT ingest call. No HTTP or MQTT here."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, sessionmaker

from kakou.central.db import ChangeRow, NodeRow, PassRow, ReleaseOrderRow
from kakou.sync.messages import Change, ChangeBatch, ChangeKind, Envelope, ReleaseOrderData

MAX_BATCH = 500


class Conflict(Exception):
    """The request contradicts what is stored (e.g. a duplicate order number)."""


@dataclass
class Central:
    sessions: sessionmaker
    # Called after a change is committed, with its version; the MQTT side publishes it.
    on_change: list[Callable[[int], None]] = field(default_factory=list)

    # -- release orders -------------------------------------------------------------------
    def create_release_order(self, order: ReleaseOrderData) -> int:
        with self.sessions.begin() as s:
            if s.get(ReleaseOrderRow, order.order_no) is not None:
                raise Conflict(f"release order {order.order_no} already exists")
            s.add(
                ReleaseOrderRow(
                    order_no=order.order_no,
                    plate=order.plate,
                    containers=list(order.containers),
                    direction=order.direction,
                    valid_from=order.valid_from,
                    valid_until=order.valid_until,
                    declared_gross_kg=order.declared_gross_kg,
                )
            )
            version = self._append_change(s, ChangeKind.RELEASE_ORDER, order.order_no, order.model_dump(mode="json"))
        self._notify(version)
        return version

    def list_release_orders(self, limit: int, offset: int) -> list[ReleaseOrderRow]:
        with self.sessions() as s:
            q = select(ReleaseOrderRow).order_by(ReleaseOrderRow.created_at.desc()).limit(limit).offset(offset)
            return list(s.scalars(q))

    # -- change log -----------------------------------------------------------------------
    def _append_change(self, s: Session, kind: ChangeKind, key: str, data: dict | None) -> int:
        row = ChangeRow(kind=kind.value, key=key, data=data)
        s.add(row)
        s.flush()
        return row.version

    def _notify(self, version: int) -> None:
        for callback in self.on_change:
            callback(version)

    def latest_version(self) -> int:
        with self.sessions() as s:
            return s.scalar(select(func.coalesce(func.max(ChangeRow.version), 0))) or 0

    def changes_after(self, after_version: int, limit: int = MAX_BATCH) -> ChangeBatch:
        """A contiguous batch (after_version, to_version]; unsigned — the publisher signs it."""
        with self.sessions() as s:
            rows = list(
                s.scalars(
                    select(ChangeRow)
                    .where(ChangeRow.version > after_version)
                    .order_by(ChangeRow.version)
                    .limit(limit)
                )
            )
        changes = [Change(version=r.version, kind=ChangeKind(r.kind), key=r.key, data=r.data) for r in rows]
        return ChangeBatch(
            after_version=after_version,
            to_version=changes[-1].version if changes else after_version,
            issued_at=datetime.now(UTC),
            changes=changes,
        )

    # -- passes ---------------------------------------------------------------------------
    def ingest_pass(self, env: Envelope) -> int:
        """Store idempotently on (node, seq); return the node's contiguous high-water mark."""
        rec = env.body
        with self.sessions.begin() as s:
            node = s.get(NodeRow, env.node) or NodeRow(node=env.node, high_water=0, duplicates=0)
            s.add(node)
            node.last_seen = datetime.now(UTC)
            exists = s.scalar(select(PassRow.id).where(PassRow.node == env.node, PassRow.seq == env.seq))
            if exists is None:
                try:
                    with s.begin_nested():
                        s.add(
                            PassRow(
                                node=env.node,
                                seq=env.seq,
                                pass_id=rec.pass_id,
                                lane=rec.lane,
                                plate=rec.plate,
                                outcome=rec.outcome.value,
                                decided_at=rec.decided_at,
                                record=rec.model_dump(mode="json"),
                            )
                        )
                except IntegrityError:  # a concurrent ingest worker stored it first
                    node.duplicates += 1
            else:
                node.duplicates += 1
            node.high_water = self._advance(s, env.node, node.high_water)
            return node.high_water

    @staticmethod
    def _advance(s: Session, node: str, high_water: int) -> int:
        # Only acknowledge a contiguous prefix: a gap means something is still in flight.
        seqs = s.scalars(
            select(PassRow.seq).where(PassRow.node == node, PassRow.seq > high_water).order_by(PassRow.seq)
        )
        for seq in seqs:
            if seq != high_water + 1:
                break
            high_water = seq
        return high_water

    def list_passes(
        self, limit: int, offset: int, plate: str | None = None, node: str | None = None
    ) -> tuple[int, list[PassRow]]:
        with self.sessions() as s:
            q = select(PassRow)
            if plate:
                q = q.where(PassRow.plate == plate)
            if node:
                q = q.where(PassRow.node == node)
            total = s.scalar(select(func.count()).select_from(q.subquery())) or 0
            rows = list(s.scalars(q.order_by(PassRow.decided_at.desc(), PassRow.id.desc()).limit(limit).offset(offset)))
            return total, rows

    # -- nodes ----------------------------------------------------------------------------
    def set_presence(self, node: str, online: bool, knowledge_version: int | None = None) -> None:
        with self.sessions.begin() as s:
            row = s.get(NodeRow, node) or NodeRow(node=node, high_water=0, duplicates=0)
            s.add(row)
            row.online = online
            row.last_seen = datetime.now(UTC)
            if knowledge_version is not None:
                row.knowledge_version = knowledge_version

    def list_nodes(self) -> list[NodeRow]:
        with self.sessions() as s:
            return list(s.scalars(select(NodeRow).order_by(NodeRow.node)))
