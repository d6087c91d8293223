"""报核: a ledger's reconciliation per period, as the 003 manual computes it.

    opening (上期结余; the ledger's opening for the first period)
  + imports (by trade mode) − exports (by trade mode) − consumption (finished goods exported,
    through 单损耗: per unit / (1 − loss rate)) ± adjustments
  = theoretical closing (应剩余 = 本期结余, carried forward as the next period's opening),
against the actual remaining (实际剩余): the stocktake at the cutoff, finished and semi-finished goods
converted into materials through the BOM; without a stocktake, the theoretical figure (the manual's
second way). Each material's difference comes with its likely causes.

A period counts every gated movement dated before the end of its cutoff day (China time) that no
closed period counted yet, so a pass that reached central late still lands in the next period
(flagged). The saved result is reviewed by another officer; approval closes the period for good.
"""

from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta, timezone
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import select

from kakou.central import audit, reviews
from kakou.central.declarations import RowError
from kakou.central.review_model import RECONCILIATION, DocumentStatus
from kakou.central.reviews import Reviewed
from kakou.central.service import Central, Conflict, NotFound, row_or_missing
from kakou.central.tables import ConsumptionRatioRow, LedgerItemRow, LedgerMovementRow
from kakou.central.tables_ledger import LedgerPeriodRow, LedgerReconciliationRow
from kakou.sync.checks import text_tables

CUSTOMS_TZ = timezone(timedelta(hours=8))  # a cutoff date is a day in China
EPS = 1e-9


def period_end(cutoff: date) -> datetime:
    """The first instant after the cutoff day."""
    return datetime.combine(cutoff + timedelta(days=1), time(), CUSTOMS_TZ).astimezone(UTC)


def period_start(starts_on: date) -> datetime:
    return datetime.combine(starts_on, time(), CUSTOMS_TZ).astimezone(UTC)


# -- causes: typed codes with Chinese and English texts -------------------------------------------


class Cause(StrEnum):
    NO_STOCKTAKE = "no_stocktake"
    NOT_COUNTED = "not_counted"
    SHORTAGE = "shortage"
    SURPLUS = "surplus"
    OVER_THRESHOLD = "over_threshold"
    PENDING_GATE = "pending_gate"
    AFTER_CUTOFF = "after_cutoff"
    LATE = "late_movement"
    ADJUSTED = "adjusted"
    CONVERTED = "converted_stock"
    NEGATIVE = "negative_theoretical"
    NOT_STOCK = "finished_not_stock"


# Their texts, in reconciliation_texts.toml beside this module: {code: (中文, English)}.
TEXTS: dict[Cause, tuple[str, str]] = {
    Cause(code): t for code, t in text_tables("kakou.central", "reconciliation_texts.toml")["cause"].items()
}


class CauseOut(BaseModel):
    code: Cause
    params: dict[str, Any]
    text: str  # Chinese, the default
    text_en: str


def cause(code: Cause, **params: Any) -> CauseOut:
    zh, en = TEXTS[code]
    return CauseOut(code=code, params=params, text=zh.format(**params), text_en=en.format(**params))


# -- models ---------------------------------------------------------------------------------------


class PeriodIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    starts_on: date
    cutoff: date  # 报核截止日期, inclusive

    @model_validator(mode="after")
    def _order(self) -> PeriodIn:
        if self.cutoff < self.starts_on:
            raise ValueError("the cutoff is before the start")
        if (self.cutoff - self.starts_on).days > 3 * 366:
            raise ValueError("a period is at most three years")
        if self.starts_on.year < 2000 or self.cutoff.year > 2200:
            raise ValueError("dates between 2000 and 2200")
        return self


class PeriodOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int
    ledger_no: str
    starts_on: date
    cutoff: date
    status: str
    stocktake: list[dict[str, Any]]
    stocktake_by: str | None
    stocktake_at: datetime | None


class StocktakeRowIn(BaseModel):
    """One line of a stocktake (料件/成品/半成品盘点)."""

    model_config = ConfigDict(extra="forbid")

    item_no: str = Field(min_length=1, max_length=40)
    kind: Literal["material", "finished", "semifinished"] | None = None  # checked against the ledger
    quantity: float = Field(ge=0, le=1e12)
    unit: str | None = Field(None, max_length=8)
    counted_on: date | None = None  # within the period


class AdjustmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_no: str = Field(min_length=1, max_length=40)
    quantity: float = Field(ge=-1e12, le=1e12)  # signed: + adds to the material's balance
    reason: str = Field(min_length=2, max_length=500)

    @model_validator(mode="after")
    def _nonzero(self) -> AdjustmentIn:
        if abs(self.quantity) < EPS:
            raise ValueError("an adjustment of 0 changes nothing")
        return self


class Line(BaseModel):
    item_no: str
    name: str
    kind: str
    unit: str
    opening: float
    imports: dict[str, float]  # by trade mode
    exports: dict[str, float]
    consumption: dict[str, float]
    adjustments: float
    imports_total: float
    exports_total: float
    consumption_total: float
    theoretical: float | None  # None: finished/semi-finished goods (not stock)
    stocktake: float | None  # counted directly
    stocktake_converted: float  # from finished/semi-finished goods through the BOM
    actual: float | None
    difference: float | None  # actual − theoretical
    pending: float
    causes: list[CauseOut]


class ReconciliationOut(BaseModel):
    model_config = ConfigDict(from_attributes=True)

    id: int | None
    ledger_no: str
    period_id: int
    status: str  # preview, pending, approved, rejected
    lines: list[Line]
    prepared_by: str | None = None
    prepared_at: datetime | None = None
    reviewed_by: str | None = None
    reviewed_at: datetime | None = None
    review_note: str = ""


# -- periods ----------------------------------------------------------------------------------------


def _items(s: Any, ledger_no: str) -> list[LedgerItemRow]:
    items = list(
        s.scalars(select(LedgerItemRow).where(LedgerItemRow.ledger_no == ledger_no).order_by(LedgerItemRow.item_no))
    )
    if not items:
        raise NotFound(f"no ledger {ledger_no}")
    return items


def _period(s: Any, ledger_no: str, period_id: int) -> LedgerPeriodRow:
    p = s.get(LedgerPeriodRow, period_id)
    if p is None or p.ledger_no != ledger_no:
        raise NotFound(f"ledger {ledger_no} has no period {period_id}")
    return p


def open_period(c: Central, actor: str, ledger_no: str, body: PeriodIn) -> LedgerPeriodRow:
    """A new period starts the day after the last closed one's cutoff; one open period at a time."""
    with audit.write(c, actor) as w:
        s = w.session
        _items(s, ledger_no)
        periods = list(
            s.scalars(
                select(LedgerPeriodRow).where(LedgerPeriodRow.ledger_no == ledger_no).order_by(LedgerPeriodRow.cutoff)
            )
        )
        if any(p.status == "open" for p in periods):
            raise Conflict(f"ledger {ledger_no} has an open period: reconcile and close it first")
        if periods and body.starts_on != periods[-1].cutoff + timedelta(days=1):
            raise ValueError(
                f"the period must start on {periods[-1].cutoff + timedelta(days=1)}, the day after the last cutoff"
            )
        row = LedgerPeriodRow(
            ledger_no=ledger_no,
            starts_on=body.starts_on,
            cutoff=body.cutoff,
            status="open",
            stocktake=[],
            created_by=actor,
        )
        s.add(row)
        s.flush()
        w.audit("ledger.period_open", f"ledger:{ledger_no}", body.model_dump(mode="json") | {"period": row.id})
        return row


def list_periods(c: Central, ledger_no: str) -> list[LedgerPeriodRow]:
    with c.sessions() as s:
        return list(
            s.scalars(
                select(LedgerPeriodRow)
                .where(LedgerPeriodRow.ledger_no == ledger_no)
                .order_by(LedgerPeriodRow.starts_on)
            )
        )


# -- stocktake import --------------------------------------------------------------------------------

STOCKTAKE_COLUMNS = ["item_no", "kind", "quantity", "unit", "counted_on"]


