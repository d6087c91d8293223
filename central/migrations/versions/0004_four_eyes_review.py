"""four eyes: release orders and risk rule versions are reviewed by a second officer

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-25 17:05:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Rows stored before this revision were published without review: they stay as they are
    # (orders keep their status; rule versions count as approved).
    with op.batch_alter_table("release_orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("reviewed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("review_note", sa.Text(), nullable=False, server_default=""))
    with op.batch_alter_table("risk_rules", schema=None) as batch_op:
        batch_op.add_column(sa.Column("review_status", sa.String(length=10), nullable=False, server_default="approved"))
        batch_op.add_column(sa.Column("reviewed_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("review_note", sa.Text(), nullable=False, server_default=""))


def downgrade() -> None:
    with op.batch_alter_table("risk_rules", schema=None) as batch_op:
        for col in ("review_note", "reviewed_at", "reviewed_by", "review_status"):
            batch_op.drop_column(col)
    with op.batch_alter_table("release_orders", schema=None) as batch_op:
        for col in ("review_note", "reviewed_at", "reviewed_by"):
            batch_op.drop_column(col)
