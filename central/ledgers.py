"""Ledgers (账册): items, consumption ratios (单损耗), movements from official declarations that
count only once a real gate pass backs them. Which 报核 column a document lands in depends on its
trade mode (ledger_rules); the period-by-period reconciliation is in reconciliation.py. Finished and
semi-finished goods are not stock on a processing-trade ledger: their exports consume materials
through the BOM, so only materials have a balance (and can go negative)."""

from __future__ import annotations

import json
from collections import defaultdict
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import String, cast, select
from sqlalchemy.orm import Session

from kakou.central import alerts, audit, ledger_rules
from kakou.central.alert_texts import AlertCode, AlertText
from kakou.central.service import Central, Conflict, NotFound
from kakou.central.tables import (
    ConsumptionRatioRow,
    DeclarationRow,
    LedgerItemRow,
    LedgerMovementRow,
    OrderPassRow,
    ReleaseOrderRow,
)


class LedgerItemIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ledger_no: str = Field(min_length=1, max_length=40)
    item_no: str = Field(min_length=1, max_length=40)
    kind: Literal["material", "finished", "semifinished"]
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
    should_remain: float | None  # None: finished goods, not stock (their exports consume materials)
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
        for item, kinds in ((r.finished_item, ("finished", "semifinished")), (r.material_item, ("material",))):
            row = w.session.get(LedgerItemRow, (r.ledger_no, item))
            if row is None or row.kind not in kinds:
                raise ValueError(f"{item} is not a {' or '.join(kinds)} item of ledger {r.ledger_no}")
        ratio = w.session.get(ConsumptionRatioRow, (r.ledger_no, r.finished_item, r.material_item))
        if ratio is None:
            w.session.add(ConsumptionRatioRow(**r.model_dump()))
        else:
            ratio.per_unit, ratio.loss_rate = r.per_unit, r.loss_rate
        w.audit("ledger.ratio", f"ledger:{r.ledger_no}", r.model_dump())


def post_declaration(w: audit.Work, decl: DeclarationRow) -> int:
    """Movements of an approved official document on its ledger (idempotent); counted once gated.

    One goods movement posts once: an inventory list (核注清单) is the ledger's document, so a
    declaration that names its list (list_no), or shares its unified number with an official list on
    the same ledger, does not post; an inventory list arriving after such a declaration posted takes
    its place (the declaration's movements not yet in a closed period are withdrawn)."""
    if decl.stage != "official" or not decl.ledger_no or decl.review_status != "approved" or decl.deleted:
        return 0
    s = w.session
    source = f"declaration:{decl.doc_no}"
    if (
        s.scalar(
            select(LedgerMovementRow.id).where(
                LedgerMovementRow.source == source, LedgerMovementRow.ledger_no == decl.ledger_no
            )
        )
        is not None
    ):
        return 0
    if decl.doc_type == "declaration" and _superseded(s, decl):
        w.audit(
            "ledger.not_posted",
            f"declaration:{decl.doc_no}",
            {"why": "its inventory list posts this goods movement", "list_no": decl.list_no},
        )
        return 0
    if decl.doc_type == "inventory_list":
        _withdraw_declarations_of(w, decl)
    moves = planned_movements(s, decl.ledger_no, decl.trade_mode, decl.direction, decl.items)
    for (it, kind), q in moves.items():
        s.add(
            LedgerMovementRow(
                ledger_no=decl.ledger_no, item_no=it, kind=kind, quantity=q, source=source, trade_mode=decl.trade_mode
            )
        )
    s.flush()
    return len(moves)


