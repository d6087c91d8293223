"""four eyes on a manual declaration match: who proposed it and who approved it

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-25 17:40:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0006"
down_revision = "0005"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("declarations", schema=None) as batch_op:
        batch_op.add_column(sa.Column("match_by", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("match_reviewed_by", sa.String(length=64), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("declarations", schema=None) as batch_op:
        batch_op.drop_column("match_reviewed_by")
        batch_op.drop_column("match_by")
