"""alerts stored as a code with parameters (rendered in the reader's language); audit archives

Revision ID: 0016
Revises: 0014
Create Date: 2026-12-04 21:50:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0016"
down_revision = "0014"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Older alerts keep code NULL: their stored Chinese text is shown in both languages.
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("code", sa.String(length=32), nullable=True))
        batch_op.add_column(sa.Column("params", sa.JSON(), nullable=True))
    op.create_table(
        "audit_archives",
        sa.Column("id", sa.Integer(), autoincrement=True, nullable=False),
        sa.Column("first_seq", sa.Integer(), nullable=False),
        sa.Column("last_seq", sa.Integer(), nullable=False),
        sa.Column("last_hash", sa.String(length=64), nullable=False),
        sa.Column("entries", sa.Integer(), nullable=False),
        sa.Column("file_name", sa.String(length=128), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("archived_by", sa.String(length=64), nullable=False),
        sa.Column("archived_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("last_seq"),
    )


def downgrade() -> None:
    op.drop_table("audit_archives")
    with op.batch_alter_table("alerts", schema=None) as batch_op:
        batch_op.drop_column("params")
        batch_op.drop_column("code")
