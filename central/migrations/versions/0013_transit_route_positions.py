"""transit routes and the latest vehicle positions on open transits

Revision ID: 0013
Revises: 0011
Create Date: 2026-12-04 22:00:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0013"
down_revision = "0011"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("transits", schema=None) as batch_op:
        batch_op.add_column(sa.Column("route", sa.JSON(), nullable=True))
    op.create_table(
        "vehicle_positions",
        sa.Column("transit_no", sa.String(length=40), nullable=False),
        sa.Column("terminal", sa.String(length=64), nullable=False),
        sa.Column("plate", sa.String(length=16), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lat", sa.Float(), nullable=False),
        sa.Column("lon", sa.Float(), nullable=False),
        sa.Column("speed_kmh", sa.Float(), nullable=True),
        sa.Column("off_route_m", sa.Float(), nullable=True),
        sa.Column("off_route_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stopped_since", sa.DateTime(timezone=True), nullable=True),
        sa.Column("stop_lat", sa.Float(), nullable=True),
        sa.Column("stop_lon", sa.Float(), nullable=True),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("transit_no"),
    )
    with op.batch_alter_table("vehicle_positions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_vehicle_positions_terminal"), ["terminal"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("vehicle_positions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_vehicle_positions_terminal"))
    op.drop_table("vehicle_positions")
    with op.batch_alter_table("transits", schema=None) as batch_op:
        batch_op.drop_column("route")
