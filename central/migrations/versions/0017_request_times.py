"""when a vehicle change, a control-order revocation and a manual match were asked for

Revision ID: 0017
Revises: 0016
Create Date: 2026-12-05 02:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from kakou.central.db import UTCDateTime

revision = "0017"
down_revision = "0016"
branch_labels = None
depends_on = None


def upgrade() -> None:
    # Requests already pending keep NULL: the review queue lists them after the timed ones.
    with op.batch_alter_table("release_orders", schema=None) as b:
        b.add_column(sa.Column("pending_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("control_orders", schema=None) as b:
        b.add_column(sa.Column("revoke_requested_at", UTCDateTime(), nullable=True))
    with op.batch_alter_table("declarations", schema=None) as b:
        b.add_column(sa.Column("match_proposed_at", UTCDateTime(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("declarations", schema=None) as b:
        b.drop_column("match_proposed_at")
    with op.batch_alter_table("control_orders", schema=None) as b:
        b.drop_column("revoke_requested_at")
    with op.batch_alter_table("release_orders", schema=None) as b:
        b.drop_column("pending_at")
