"""four eyes on a vehicle change: the new plate waits on the order until another officer approves

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-25 17:55:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("release_orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("pending_plate", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("pending_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("pending_by", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("release_orders", schema=None) as batch_op:
        for col in ("pending_by", "pending_reason", "pending_plate"):
            batch_op.drop_column(col)
