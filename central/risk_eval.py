"""Risk rules evaluated where the data is: the declaration-side conditions (origin, HS code,
declared value, transit time, seed 001's risk tags) on each release order, at central.

Whenever a release order is published (approved, vehicle changed, republished) its verdict —
the rules in force whose central conditions all hold, with what was found — goes inside the order
(`ReleaseOrderData.risk`, kakou.sync.risk_verdicts), so the lane has it as soon as it has the
order, before the truck arrives. When the rules change (approved, retired), a transit starts or a
whitelist entry changes, `refresh` republishes the active orders whose verdict changed.

The lane fires a rule when every condition holds: its own (weight, carrier, watch list, random)
as it observes them, the central ones by the verdict (from `after` on, for a time limit).
Whitelisted vehicles and carriers (`whitelist.py`) get no verdict.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kakou.central.db import aware
from kakou.central.tables import DeclarationRow, ReleaseOrderRow, RiskRuleRow, TransitRow
from kakou.central.tables_sync import ChangeRow
from kakou.sync.checks import CheckCode, Finding, finding
from kakou.sync.knowledge import CENTRAL_CONDITIONS, RiskRule
from kakou.sync.messages import ChangeKind
from kakou.sync.risk_verdicts import MAX_HITS, RiskVerdictHit

Found = tuple[bool, list[Finding], datetime | None]  # holds, what was found, holds from


def central_rules(s: Session) -> list[RiskRule]:
    """The rules in force with at least one declaration-side condition."""
    rows = s.scalars(select(RiskRuleRow).where(RiskRuleRow.active.is_(True)).order_by(RiskRuleRow.rule_id))
    rules = [RiskRule.model_validate(r.data) for r in rows]
    return [r for r in rules if any(c.kind in CENTRAL_CONDITIONS for c in r.conditions)]


def verdict(s: Session, row: ReleaseOrderRow, rules: list[RiskRule] | None = None) -> list[RiskVerdictHit]:
    """The rules whose central conditions all hold for this order, with their findings."""
    from kakou.central import whitelist  # the whitelist module uses this one's refresh

    rules = central_rules(s) if rules is None else rules
    if not rules or whitelist.exempt(s, row):
        return []
    hits: list[RiskVerdictHit] = []
    for rule in rules:
        results = [_condition(s, c, row) for c in rule.conditions if c.kind in CENTRAL_CONDITIONS]
        if results and all(held for held, _f, _a in results):
            afters = [a for _h, _f, a in results if a is not None]
            findings = [f for _h, fs, _a in results for f in fs][:16]
            hits.append(
                RiskVerdictHit(
                    rule_id=rule.rule_id, version=rule.version, after=max(afters) if afters else None, findings=findings
                )
            )
    return hits[:MAX_HITS]


def _lines(row: ReleaseOrderRow) -> Iterable[tuple[int, dict[str, Any]]]:
    return ((i, g) for i, g in enumerate(row.goods or [], start=1) if isinstance(g, dict))


def _under(hs: str | None, prefixes: list[str]) -> str | None:
    """The prefix the HS code falls under; "" when no prefixes are given (every line applies);
    None when it falls under none of them."""
    return next((p for p in prefixes if hs and hs.startswith(p)), None) if prefixes else ""


def _unit_price(g: dict[str, Any]) -> float | None:
    amount, qty = g.get("amount"), g.get("quantity")
    return amount / qty if amount is not None and qty else None


def _condition(s: Session, c: Any, row: ReleaseOrderRow) -> Found:
    no = row.order_no

    def line(code: CheckCode, i: int, g: dict[str, Any], **p: Any) -> Finding:
        """A finding on goods line `i` (from 1) of the order."""
        return finding(code, order_no=no, item=i, goods=str(g.get("name", "")), **p)

    found: list[Finding] = []
    if c.kind == "origin":
        countries = {x.upper() for x in c.countries}
        found = [
            line(CheckCode.RISK_ORIGIN, i, g, origin=g["origin"])
            for i, g in _lines(row)
            if (g.get("origin") or "").upper() in countries
        ]
    elif c.kind == "hs_code":
        found = [
            line(CheckCode.RISK_HS_CODE, i, g, hs_code=g["hs_code"], prefix=p)
            for i, g in _lines(row)
            if (p := _under(g.get("hs_code"), c.prefixes))
        ]
    elif c.kind == "declared_value":
        total = sum(float(g.get("amount") or 0) for _i, g in _lines(row))
        if total > c.over_amount:
            found = [finding(CheckCode.RISK_DECLARED_VALUE, order_no=no, amount=total, limit=c.over_amount)]
    elif c.kind == "transit_time":
        return _transit(s, c, row)
    elif c.kind == "risk_tag":
        return _tag(s, c, row, line)
    return bool(found), found, None


def _transit(s: Session, c: Any, row: ReleaseOrderRow) -> Found:
    """An open transit of the order's vehicle: the rule holds once it has been under way longer
    than the limit (the lane compares the arrival time with `after`)."""
    t = s.scalars(
        select(TransitRow)
        .where(TransitRow.plate == row.plate, TransitRow.closed_at.is_(None), TransitRow.started_at.is_not(None))
        .order_by(TransitRow.started_at)
        .limit(1)
    ).first()
    if t is None or t.started_at is None:
        return False, [], None
    started = aware(t.started_at)
    return (
        True,
        [
            finding(
                CheckCode.RISK_TRANSIT_TIME,
                order_no=row.order_no,
                transit_no=t.transit_no,
                started_at=started.strftime("%Y-%m-%d %H:%M"),
                limit_h=c.over_hours,
            )
        ],
        started + timedelta(hours=c.over_hours),
    )


def _tag(s: Session, c: Any, row: ReleaseOrderRow, line: Any) -> Found:
    found: list[Finding] = []
    if c.tag == "price":
        floor = c.reference_unit_price * (1 - c.below_pct / 100)
        found = [
            line(CheckCode.RISK_PRICE, i, g, unit_price=p, reference=c.reference_unit_price, below_pct=c.below_pct)
            for i, g in _lines(row)
            if _under(g.get("hs_code"), c.hs_prefixes) is not None and (p := _unit_price(g)) is not None and p < floor
        ]
    elif c.tag == "high_value":
        found = [
            line(CheckCode.RISK_HIGH_VALUE, i, g, unit_price=p, limit=c.unit_price_over)
            for i, g in _lines(row)
            if _under(g.get("hs_code"), c.hs_prefixes) is not None
            and (p := _unit_price(g)) is not None
            and p > c.unit_price_over
        ]
    elif c.tag == "traced_origin":
        found = [
            line(CheckCode.RISK_TRACED_ORIGIN, i, g, origin=g["origin"], traced_origin=g["traced_origin"])
            for i, g in _lines(row)
            if g.get("origin") and g.get("traced_origin") and g["origin"].upper() != g["traced_origin"].upper()
        ]
    elif c.tag == "quarantine":
        found = [
            line(CheckCode.RISK_QUARANTINE, i, g, hs_code=g["hs_code"])
            for i, g in _lines(row)
            if _under(g.get("hs_code"), c.hs_prefixes) and not g.get("quarantine_no")
        ]
    elif c.tag == "long_storage":
        docs = list(
            s.scalars(
                select(DeclarationRow)
                .where(DeclarationRow.doc_no.in_(row.declarations or []), DeclarationRow.deleted.is_(False))
                .order_by(DeclarationRow.created_at)
                .limit(1)
            )
        )
        if docs:
            d = docs[0]
            at = aware(d.created_at)
            return (
                True,
                [
                    finding(
                        CheckCode.RISK_LONG_STORAGE,
                        order_no=row.order_no,
                        doc_no=d.doc_no,
                        declared_at=at.strftime("%Y-%m-%d"),
                        days=c.days_over,
                    )
                ],
                at + timedelta(days=c.days_over),
            )
    return bool(found), found, None


def with_verdict(s: Session, order_no: str, data: dict[str, Any]) -> dict[str, Any]:
    """The order's lane data with its verdict (as published); unchanged when no rule holds."""
    row = s.get(ReleaseOrderRow, order_no)
    if row is None:
        return data
    hits = verdict(s, row)
    out = {k: v for k, v in data.items() if k != "risk"}
    if hits:
        out["risk"] = [h.model_dump(mode="json") for h in hits]
    return out