def read_table(data: bytes, content_type: str) -> tuple[list[dict[str, Any]], list[RowError]]:
    """Rows of a CSV (UTF-8, BOM allowed) or .xlsx (first sheet) with a header row."""
    if "sheet" in content_type or data[:2] == b"PK":
        import zipfile

        from openpyxl import load_workbook

        try:
            sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).worksheets[0]
            cells = [["" if v is None else _cell(v) for v in r] for r in sheet.iter_rows(values_only=True)]
        except (zipfile.BadZipFile, KeyError, ValueError, OSError, IndexError) as exc:
            return [], [RowError(row=0, field=None, message=f"not a readable .xlsx workbook: {exc}")]
    else:
        try:
            text = data.decode("utf-8-sig")
            cells = list(csv.reader(io.StringIO(text, newline=None)))
        except (UnicodeDecodeError, csv.Error) as exc:
            return [], [RowError(row=0, field=None, message=f"not readable as UTF-8 CSV: {exc}")]
    cells = [r for r in cells if any(str(c).strip() for c in r)]
    if not cells:
        return [], [RowError(row=0, field=None, message="no header row")]
    header = [h.strip() for h in cells[0]]
    missing = [c for c in ("item_no", "quantity") if c not in header]
    if missing:
        return [], [RowError(row=0, field=None, message=f"missing columns: {', '.join(missing)}")]
    rows, errors = [], []
    for n, r in enumerate(cells[1:], start=1):
        if len(r) > len(header):
            errors.append(RowError(row=n, field=None, message="more cells than columns"))
            continue
        rows.append({h: (str(v).strip() or None) for h, v in zip(header, r, strict=False) if h in STOCKTAKE_COLUMNS})
    return rows, errors


def _cell(v: object) -> str:
    if isinstance(v, datetime):
        return v.date().isoformat()
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, float) and v.is_integer():
        return str(int(v))
    return str(v)


def import_stocktake(
    c: Central, actor: str, ledger_no: str, period_id: int, raw: list[dict[str, Any]], errors: list[RowError]
) -> tuple[int, list[RowError]]:
    """Replace the period's stocktake, all or nothing: any bad row (unknown item, wrong kind or unit,
    a count outside the period, a duplicate) → every bad row listed and nothing stored. A closed
    period refuses any stocktake (Conflict)."""
    with audit.write(c, actor) as w:
        s = w.session
        p = _period(s, ledger_no, period_id)
        if p.status != "open":
            raise Conflict(
                f"period {p.starts_on}–{p.cutoff} of ledger {ledger_no} is closed: its stocktake cannot change"
            )
        items = {i.item_no: i for i in _items(s, ledger_no)}
        errors = list(errors)
        good: list[dict[str, Any]] = []
        seen: set[str] = set()
        for n, data in enumerate(raw, start=1):
            try:
                r = StocktakeRowIn.model_validate(data)
            except ValidationError as exc:
                errors += [
                    RowError(row=n, field=".".join(map(str, e["loc"])) or None, message=e["msg"]) for e in exc.errors()
                ]
                continue
            item = items.get(r.item_no)
            if item is None:
                errors.append(RowError(row=n, field="item_no", message=f"{r.item_no} is not in ledger {ledger_no}"))
                continue
            if r.kind and r.kind != item.kind:
                errors.append(RowError(row=n, field="kind", message=f"{r.item_no} is a {item.kind} item, not {r.kind}"))
            if r.unit and r.unit != item.unit:
                errors.append(
                    RowError(row=n, field="unit", message=f"{r.item_no} is counted in {item.unit}, not {r.unit}")
                )
            if r.counted_on and not (p.starts_on <= r.counted_on <= p.cutoff):
                errors.append(
                    RowError(
                        row=n,
                        field="counted_on",
                        message=f"{r.counted_on} is outside the period {p.starts_on}–{p.cutoff}",
                    )
                )
            if r.item_no in seen:
                errors.append(RowError(row=n, field="item_no", message=f"{r.item_no} appears twice"))
            seen.add(r.item_no)
            good.append(
                {
                    "item_no": r.item_no,
                    "kind": item.kind,
                    "quantity": r.quantity,
                    "unit": item.unit,
                    "counted_on": r.counted_on.isoformat() if r.counted_on else None,
                }
            )
        if errors:
            errors.sort(key=lambda e: e.row)
            return 0, errors  # nothing written: leaving the block commits nothing
        p.stocktake, p.stocktake_by, p.stocktake_at = good, actor, datetime.now(UTC)
        w.audit("ledger.stocktake", f"ledger:{ledger_no}", {"period": period_id, "rows": len(good)})
        return len(good), []


