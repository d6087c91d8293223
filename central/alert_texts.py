"""What an alert says, as a typed code with parameters, rendered in the reader's language.

An alert is stored with its `code` and `params` (and the Chinese text in `message`, for the audit
log, the webhooks and anyone reading the table); the console and the field page show
`texts[lang]`, rendered here in Chinese (the default) or English. A pass's findings inside an
alert are the decision's own check codes (kakou.sync.checks), rendered by that module's
dictionary. Alerts stored before codes (code NULL) keep their text in both languages.
"""

from __future__ import annotations

import string
from enum import StrEnum
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kakou.sync.checks import Finding, render_all


class AlertCode(StrEnum):
    PASS_FINDINGS = "pass_findings"  # a pass's failed checks: control hit, weight, document hold
    LANE_FAULT = "lane_fault"  # a device fault at a lane
    NODE_OFFLINE = "node_offline"
    TRANSIT_SEAL = "transit_seal"
    TRANSIT_OVERDUE = "transit_overdue"
    LEDGER_NEGATIVE = "ledger_negative"
    BATCH_SHARED = "batch_shared"  # a batch counted in kg shared a truck with other orders
    BATCH_NO_NET = "batch_no_net"  # a batch counted in kg without a net weight
    ORDER_EXCEEDED = "order_exceeded"
    TRANSIT_CHECK = "transit_check"  # the destination lane held a transit truck: its failed checks
    ROUTE_DEVIATION = "route_deviation"
    VEHICLE_STOPPED = "vehicle_stopped"
    DEVICE_DOWN = "device_down"  # a lane device down longer than the limit


Scalar = str | int | float | bool | None


class AlertText(BaseModel):
    """An alert's code and parameters; `findings` are the checks of a pass, when it is about one."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    code: AlertCode
    params: dict[str, Scalar] = Field(default_factory=dict, max_length=16)
    findings: list[Finding] = Field(default_factory=list, max_length=64)

    def stored(self) -> dict[str, Any]:
        """The `params` column: the parameters, and the findings as codes with parameters."""
        out: dict[str, Any] = dict(self.params)
        if self.findings:
            out["findings"] = [f.model_dump(mode="json") for f in self.findings]
        return out

    def text(self, lang: str = "zh") -> str:
        return render(self.code, self.stored(), lang)


# {name} is a parameter; {findings} the pass's checks; {plate} falls back to "plate not read".
TEXTS: dict[AlertCode, tuple[str, str]] = {  # code: (中文, English)
    AlertCode.PASS_FINDINGS: ("{lane} {plate}：{findings}", "{lane} {plate}: {findings}"),
    AlertCode.LANE_FAULT: ("{lane}：{findings}", "{lane}: {findings}"),
    AlertCode.NODE_OFFLINE: ("边缘节点 {node} 自 {since} 起离线", "edge node {node} offline since {since}"),
    AlertCode.TRANSIT_SEAL: (
        "转关 {transit_no}：{where}电子关锁为 {seen}，申报为 {declared}",
        "transit {transit_no}: e-seal at {where} is {seen}, declared {declared}",
    ),
    AlertCode.TRANSIT_OVERDUE: (
        "转关 {transit_no}（{entry_site} → {destination_site}）超过 {time_limit_h:g} 小时时限",
        "transit {transit_no} ({entry_site} → {destination_site}) is over its {time_limit_h:g} h limit",
    ),
    AlertCode.LEDGER_NEGATIVE: (
        "账册 {ledger_no} 料号 {item_no} 将为负数（{remain:g}）",
        "ledger {ledger_no} item {item_no} would be negative ({remain:g})",
    ),
    AlertCode.BATCH_SHARED: (
        "核放单 {order_no} 分批出区与 {others} 共用通行 {pass_id}：净重不明，未计数",
        "batch exit on {order_no} shares pass {pass_id} with {others}: its net weight is not known, nothing counted",
    ),
    AlertCode.BATCH_NO_NET: (
        "核放单 {order_no} 分批出区无净重（毛重 {gross_kg}，皮重 {tare_kg}），未计数",
        "batch exit on {order_no} without a net weight (gross {gross_kg}, tare {tare_kg}), nothing counted",
    ),
    AlertCode.TRANSIT_CHECK: ("转关 {transit_no}（{site}）：{findings}", "transit {transit_no} ({site}): {findings}"),
    AlertCode.ROUTE_DEVIATION: (
        "转关 {transit_no} 车辆 {plate} 偏离申报路线 {off_m:.0f} 米（允许 {corridor_m:.0f} 米），位置 {where}",
        "transit {transit_no}: vehicle {plate} is {off_m:.0f} m off the declared route "
        "(allowed {corridor_m:.0f} m), at {where}",
    ),
    AlertCode.VEHICLE_STOPPED: (
        "转关 {transit_no} 车辆 {plate} 途中停留 {minutes:.0f} 分钟（上限 {limit_min:.0f} 分钟），位置 {where}",
        "transit {transit_no}: vehicle {plate} stopped en route for {minutes:.0f} min "
        "(limit {limit_min:.0f} min), at {where}",
    ),
    AlertCode.DEVICE_DOWN: (
        "{lane}：{kind_zh}（{device}）{state_zh}已 {minutes} 分钟（超过 {limit_min} 分钟），请派员检修",
        "{lane}: {kind_en} ({device}) {state_en} for {minutes} min (over {limit_min} min): send someone to repair it",
    ),
    AlertCode.ORDER_EXCEEDED: (
        "核放单 {order_no} 超出 {over:g} {unit}",
        "release order {order_no} exceeded by {over:g} {unit}",
    ),
}

# Words inside parameters that are themselves codes.
WORDS: dict[str, tuple[str, str]] = {
    "entry": ("起运地", "entry"),
    "destination": ("指运地", "destination"),
    "not_read": ("未读到", "not read"),
    "tampered": ("已被开启或破坏", "opened or tampered with"),
}


def render(code: str | None, params: dict[str, Any] | None, lang: str = "zh", fallback: str = "") -> str:
    """The alert's text in Chinese (default) or English; an unknown code or a row stored before
    codes gives `fallback` (its stored text). Never raises."""
    try:
        zh, en = TEXTS[AlertCode(code or "")]
    except ValueError:
        return fallback
    params = params or {}
    out: list[str] = []
    for literal, field, spec, _ in string.Formatter().parse(en if lang == "en" else zh):
        out.append(literal)
        if field is None:
            continue
        value = params.get(field)
        if field == "findings":
            found = [f for f in (_finding(i) for i in value or []) if f is not None]
            out.append(render_all(found, lang, "; " if lang == "en" else "；"))
        elif field == "plate" and not value:
            out.append("plate not read" if lang == "en" else "车牌未识别")
        elif isinstance(value, str) and value in WORDS:
            out.append(WORDS[value][1 if lang == "en" else 0])
        elif value is None:
            out.append("-")
        else:
            try:
                out.append(format(value, spec or ""))
            except (TypeError, ValueError):
                out.append(str(value))
    return "".join(out)


def texts(code: str | None, params: dict[str, Any] | None, message: str) -> dict[str, str]:
    """Both languages, as the pages choose; an old row's stored text in both."""
    if code is None:
        return {"zh": message, "en": message}
    return {"zh": render(code, params, "zh", message), "en": render(code, params, "en", message)}


def _finding(item: Any) -> Finding | None:
    try:
        return Finding.model_validate(item)
    except ValueError:
        return None
