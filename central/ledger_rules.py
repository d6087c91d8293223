"""Trade modes (监管方式) as data: which 报核 column a document of a code, item kind and direction
lands in (003 账册报核计算逻辑):

- 进出口总数量 (materials) = 0615 + 0654 + 9900 (in) − 0644 − 0664 (out);
- 消耗总数量 (finished goods converted through 单损耗) = 0615 + 0654 + 4600 going out − 4600 coming
  back. The manual's table prints "4600(I)−4600(E)"; a return (I) gives materials back and a
  replacement export (E) uses them, so the defaults read it that way round. Like every code here it
  is a row an officer can change (PUT /api/v1/ledgers/trade-modes).
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from kakou.central import audit
from kakou.central.service import Central
from kakou.central.tables_ledger import TradeModeRow

Effect = Literal["import", "export", "consumption", "consumption_return", "ignore"]
Key = tuple[str, str, str]  # code, item kind, direction

DEFAULT_TRADE_MODES: dict[Key, tuple[Effect, str]] = {
    ("0615", "material", "in"): ("import", "进料对口"),
    ("0654", "material", "in"): ("import", "进料深加工"),
    ("9900", "material", "in"): ("import", "其他"),
    ("0644", "material", "out"): ("export", "进料料件内销"),
    ("0664", "material", "out"): ("export", "进料料件复出"),
    ("0615", "finished", "out"): ("consumption", "进料对口"),
    ("0654", "finished", "out"): ("consumption", "进料深加工"),
    ("4600", "finished", "out"): ("consumption", "进料成品退换（出口）"),
    ("4600", "finished", "in"): ("consumption_return", "进料成品退换（退回）"),
    ("0615", "semifinished", "out"): ("consumption", "进料对口"),
    ("0654", "semifinished", "out"): ("consumption", "进料深加工"),
}


class TradeModeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    code: str = Field(pattern=r"^\d{4}$")  # 监管方式代码: four digits
    item_kind: Literal["material", "finished", "semifinished"]
    direction: Literal["in", "out"]
    effect: Effect
    name: str = Field("", max_length=64)


def trade_modes(s: Session) -> dict[Key, str]:
    """The effective table: the defaults, overridden by stored rows."""
    out: dict[Key, str] = {k: v[0] for k, v in DEFAULT_TRADE_MODES.items()}
    for row in s.scalars(select(TradeModeRow)):
        out[(row.code, row.item_kind, row.direction)] = row.effect
    return out


def list_trade_modes(c: Central) -> list[TradeModeIn]:
    with c.sessions() as s:
        names = {k: v[1] for k, v in DEFAULT_TRADE_MODES.items()}
        for row in s.scalars(select(TradeModeRow)):
            names[(row.code, row.item_kind, row.direction)] = row.name
        return [
            TradeModeIn(code=k[0], item_kind=k[1], direction=k[2], effect=e, name=names.get(k, ""))
            for k, e in sorted(trade_modes(s).items())
        ]


def save_trade_mode(c: Central, actor: str, m: TradeModeIn) -> None:
    with audit.write(c, actor) as w:
        row = w.session.get(TradeModeRow, (m.code, m.item_kind, m.direction))
        if row is None:
            w.session.add(TradeModeRow(**m.model_dump(), updated_by=actor))
        else:
            row.effect, row.name, row.updated_by = m.effect, m.name, actor
        w.audit("ledger.trade_mode", f"trade_mode:{m.code}", m.model_dump())
