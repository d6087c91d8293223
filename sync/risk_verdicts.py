"""Central's verdict on a release order for the risk rules in force: which rules' declaration-side
conditions hold for it, and what was found (typed findings, kakou.sync.checks RISK_* codes).

Published inside the release order (`ReleaseOrderData.risk`), so a lane has the verdict exactly
when it has the order, before the truck arrives; republished whenever the order, its documents or
the rules change. The lane fires the rule when its own conditions hold too (kakou.edge.decision).
"""

from __future__ import annotations

from datetime import datetime

from pydantic import BaseModel, ConfigDict, Field

from kakou.sync.checks import Finding

MAX_HITS = 32


class RiskVerdictHit(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    rule_id: str = Field(max_length=40)
    version: int = Field(ge=1)
    # The conditions hold for a pass from this instant on (a transit time limit, a storage period);
    # None: at once.
    after: datetime | None = None
    findings: list[Finding] = Field(default_factory=list, max_length=16)
