"""device events (device health per kind, lane and site); the risk whitelist (白名单); control-order types

Revision ID: 0014
Revises: 0015
Create Date: 2026-12-04 21:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0014"
down_revision = "0015"  # after main's 0013 and 0015 (merged)
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "device_events",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("node", sa.String(64), nullable=False),
        sa.Column("lane", sa.String(64), nullable=False),
        sa.Column("device", sa.String(64), nullable=False),
        sa.Column("kind", sa.String(24), nullable=False),
        sa.Column("state", sa.String(8), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("code", sa.String(64), nullable=False),
        sa.Column("detail", sa.String(200), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.UniqueConstraint("node", "lane", "device", "at", "state", name="uq_device_event"),
    )
    op.create_index("ix_device_event_at", "device_events", ["at"])
    op.create_table(
        "risk_whitelist",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=True),
        sa.Column("target_kind", sa.String(12), nullable=False),
        sa.Column("value", sa.String(64), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("valid_until", sa.DateTime(timezone=True), nullable=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("created_by", sa.String(64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_by", sa.String(64), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=False),
        sa.Column("revoked_by", sa.String(64), nullable=True),
    )
    op.create_index("ix_risk_whitelist_value", "risk_whitelist", ["value"])
    with op.batch_alter_table("control_orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("order_type", sa.String(16), server_default="general", nullable=False))
        batch_op.add_column(sa.Column("random_rate", sa.Float(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("control_orders", schema=None) as batch_op:
        batch_op.drop_column("random_rate")
        batch_op.drop_column("order_type")
    op.drop_index("ix_risk_whitelist_value", table_name="risk_whitelist")
    op.drop_table("risk_whitelist")
    op.drop_index("ix_device_event_at", table_name="device_events")
    op.drop_table("device_events")