def add_adjustment(c: Central, actor: str, ledger_no: str, period_id: int, body: AdjustmentIn) -> int:
    """± on a material in an open period, with its reason; it shows in the result and its causes."""
    with audit.write(c, actor) as w:
        s = w.session
        p = _period(s, ledger_no, period_id)
        if p.status != "open":
            raise Conflict("the period is closed")
        item = s.get(LedgerItemRow, (ledger_no, body.item_no))
        if item is None:
            raise ValueError(f"{body.item_no} is not in ledger {ledger_no}")
        if item.kind != "material":
            raise ValueError(f"{body.item_no} is {item.kind}: adjust the materials it is made of")
        row = LedgerMovementRow(
            ledger_no=ledger_no,
            item_no=body.item_no,
            kind="adjustment",
            quantity=body.quantity,
            source=f"adjustment:{period_id}:{datetime.now(UTC).timestamp():.6f}",
            gated=True,
            at=period_end(p.cutoff) - timedelta(seconds=1),
            note=body.reason,
        )
        s.add(row)
        s.flush()
        w.audit("ledger.adjust", f"ledger:{ledger_no}", body.model_dump() | {"period": period_id})
        return row.id


# -- computation ------------------------------------------------------------------------------------


def _opening(s: Any, p: LedgerPeriodRow, items: list[LedgerItemRow]) -> dict[str, float]:
    prev = s.scalars(
        select(LedgerReconciliationRow)
        .join(LedgerPeriodRow, LedgerPeriodRow.id == LedgerReconciliationRow.period_id)
        .where(
            LedgerReconciliationRow.ledger_no == p.ledger_no,
            LedgerReconciliationRow.status == DocumentStatus.APPROVED,
            LedgerPeriodRow.cutoff < p.starts_on,
        )
        .order_by(LedgerPeriodRow.cutoff.desc())
    ).first()
    if prev is None:  # the first period: the ledger's own opening (0 unless set)
        return {i.item_no: i.opening for i in items}
    carried = {ln["item_no"]: ln["theoretical"] for ln in prev.lines if ln.get("theoretical") is not None}
    return {i.item_no: carried.get(i.item_no, 0.0) for i in items}


