"""Central's domain tables: registrations, declarations, orders, ledgers…"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Float, String
from sqlalchemy.orm import Mapped, mapped_column

from kakou.central.db import Base, utcnow


class ReleaseOrderRow(Base):
    __tablename__ = "release_orders"

    order_no: Mapped[str] = mapped_column(String(40), primary_key=True)
    plate: Mapped[str] = mapped_column(String(16), index=True)
    containers: Mapped[list[str]]
    direction: Mapped[str] = mapped_column(String(3))
    valid_from: Mapped[datetime]
    valid_until: Mapped[datetime]
    declared_gross_kg: Mapped[float | None] = mapped_column(Float)
    status: Mapped[str] = mapped_column(String(12), default="active")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
