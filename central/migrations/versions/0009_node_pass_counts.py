"""passes stored per node, kept by ingest: the pass list's total without a COUNT over the table

Revision ID: 0009
Revises: 0008
Create Date: 2026-11-25 20:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("nodes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("passes", sa.Integer(), server_default="0", nullable=False))
    op.execute("UPDATE nodes SET passes = (SELECT count(*) FROM passes WHERE passes.node = nodes.node)")


def downgrade() -> None:
    with op.batch_alter_table("nodes", schema=None) as batch_op:
        batch_op.drop_column("passes")