def planned_movements(
    s: Session,
    ledger_no: str,
    trade_mode: str,
    direction: str,
    items: list[Any],
) -> dict[tuple[str, str], float]:
    """(item, kind) → quantity a document's lines make, summed (two lines of one item, or two finished
    goods using one material, are one movement each). ValueError names the first line that cannot post."""
    modes = ledger_rules.trade_modes(s)
    moves: dict[tuple[str, str], float] = defaultdict(float)
    for n, item in enumerate(items, start=1):
        item_no, qty = str(item["item_no"]), float(item["quantity"])
        row = s.get(LedgerItemRow, (ledger_no, item_no))
        if row is None:
            raise ValueError(f"item {n}: {item_no} is not in ledger {ledger_no}")
        unit = item.get("unit")
        if unit and unit != row.unit:
            raise ValueError(f"item {n}: {item_no} is kept in {row.unit} on ledger {ledger_no}, not {unit}")
        effect = modes.get((trade_mode, row.kind, direction))
        if effect is None:
            raise ValueError(
                f"item {n}: trade mode {trade_mode} is not configured for {row.kind} going "
                f"{direction} (PUT /api/v1/ledgers/trade-modes)"
            )
        if effect == "ignore":
            continue
        if effect in ("import", "export"):
            moves[(item_no, effect)] += qty
            continue
        # consumption (exported finished goods) or consumption_return (returned finished goods):
        # the goods' own line for the record, and their materials per unit / (1 − loss rate).
        moves[(item_no, "export" if effect == "consumption" else "import")] += qty
        sign = 1.0 if effect == "consumption" else -1.0
        ratios = list(
            s.scalars(
                select(ConsumptionRatioRow).where(
                    ConsumptionRatioRow.ledger_no == ledger_no, ConsumptionRatioRow.finished_item == item_no
                )
            )
        )
        if not ratios:
            raise ValueError(f"item {n}: {item_no} has no consumption ratios (单损耗) on ledger {ledger_no}")
        for ratio in ratios:
            moves[(ratio.material_item, "consumption")] += sign * qty * ratio.per_unit / (1 - ratio.loss_rate)
    return dict(moves)


def _superseded(s: Session, decl: DeclarationRow) -> bool:
    if decl.list_no:
        return True
    if not decl.unified_no:
        return False
    return (
        s.scalar(
            select(DeclarationRow.id).where(
                DeclarationRow.doc_type == "inventory_list",
                DeclarationRow.stage == "official",
                DeclarationRow.ledger_no == decl.ledger_no,
                DeclarationRow.unified_no == decl.unified_no,
                DeclarationRow.deleted.is_(False),
                DeclarationRow.review_status != "rejected",
            )
        )
        is not None
    )


def _withdraw_declarations_of(w: audit.Work, lst: DeclarationRow) -> None:
    if not lst.unified_no:
        return
    s = w.session
    for d in s.scalars(
        select(DeclarationRow).where(
            DeclarationRow.doc_type == "declaration",
            DeclarationRow.stage == "official",
            DeclarationRow.ledger_no == lst.ledger_no,
            DeclarationRow.unified_no == lst.unified_no,
        )
    ):
        moves = list(
            s.scalars(
                select(LedgerMovementRow).where(
                    LedgerMovementRow.source == f"declaration:{d.doc_no}", LedgerMovementRow.ledger_no == lst.ledger_no
                )
            )
        )
        if any(m.counted_in is not None for m in moves):
            raise Conflict(
                f"declaration {d.doc_no} already counted in a closed 报核 period; "
                f"its inventory list {lst.doc_no} cannot post the same goods again"
            )
        for m in moves:
            s.delete(m)
        if moves:
            w.audit(
                "ledger.withdraw",
                f"declaration:{d.doc_no}",
                {"why": f"inventory list {lst.doc_no} posts the same goods movement", "movements": len(moves)},
            )


