"""Ledgers (账册): items, consumption ratios (单损耗), movements from official declarations that
count only once a real gate pass backs them, and reconciliation (报核):
opening + imports − exports − consumption = should-remain, compared with a stocktake."""

from __future__ import annotations

from collections import defaultdict
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select

from kakou.central import alerts, audit
from kakou.central.alert_texts import AlertCode, AlertText
from kakou.central.service import Central, NotFound
from kakou.central.tables import ConsumptionRatioRow, DeclarationRow, LedgerItemRow, LedgerMovementRow


class LedgerItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ledger_no: str = Field(min_length=1, max_length=40)
    item_no: str = Field(min_length=1, max_length=40)
    kind: Literal["material", "finished"]
    name: str = Field(max_length=128)  # lengths: the columns' (PostgreSQL enforces them)
    unit: str = Field("kg", max_length=8)
    opening: float = Field(0.0, ge=0)


class RatioIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ledger_no: str = Field(min_length=1, max_length=40)
    finished_item: str = Field(min_length=1, max_length=40)
    material_item: str = Field(min_length=1, max_length=40)
    per_unit: float = Field(gt=0)  # net material per unit of finished good
    loss_rate: float = Field(0.0, ge=0, lt=1)


class ItemBalance(BaseModel):
    item_no: str
    kind: str
    opening: float
    imports: float
    exports: float
    consumption: float
    should_remain: float
    stocktake: float | None
    difference: float | None  # stocktake − should_remain
    pending: float  # declared movements without a gate pass yet (not counted)
    warnings: list[str]


def save_item(c: Central, actor: str, item: LedgerItemIn) -> None:
    with audit.write(c, actor) as w:
        row = w.session.get(LedgerItemRow, (item.ledger_no, item.item_no))
        if row is None:
            w.session.add(LedgerItemRow(**item.model_dump()))
        else:
            for k, v in item.model_dump().items():
                setattr(row, k, v)
        w.audit("ledger.item", f"ledger:{item.ledger_no}", item.model_dump())


def save_ratio(c: Central, actor: str, r: RatioIn) -> None:
    with audit.write(c, actor) as w:
        for item, kind in ((r.finished_item, "finished"), (r.material_item, "material")):
            row = w.session.get(LedgerItemRow, (r.ledger_no, item))
            if row is None or row.kind != kind:
                raise ValueError(f"{item} is not a {kind} item of ledger {r.ledger_no}")
        row = w.session.get(ConsumptionRatioRow, (r.ledger_no, r.finished_item, r.material_item))
        if row is None:
            w.session.add(ConsumptionRatioRow(**r.model_dump()))
        else:
            row.per_unit, row.loss_rate = r.per_unit, r.loss_rate
        w.audit("ledger.ratio", f"ledger:{r.ledger_no}", r.model_dump())


def post_declaration(w: audit.Work, decl: DeclarationRow) -> int:
    """Movements of an official declaration on its ledger (idempotent); counted once gated."""
    if decl.stage != "official" or not decl.ledger_no:
        return 0
    s = w.session
    source = f"declaration:{decl.doc_no}"
    n = 0
    for item in decl.items:
        item_no, qty = str(item["item_no"]), float(item["quantity"])
        row = s.get(LedgerItemRow, (decl.ledger_no, item_no))
        if row is None:
            raise ValueError(f"item {item_no} is not in ledger {decl.ledger_no}")
        moves = [(item_no, "import" if decl.direction == "in" else "export", qty)]
        if decl.direction == "out" and row.kind == "finished":
            # Exported finished goods consume their materials: per unit / (1 − loss rate).
            for ratio in s.scalars(select(ConsumptionRatioRow).where(
                    ConsumptionRatioRow.ledger_no == decl.ledger_no, ConsumptionRatioRow.finished_item == item_no)):
                moves.append((ratio.material_item, "consumption", qty * ratio.per_unit / (1 - ratio.loss_rate)))
        for it, kind, q in moves:
            exists = s.scalar(select(LedgerMovementRow.id).where(
                LedgerMovementRow.source == source, LedgerMovementRow.ledger_no == decl.ledger_no,
                LedgerMovementRow.item_no == it, LedgerMovementRow.kind == kind))
            if exists is None:
                s.add(LedgerMovementRow(ledger_no=decl.ledger_no, item_no=it, kind=kind, quantity=q, source=source))
                n += 1
    s.flush()
    return n


def gate(w: audit.Work, doc_nos: list[str], pass_id: str) -> int:
    """A gate pass under a release order backs the movements of its declarations."""
    n = 0
    ledgers: set[str] = set()
    for doc_no in doc_nos:
        for mv in w.session.scalars(select(LedgerMovementRow).where(
                LedgerMovementRow.source == f"declaration:{doc_no}", LedgerMovementRow.gated.is_(False))):
            mv.gated, mv.gate_pass = True, pass_id
            ledgers.add(mv.ledger_no)
            n += 1
    w.session.flush()
    for ledger_no in ledgers:
        for b in _balances(w.session, ledger_no, {}):
            if b.should_remain < -1e-9:
                text = AlertText(code=AlertCode.LEDGER_NEGATIVE, params={
                    "ledger_no": ledger_no, "item_no": b.item_no, "remain": b.should_remain})
                alerts.raise_alert(w, "ledger_negative", ledger_no, text,
                                   f"ledger_negative:{ledger_no}:{b.item_no}:{pass_id}", pass_id)
    if n:
        w.audit("ledger.gate", f"pass:{pass_id}", {"declarations": doc_nos, "movements": n})
    return n


def _balances(s, ledger_no: str, stocktake: dict[str, float],  # type: ignore[no-untyped-def]
              abnormal_pct: float = 5.0) -> list[ItemBalance]:
    items = list(s.scalars(select(LedgerItemRow).where(LedgerItemRow.ledger_no == ledger_no)
                           .order_by(LedgerItemRow.item_no)))
    if not items:
        raise NotFound(f"no ledger {ledger_no}")
    sums: dict[tuple[str, str, bool], float] = defaultdict(float)
    for mv in s.scalars(select(LedgerMovementRow).where(LedgerMovementRow.ledger_no == ledger_no)):
        sums[(mv.item_no, mv.kind, mv.gated)] += mv.quantity
    out = []
    for it in items:
        imp, exp, con = (sums[(it.item_no, k, True)] for k in ("import", "export", "consumption"))
        pending = sum(sums[(it.item_no, k, False)] for k in ("import", "export", "consumption"))
        should = it.opening + imp - exp - con
        st = stocktake.get(it.item_no)
        diff = None if st is None else st - should
        warnings = []
        if should < -1e-9:
            warnings.append("negative balance: more left than came in")
        if diff is not None and abs(diff) > max(abs(should), 1.0) * abnormal_pct / 100:
            warnings.append(f"stocktake differs by {diff:+g} {it.unit} (over {abnormal_pct:g} %)")
        if st is None and stocktake:
            warnings.append("no stocktake figure")
        out.append(ItemBalance(item_no=it.item_no, kind=it.kind, opening=it.opening, imports=imp, exports=exp,
                               consumption=con, should_remain=should, stocktake=st, difference=diff,
                               pending=pending, warnings=warnings))
    return out


def reconcile(c: Central, ledger_no: str, stocktake: dict[str, float] | None = None,
              abnormal_pct: float = 5.0) -> list[ItemBalance]:
    with c.sessions() as s:
        return _balances(s, ledger_no, stocktake or {}, abnormal_pct)
