"""Tables of 报核 (ledger periods, stocktakes, saved reconciliations, trade modes) and of enterprise
applications' attachments."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Date, Integer, LargeBinary, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kakou.central.db import Base, ReviewTrail, utcnow
from kakou.sync import limits


class TradeModeRow(Base):
    """How a trade mode (监管方式) moves a ledger: which 报核 column a document of this code, item
    kind and direction lands in. Built-in defaults (ledger_rules.DEFAULT_TRADE_MODES) hold until a
    row here says otherwise; `effect` "ignore" keeps a code off the ledger on purpose."""

    __tablename__ = "ledger_trade_modes"

    code: Mapped[str] = mapped_column(String(8), primary_key=True)
    item_kind: Mapped[str] = mapped_column(String(12), primary_key=True)  # material, finished, semifinished
    direction: Mapped[str] = mapped_column(String(3), primary_key=True)  # in, out
    effect: Mapped[str] = mapped_column(String(20))  # import, export, consumption, consumption_return, ignore
    name: Mapped[str] = mapped_column(String(64), default="")
    updated_by: Mapped[str] = mapped_column(String(64))
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)


class LedgerPeriodRow(Base):
    """One 报核 period of a ledger: from `starts_on` to the cutoff date (报核截止日期, inclusive,
    China time). Open until its reconciliation is approved; then closed for good, and the next
    period's opening is this one's closing (carry-forward)."""

    __tablename__ = "ledger_periods"
    __table_args__ = (UniqueConstraint("ledger_no", "starts_on", name="uq_ledger_period_start"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ledger_no: Mapped[str] = mapped_column(String(40), index=True)
    starts_on: Mapped[date] = mapped_column(Date)
    cutoff: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(8), default="open")  # open, closed
    # The stocktake (盘点) for the cutoff: [{item_no, kind, quantity, unit, counted_on}], replaced whole.
    stocktake: Mapped[list[Any]] = mapped_column(JSON, default=list)
    stocktake_by: Mapped[str | None] = mapped_column(String(64))
    stocktake_at: Mapped[datetime | None]
    created_by: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)


class LedgerReconciliationRow(ReviewTrail, Base):
    """A saved 报核 result: the lines as computed when prepared, and the movements they counted.
    Approved by another officer, it closes the period; rejected, the period stays open."""

    __tablename__ = "ledger_reconciliations"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    ledger_no: Mapped[str] = mapped_column(String(40), index=True)
    period_id: Mapped[int] = mapped_column(Integer, index=True)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending, approved, rejected
    lines: Mapped[list[Any]] = mapped_column(JSON, default=list)
    movement_ids: Mapped[list[Any]] = mapped_column(JSON, default=list)
    prepared_by: Mapped[str] = mapped_column(String(64))
    prepared_at: Mapped[datetime] = mapped_column(default=utcnow)


class AttachmentRow(Base):
    """A file an enterprise attached to its application (bounded type and size: enterprise.py)."""

    __tablename__ = "application_attachments"

    id: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=True)
    order_no: Mapped[str] = mapped_column(String(limits.ORDER_NO), index=True)
    enterprise: Mapped[str | None] = mapped_column(String(40))
    filename: Mapped[str] = mapped_column(String(128))
    content_type: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    sha256: Mapped[str] = mapped_column(String(64))
    data: Mapped[bytes] = mapped_column(LargeBinary)
    uploaded_by: Mapped[str] = mapped_column(String(64))
    uploaded_at: Mapped[datetime] = mapped_column(default=utcnow)