def refresh_for_documents(w: Any, doc_nos: list[str]) -> list[str]:
    """A declaration filed or withdrawn: republish the active orders linking it whose verdict changed."""
    s: Session = w.session
    if not central_rules(s):
        return []
    s.flush()
    wanted = set(doc_nos)
    orders = [
        no
        for no, docs in s.execute(
            select(ReleaseOrderRow.order_no, ReleaseOrderRow.declarations).where(ReleaseOrderRow.status == "active")
        )
        if wanted & set(docs or [])
    ]
    return refresh(w, orders=orders) if orders else []


def refresh(w: Any, plate: str | None = None, orders: list[str] | None = None) -> list[str]:
    """Republish the active orders (of one vehicle, these, or all) whose verdict is no longer the
    one on the lanes. Inside the caller's unit of work (kakou.central.audit.Work); returns them."""
    from kakou.central.orders import lane_data

    s: Session = w.session
    q = select(ReleaseOrderRow).where(ReleaseOrderRow.status == "active")
    if plate is not None:
        q = q.where(ReleaseOrderRow.plate == plate)
    if orders is not None:
        q = q.where(ReleaseOrderRow.order_no.in_(orders))
    rules = central_rules(s)
    changed = []
    for row in s.scalars(q.order_by(ReleaseOrderRow.order_no)):
        last = s.scalar(
            select(ChangeRow.data)
            .where(ChangeRow.kind == ChangeKind.RELEASE_ORDER.value, ChangeRow.key == row.order_no)
            .order_by(ChangeRow.version.desc())
            .limit(1)
        )
        if last is None:
            continue  # withdrawn from the lanes (used up): nothing to correct
        now = [h.model_dump(mode="json") for h in verdict(s, row, rules)] or None
        if (last.get("risk") or None) != now:
            w.publish(ChangeKind.RELEASE_ORDER, row.order_no, lane_data(row).lane_json())
            changed.append(row.order_no)
    if changed:
        w.audit("risk_verdict.refresh", "risk_verdict:" + (plate or "*"), {"orders": changed})
    return changed