def gate(w: audit.Work, doc_nos: list[str], pass_id: str, at: datetime | None = None) -> int:
    """A gate pass under a release order backs the movements of its declarations; they are dated
    by the pass (which 报核 period they fall in)."""
    n = 0
    ledgers: set[str] = set()
    for doc_no in doc_nos:
        for mv in w.session.scalars(
            select(LedgerMovementRow).where(
                LedgerMovementRow.source == f"declaration:{doc_no}", LedgerMovementRow.gated.is_(False)
            )
        ):
            mv.gated, mv.gate_pass = True, pass_id
            if at is not None:
                mv.at = at
            ledgers.add(mv.ledger_no)
            n += 1
    w.session.flush()
    for ledger_no in ledgers:
        for b in _balances(w.session, ledger_no, {}):
            if b.should_remain is not None and b.should_remain < -1e-9:
                text = AlertText(
                    code=AlertCode.LEDGER_NEGATIVE,
                    params={"ledger_no": ledger_no, "item_no": b.item_no, "remain": b.should_remain},
                )
                alerts.raise_alert(
                    w, "ledger_negative", ledger_no, text, f"ledger_negative:{ledger_no}:{b.item_no}:{pass_id}", pass_id
                )
    if n:
        w.audit("ledger.gate", f"pass:{pass_id}", {"declarations": doc_nos, "movements": n})
    return n


def gate_if_passed(w: audit.Work, decl: DeclarationRow) -> int:
    """A document approved after its truck went out: the pass already on file backs it now."""
    s = w.session
    # The JSON column's text has non-ASCII escaped (\uXXXX); a backslash is LIKE's default escape on
    # PostgreSQL, so the needle is escaped with "!" instead. A hit is checked below.
    text = cast(ReleaseOrderRow.declarations, String)
    quoted = json.dumps(decl.doc_no).replace("!", "!!").replace("%", "!%").replace("_", "!_")
    for order in s.scalars(select(ReleaseOrderRow).where(text.like(f"%{quoted}%", escape="!"))):
        if decl.doc_no not in (order.declarations or []):
            continue
        passed = s.scalars(
            select(OrderPassRow).where(OrderPassRow.order_no == order.order_no).order_by(OrderPassRow.at)
        ).first()
        if passed is not None:
            return gate(w, [decl.doc_no], passed.pass_id, passed.at)
    return 0


def _balances(
    s: Session,
    ledger_no: str,
    stocktake: dict[str, float],
    abnormal_pct: float = 5.0,
) -> list[ItemBalance]:
    """All-time balances (no period): materials only carry a balance."""
    items = list(
        s.scalars(select(LedgerItemRow).where(LedgerItemRow.ledger_no == ledger_no).order_by(LedgerItemRow.item_no))
    )
    if not items:
        raise NotFound(f"no ledger {ledger_no}")
    sums: dict[tuple[str, str, bool], float] = defaultdict(float)
    for mv in s.scalars(select(LedgerMovementRow).where(LedgerMovementRow.ledger_no == ledger_no)):
        sums[(mv.item_no, mv.kind, mv.gated)] += mv.quantity
    out = []
    for it in items:
        imp, exp, con, adj = (sums[(it.item_no, k, True)] for k in ("import", "export", "consumption", "adjustment"))
        pending = sum(sums[(it.item_no, k, False)] for k in ("import", "export", "consumption"))
        st = stocktake.get(it.item_no)
        material = it.kind == "material"  # the balance is reckoned for materials only
        should: float | None = None
        diff: float | None = None
        warnings: list[str] = []
        if material:
            should = it.opening + imp - exp - con + adj
            diff = None if st is None else st - should
            if should < -1e-9:
                warnings.append("negative balance: more left than came in")
            if diff is not None and abs(diff) > max(abs(should), 1.0) * abnormal_pct / 100:
                warnings.append(f"stocktake differs by {diff:+g} {it.unit} (over {abnormal_pct:g} %)")
            if st is None and stocktake:
                warnings.append("no stocktake figure")
        out.append(
            ItemBalance(
                item_no=it.item_no,
                kind=it.kind,
                opening=it.opening,
                imports=imp,
                exports=exp,
                consumption=con if material else 0.0,
                should_remain=should,
                stocktake=st,
                difference=diff,
                pending=pending,
                warnings=warnings,
            )
        )
    return out


def reconcile(
    c: Central, ledger_no: str, stocktake: dict[str, float] | None = None, abnormal_pct: float = 5.0
) -> list[ItemBalance]:
    with c.sessions() as s:
        return _balances(s, ledger_no, stocktake or {}, abnormal_pct)