def compute(s: Any, p: LedgerPeriodRow, abnormal_pct: float = 5.0) -> tuple[list[Line], list[int]]:
    items = _items(s, p.ledger_no)
    units = {i.item_no: i.unit for i in items}
    end, start = period_end(p.cutoff), period_start(p.starts_on)
    opening = _opening(s, p, items)
    moves = list(
        s.scalars(
            select(LedgerMovementRow).where(
                LedgerMovementRow.ledger_no == p.ledger_no, LedgerMovementRow.counted_in.is_(None)
            )
        )
    )
    by: dict[tuple[str, str], dict[str, float]] = defaultdict(lambda: defaultdict(float))
    pending: dict[str, float] = defaultdict(float)
    after: dict[str, float] = defaultdict(float)
    late: dict[str, float] = defaultdict(float)
    reasons: dict[str, list[str]] = defaultdict(list)
    counted: list[int] = []
    for mv in moves:
        at = mv.at if mv.at.tzinfo else mv.at.replace(tzinfo=UTC)
        if not mv.gated:
            pending[mv.item_no] += abs(mv.quantity)
            continue
        if at >= end:
            after[mv.item_no] += abs(mv.quantity)
            continue
        counted.append(mv.id)
        by[(mv.item_no, mv.kind)][mv.trade_mode or "—"] += mv.quantity
        if at < start:
            late[mv.item_no] += abs(mv.quantity)
        if mv.kind == "adjustment" and mv.note:
            reasons[mv.item_no].append(mv.note)

    # The stocktake: materials directly, finished and semi-finished goods through the BOM.
    stock = {r["item_no"]: float(r["quantity"]) for r in p.stocktake}
    converted: dict[str, float] = defaultdict(float)
    kinds = {i.item_no: i.kind for i in items}
    for ratio in s.scalars(select(ConsumptionRatioRow).where(ConsumptionRatioRow.ledger_no == p.ledger_no)):
        if ratio.finished_item in stock and kinds.get(ratio.finished_item) != "material":
            converted[ratio.material_item] += stock[ratio.finished_item] * ratio.per_unit / (1 - ratio.loss_rate)

    lines = []
    for it in items:
        imp, exp = dict(by[(it.item_no, "import")]), dict(by[(it.item_no, "export")])
        con = dict(by[(it.item_no, "consumption")])
        adj = sum(by[(it.item_no, "adjustment")].values())
        unit = units[it.item_no]
        causes: list[CauseOut] = []
        base: dict[str, Any] = {  # the fields of a Line every branch below shares
            "item_no": it.item_no,
            "name": it.name,
            "kind": it.kind,
            "unit": unit,
            "imports": imp,
            "exports": exp,
            "consumption": con,
            "adjustments": adj,
            "imports_total": sum(imp.values()),
            "exports_total": sum(exp.values()),
            "consumption_total": sum(con.values()),
            "pending": pending[it.item_no],
        }
        if it.kind != "material":
            causes.append(cause(Cause.NOT_STOCK))
            lines.append(
                Line(
                    **base,
                    opening=0.0,
                    theoretical=None,
                    stocktake=stock.get(it.item_no),
                    stocktake_converted=0.0,
                    actual=None,
                    difference=None,
                    causes=causes,
                )
            )
            continue
        op = opening[it.item_no]
        theoretical = op + base["imports_total"] - base["exports_total"] - base["consumption_total"] + adj
        direct, conv = stock.get(it.item_no), converted.get(it.item_no, 0.0)
        if not p.stocktake:
            actual: float | None = theoretical
            causes.append(cause(Cause.NO_STOCKTAKE))
        elif direct is None and it.item_no not in converted:
            actual = None
            causes.append(cause(Cause.NOT_COUNTED))
        else:
            actual = (direct or 0.0) + conv
        diff = None if actual is None else actual - theoretical
        if theoretical < -EPS:
            causes.append(cause(Cause.NEGATIVE))
        if diff is not None and abs(diff) > 1e-6:
            causes.append(cause(Cause.SHORTAGE if diff < 0 else Cause.SURPLUS, qty=round(abs(diff), 6), unit=unit))
            pct = abs(diff) / max(abs(theoretical), 1.0) * 100
            if pct > abnormal_pct:
                causes.append(cause(Cause.OVER_THRESHOLD, pct=pct, limit=abnormal_pct))
        if conv > EPS:
            causes.append(cause(Cause.CONVERTED, qty=round(conv, 6), unit=unit))
        if pending[it.item_no] > EPS:
            causes.append(cause(Cause.PENDING_GATE, qty=round(pending[it.item_no], 6), unit=unit))
        if after[it.item_no] > EPS:
            causes.append(cause(Cause.AFTER_CUTOFF, qty=round(after[it.item_no], 6), unit=unit))
        if late[it.item_no] > EPS:
            causes.append(cause(Cause.LATE, qty=round(late[it.item_no], 6), unit=unit))
        if abs(adj) > EPS:
            causes.append(cause(Cause.ADJUSTED, qty=round(adj, 6), unit=unit, reasons="；".join(reasons[it.item_no])))
        lines.append(
            Line(
                **base,
                opening=op,
                theoretical=theoretical,
                stocktake=direct,
                stocktake_converted=conv,
                actual=actual,
                difference=diff,
                causes=causes,
            )
        )
    return lines, sorted(counted)


def preview(c: Central, ledger_no: str, period_id: int, abnormal_pct: float = 5.0) -> ReconciliationOut:
    with c.sessions() as s:
        p = _period(s, ledger_no, period_id)
        lines, _ = compute(s, p, abnormal_pct)
        return ReconciliationOut(id=None, ledger_no=ledger_no, period_id=period_id, status="preview", lines=lines)


def _out(row: LedgerReconciliationRow) -> ReconciliationOut:
    return ReconciliationOut.model_validate(row)  # from_attributes: the row's columns, lines validated


def prepare(c: Central, actor: str, ledger_no: str, period_id: int, abnormal_pct: float = 5.0) -> ReconciliationOut:
    """Save the result as computed now; it waits for another officer's review."""
    with audit.write(c, actor) as w:
        s = w.session
        p = _period(s, ledger_no, period_id)
        if p.status != "open":
            raise Conflict("the period is closed")
        if s.scalar(
            select(LedgerReconciliationRow.id).where(
                LedgerReconciliationRow.period_id == period_id,
                LedgerReconciliationRow.status == DocumentStatus.PENDING,
            )
        ):
            raise Conflict("a reconciliation of this period already awaits review")
        lines, counted = compute(s, p, abnormal_pct)
        row = LedgerReconciliationRow(
            ledger_no=ledger_no,
            period_id=period_id,
            status=RECONCILIATION.submitted.value,
            lines=[ln.model_dump(mode="json") for ln in lines],
            movement_ids=counted,
            prepared_by=actor,
            prepared_at=datetime.now(UTC),
        )
        s.add(row)
        s.flush()
        w.audit("ledger.reconcile_prepare", f"ledger:{ledger_no}", {"period": period_id, "reconciliation": row.id})
        return _out(row)


