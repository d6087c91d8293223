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

from kakou.sync.checks import Finding, render_all, text_tables


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


# The texts live in alert_texts.toml beside this module: {code: (中文, English)}, and the words
# inside parameters that are themselves codes. {name} is a parameter; {findings} the pass's checks;
# {plate} falls back to "plate not read".
_TABLES = text_tables("kakou.central", "alert_texts.toml")
TEXTS: dict[AlertCode, tuple[str, str]] = {AlertCode(code): t for code, t in _TABLES["alert"].items()}
WORDS: dict[str, tuple[str, str]] = _TABLES["word"]


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
