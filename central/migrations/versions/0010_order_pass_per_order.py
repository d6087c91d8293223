"""order_passes keyed by (pass_id, order_no): one truck can go out on several release orders

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-04 18:30:00
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0010"
down_revision = "0009"
branch_labels = None
depends_on = None


def _table(name: str, *key: str) -> None:
    op.create_table(
        name,
        sa.Column("pass_id", sa.String(length=64), nullable=False),
        sa.Column("order_no", sa.String(length=40), nullable=False),
        sa.Column("quantity", sa.Float(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["order_no"], ["release_orders.order_no"]),
        sa.PrimaryKeyConstraint(*key),
    )


def _swap(*key: str) -> None:
    """Rebuild the table with another primary key (the same on SQLite and PostgreSQL)."""
    _table("order_passes_new", *key)
    op.execute(
        "INSERT INTO order_passes_new (pass_id, order_no, quantity, at) "
        "SELECT pass_id, order_no, quantity, at FROM order_passes"
        + (
            ""
            if len(key) > 1
            else " WHERE order_no = (SELECT min(o.order_no) FROM order_passes o WHERE o.pass_id = order_passes.pass_id)"
        )
    )
    with op.batch_alter_table("order_passes", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_order_passes_order_no"))
    op.drop_table("order_passes")
    op.rename_table("order_passes_new", "order_passes")
    with op.batch_alter_table("order_passes", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_order_passes_order_no"), ["order_no"], unique=False)


def upgrade() -> None:
    _swap("pass_id", "order_no")


def downgrade() -> None:
    _swap("pass_id")  # a pass on several orders keeps only its first