RECONCILIATION_REVIEW = Reviewed(
    LedgerReconciliationRow,
    "reconciliation",
    RECONCILIATION,
    "prepared_by",
    "ledger:{ledger_no}",
    ("ledger.reconcile_approve", "ledger.reconcile_reject"),
)


def _close_period(
    w: audit.Work, row: LedgerReconciliationRow, _status: DocumentStatus, approve: bool
) -> dict[str, Any]:
    """Approved: the period closes, its movements counted for good (unless they changed since)."""
    if approve:
        s = w.session
        ids = list(row.movement_ids)
        moves = list(s.scalars(select(LedgerMovementRow).where(LedgerMovementRow.id.in_(ids)))) if ids else []
        if len(moves) != len(ids) or any(m.counted_in is not None for m in moves):
            raise Conflict("movements changed since it was prepared: reject it and prepare it again")
        for m in moves:
            m.counted_in = row.id
        s.get(LedgerPeriodRow, row.period_id).status = "closed"  # type: ignore[union-attr]
    return {"reconciliation": row.id}


def review(c: Central, actor: str, rec_id: int, approve: bool, note: str = "") -> ReconciliationOut:
    """Approve (the period closes: its movements are counted for good, its closing carries forward)
    or reject (the period stays open for corrections). Never by the preparer."""
    return _out(reviews.decide(c, actor, RECONCILIATION_REVIEW, rec_id, approve, note, effects=_close_period))


def get(c: Central, rec_id: int) -> ReconciliationOut:
    with c.sessions() as s:
        return _out(row_or_missing(s, LedgerReconciliationRow, rec_id, "reconciliation"))


def list_for(
    c: Central, ledger_no: str | None = None, status: str | None = None, limit: int = 500
) -> list[ReconciliationOut]:
    with c.sessions() as s:
        q = select(LedgerReconciliationRow).order_by(LedgerReconciliationRow.id).limit(limit)
        if ledger_no is not None:
            q = q.where(LedgerReconciliationRow.ledger_no == ledger_no)
        if status is not None:
            q = q.where(LedgerReconciliationRow.status == status)
        return [_out(r) for r in s.scalars(q)]


# -- export -----------------------------------------------------------------------------------------

EXPORT_HEADER = [
    "料号 item_no",
    "名称 name",
    "类别 kind",
    "单位 unit",
    "期初 opening",
    "进口 imports",
    "出口 exports",
    "消耗 consumption",
    "调整 adjustments",
    "应剩余 theoretical",
    "盘点 stocktake",
    "折料 converted",
    "实际剩余 actual",
    "差异 difference",
    "按监管方式 by trade mode",
    "原因 causes",
]


def _modes(line: Line) -> str:
    parts = [
        f"{col}:{m}={q:g}"
        for col, d in (("进", line.imports), ("出", line.exports), ("耗", line.consumption))
        for m, q in sorted(d.items())
    ]
    return "; ".join(parts)


def export_rows(r: ReconciliationOut) -> list[list[Any]]:
    rows: list[list[Any]] = [EXPORT_HEADER]
    for ln in r.lines:
        rows.append(
            [
                ln.item_no,
                ln.name,
                ln.kind,
                ln.unit,
                ln.opening,
                ln.imports_total,
                ln.exports_total,
                ln.consumption_total,
                ln.adjustments,
                ln.theoretical,
                ln.stocktake,
                ln.stocktake_converted,
                ln.actual,
                ln.difference,
                _modes(ln),
                "；".join(c.text for c in ln.causes),
            ]
        )
    return rows


def export_csv(r: ReconciliationOut) -> bytes:
    out = io.StringIO()
    csv.writer(out).writerows([["" if v is None else v for v in row] for row in export_rows(r)])
    return ("\ufeff" + out.getvalue()).encode("utf-8")  # a BOM: Excel opens UTF-8 Chinese correctly


def export_xlsx(r: ReconciliationOut) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    assert ws is not None  # a new workbook has its one sheet
    ws.title = f"报核 {r.ledger_no}"[:31]
    for row in export_rows(r):
        ws.append(row)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()
