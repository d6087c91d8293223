"""报核 periods, stocktakes, saved reconciliations and trade modes; declaration review and the
official-overwrites-draft diff; enterprise users and their applications' attachments

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-04 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kakou.central.db import UTCDateTime

revision = "0015"
down_revision = "0013"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users", schema=None) as b:
        b.add_column(sa.Column("enterprise", sa.String(length=40), nullable=True))
    with op.batch_alter_table("release_orders", schema=None) as b:
        b.add_column(sa.Column("enterprise", sa.String(length=40), nullable=True))
        b.add_column(sa.Column("vehicle_review", sa.JSON(), nullable=True))
        b.create_index("ix_release_orders_enterprise", ["enterprise"], unique=False)
    with op.batch_alter_table("declarations", schema=None) as b:
        # Documents on file before review existed counted already: they stay approved.
        b.add_column(sa.Column("review_status", sa.String(length=10), nullable=False, server_default="approved"))
        b.add_column(sa.Column("reviewed_by", sa.String(length=64), nullable=True))
        b.add_column(sa.Column("reviewed_at", UTCDateTime(), nullable=True))
        b.add_column(sa.Column("review_note", sa.Text(), nullable=False, server_default=""))
        b.add_column(sa.Column("overwrite_diff", sa.JSON(), nullable=True))
    with op.batch_alter_table("ledger_movements", schema=None) as b:
        b.add_column(sa.Column("trade_mode", sa.String(length=8), nullable=True))
        b.add_column(sa.Column("counted_in", sa.Integer(), nullable=True))
        b.add_column(sa.Column("note", sa.Text(), nullable=False, server_default=""))
        b.create_index("ix_ledger_movements_counted_in", ["counted_in"], unique=False)
    op.create_table(
        "ledger_trade_modes",
        sa.Column("code", sa.String(length=8), nullable=False),
        sa.Column("item_kind", sa.String(length=12), nullable=False),
        sa.Column("direction", sa.String(length=3), nullable=False),
        sa.Column("effect", sa.String(length=20), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("updated_by", sa.String(length=64), nullable=False),
        sa.Column("updated_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("code", "item_kind", "direction"),
    )
    op.create_table(
        "ledger_periods",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ledger_no", sa.String(length=40), nullable=False),
        sa.Column("starts_on", sa.Date(), nullable=False),
        sa.Column("cutoff", sa.Date(), nullable=False),
        sa.Column("status", sa.String(length=8), nullable=False),
        sa.Column("stocktake", sa.JSON(), nullable=False),
        sa.Column("stocktake_by", sa.String(length=64), nullable=True),
        sa.Column("stocktake_at", UTCDateTime(), nullable=True),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("ledger_no", "starts_on", name="uq_ledger_period_start"),
    )
    op.create_index("ix_ledger_periods_ledger_no", "ledger_periods", ["ledger_no"], unique=False)
    op.create_table(
        "ledger_reconciliations",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("ledger_no", sa.String(length=40), nullable=False),
        sa.Column("period_id", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("lines", sa.JSON(), nullable=False),
        sa.Column("movement_ids", sa.JSON(), nullable=False),
        sa.Column("prepared_by", sa.String(length=64), nullable=False),
        sa.Column("prepared_at", UTCDateTime(), nullable=False),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("reviewed_at", UTCDateTime(), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_ledger_reconciliations_ledger_no", "ledger_reconciliations", ["ledger_no"], unique=False)
    op.create_index("ix_ledger_reconciliations_period_id", "ledger_reconciliations", ["period_id"], unique=False)
    op.create_table(
        "application_attachments",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("order_no", sa.String(length=40), nullable=False),
        sa.Column("enterprise", sa.String(length=40), nullable=True),
        sa.Column("filename", sa.String(length=128), nullable=False),
        sa.Column("content_type", sa.String(length=64), nullable=False),
        sa.Column("size", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.Column("uploaded_by", sa.String(length=64), nullable=False),
        sa.Column("uploaded_at", UTCDateTime(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("ix_application_attachments_order_no", "application_attachments", ["order_no"], unique=False)


def downgrade() -> None:
    op.drop_table("application_attachments")
    op.drop_table("ledger_reconciliations")
    op.drop_table("ledger_periods")
    op.drop_table("ledger_trade_modes")
    with op.batch_alter_table("ledger_movements", schema=None) as b:
        b.drop_index("ix_ledger_movements_counted_in")
        for col in ("note", "counted_in", "trade_mode"):
            b.drop_column(col)
    with op.batch_alter_table("declarations", schema=None) as b:
        for col in ("overwrite_diff", "review_note", "reviewed_at", "reviewed_by", "review_status"):
            b.drop_column(col)
    with op.batch_alter_table("release_orders", schema=None) as b:
        b.drop_index("ix_release_orders_enterprise")
        for col in ("vehicle_review", "enterprise"):
            b.drop_column(col)
    with op.batch_alter_table("users", schema=None) as b:
        b.drop_column("enterprise")
