"""One definition of each rate, for the lane (kakou.edge.records), central (kakou.central.stats,
computed by the database to the same definition) and the console (the texts, served with the
check texts). docs/central.md, "Statistics", says the same in words.

A *pass* is a vehicle's first decision at a lane: a pass record that does not supersede another.
A record that supersedes one (an officer's override, inspection result, release on documents, a
backfill) is that pass's follow-up, not a pass of its own: it makes the pass *manual*.

- passes (通行量): pass records that supersede none;
- recognition rate (识别率): passes whose plate the lane read itself (a plate, not keyed in by
  an officer: `entered_by` empty) ÷ passes;
- manual intervention rate (人工干预率): passes an officer took part in — keyed the identity in
  (`entered_by`), or decided it afterwards (another record supersedes it) — ÷ passes;
- officer rate (人工处理率): passes the lane did not release on its own (first decision `officer`
  or `inspection`) ÷ passes;
- inspection rate (查验率): passes whose first decision was `inspection` ÷ passes;
- hit rate (命中率): passes with a failed control-order or risk-rule check ÷ passes;
- device availability (设备可用率): passes without a failed device check ÷ passes.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from kakou.sync.checks import DEVICE_CODES, HIT_CODES, failed_with


@dataclass(frozen=True)
class Rate:
    zh: str
    en: str
    definition_zh: str
    definition_en: str


RATES: dict[str, Rate] = {
    "recognition_rate": Rate(
        "识别率",
        "Recognition rate",
        "车牌由通道自动识别（非关员录入）的通行数 ÷ 通行数",
        "passes whose plate the lane read itself (not keyed in) ÷ passes",
    ),
    "manual_intervention_rate": Rate(
        "人工干预率",
        "Manual intervention rate",
        "关员录入车牌/箱号或事后改判、查验放行、凭单放行的通行数 ÷ 通行数",
        "passes an officer keyed in, or decided afterwards (override, inspection "
        "result, release on documents) ÷ passes",
    ),
    "held_rate": Rate(
        "人工处理率",
        "Officer rate",
        "通道未自动放行（首次判定为人工处理或查验）的通行数 ÷ 通行数",
        "passes the lane did not release on its own (first decision: officer or inspection) ÷ passes",
    ),
    "inspection_rate": Rate(
        "查验率", "Inspection rate", "首次判定为查验的通行数 ÷ 通行数", "passes first decided for inspection ÷ passes"
    ),
    "hit_rate": Rate(
        "命中率",
        "Hit rate",
        "布控或风险规则命中的通行数 ÷ 通行数",
        "passes with a control-order or risk-rule hit ÷ passes",
    ),
    "device_availability": Rate(
        "设备可用率", "Device availability", "无设备故障的通行数 ÷ 通行数", "passes without a device fault ÷ passes"
    ),
}
DENOMINATOR = Rate(
    "通行量",
    "Passes",
    "首次判定的通行记录数（改判、补录等后续记录不另计）",
    "first decisions at a lane (an override, backfill… is the same pass, not another)",
)


def ratio(n: int, d: int) -> float | None:
    """A rate as every screen and API gives it: 4 decimals, None without passes."""
    return round(n / d, 4) if d else None


def is_pass(rec: dict[str, Any]) -> bool:
    return not rec.get("supersedes")


def _failed(rec: dict[str, Any], codes: frozenset[Any], *old: str) -> bool:
    checks = rec.get("checks")
    return isinstance(checks, list) and any(failed_with(c, codes, *old) for c in checks)


def flags(rec: dict[str, Any], superseded: set[str]) -> dict[str, bool]:
    """The 0/1 facts of one pass that the rates count (`superseded`: pass ids another record supersedes)."""
    return {
        "recognised": bool(rec.get("plate")) and not rec.get("entered_by"),
        "manual": bool(rec.get("entered_by")) or rec.get("pass_id") in superseded,
        "held": rec.get("outcome") != "release",
        "inspection": rec.get("outcome") == "inspection",
        "hit": _failed(rec, HIT_CODES, "control", "risk"),
        "fault": _failed(rec, DEVICE_CODES, "device"),
    }


def rates(records: Iterable[dict[str, Any]], superseded: set[str] | None = None) -> dict[str, Any]:
    """Every rate over these pass records (as stored: dicts), by the definitions above.
    `superseded`: the pass ids any record supersedes, also outside these (default: among these)."""
    recs = list(records)
    if superseded is None:
        superseded = {str(r["supersedes"]) for r in recs if r.get("supersedes")}
    passes = [flags(r, superseded) for r in recs if is_pass(r)]
    n = len(passes)
    count = {k: sum(p[k] for p in passes) for k in ("recognised", "manual", "held", "inspection", "hit", "fault")}
    return {
        "passes": n,
        "recognition_rate": ratio(count["recognised"], n),
        "manual_intervention_rate": ratio(count["manual"], n),
        "held_rate": ratio(count["held"], n),
        "inspection_rate": ratio(count["inspection"], n),
        "hit_rate": ratio(count["hit"], n),
        "device_availability": ratio(n - count["fault"], n),
    }


def terms_script() -> str:
    """The rates' names and definitions for the browsers (`K.addTerms`): `rate.{name}` and
    `rate_def.{name}`, so the console footnotes say exactly what is counted."""
    import json

    terms = {f"rate.{k}": [r.en, r.zh] for k, r in RATES.items()}
    terms |= {f"rate_def.{k}": [r.definition_en, r.definition_zh] for k, r in RATES.items()}
    terms |= {
        "rate.passes": [DENOMINATOR.en, DENOMINATOR.zh],
        "rate_def.passes": [DENOMINATOR.definition_en, DENOMINATOR.definition_zh],
    }
    return (
        "/* Generated from kakou.sync.rates: one definition of each rate. */\n"
        f"K.addTerms({json.dumps(terms, ensure_ascii=False)});\n"
    )
