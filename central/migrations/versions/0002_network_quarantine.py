"""network_messages: quarantined pass payloads and the (node, status, seq) lookup index

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-25 15:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("network_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("payload", sa.Text(), nullable=True))
        batch_op.create_index("ix_network_messages_node_status_seq", ["node", "status", "seq"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("network_messages", schema=None) as batch_op:
        batch_op.drop_index("ix_network_messages_node_status_seq")
        batch_op.drop_column("payload")
