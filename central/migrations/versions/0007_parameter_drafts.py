"""four eyes on lane parameters: an edit is a draft until another officer approves it

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-25 17:45:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "parameter_drafts",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("scope", sa.String(length=64), nullable=False),
        sa.Column("data", sa.JSON(), nullable=False),
        sa.Column("based_on", sa.Integer(), nullable=True),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reviewed_by", sa.String(length=64), nullable=True),
        sa.Column("reviewed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("review_note", sa.Text(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("id"),
    )
    with op.batch_alter_table("parameter_drafts", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_parameter_drafts_status"), ["status"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("parameter_drafts", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_parameter_drafts_status"))
    op.drop_table("parameter_drafts")
