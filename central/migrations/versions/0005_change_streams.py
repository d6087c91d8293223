"""change streams: each change has a scope (stream) and a gap-free position in it

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-25 17:10:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Every change so far went to every node: they form the broadcast stream, in the same order.
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stream", sa.String(length=72), server_default="*", nullable=False))
        batch_op.add_column(sa.Column("stream_seq", sa.Integer(), nullable=True))
    op.execute("UPDATE changes SET stream_seq = version")
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.alter_column("stream_seq", existing_type=sa.Integer(), nullable=False)
        batch_op.create_unique_constraint("uq_changes_stream_seq", ["stream", "stream_seq"])
    with op.batch_alter_table("nodes", schema=None) as batch_op:
        batch_op.add_column(sa.Column("knowledge_streams", sa.JSON(), nullable=True))
    with op.batch_alter_table("network_messages", schema=None) as batch_op:
        batch_op.add_column(sa.Column("stream", sa.String(length=72), nullable=True))
    with op.batch_alter_table("release_orders", schema=None) as batch_op:
        batch_op.add_column(sa.Column("site", sa.String(length=40), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("release_orders", schema=None) as batch_op:
        batch_op.drop_column("site")
    with op.batch_alter_table("network_messages", schema=None) as batch_op:
        batch_op.drop_column("stream")
    with op.batch_alter_table("nodes", schema=None) as batch_op:
        batch_op.drop_column("knowledge_streams")
    with op.batch_alter_table("changes", schema=None) as batch_op:
        batch_op.drop_constraint("uq_changes_stream_seq", type_="unique")
        batch_op.drop_column("stream_seq")
        batch_op.drop_column("stream")
