"""The gate manuals' queries and figures (kakou.central.queries) and the rates' definitions."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Query

from kakou.central import queries
from kakou.central.queries import Filters, GroupBy, Intervention, PassStats, TransitGroup
from kakou.central.routes.deps import CentralDep, Limit, Offset
from kakou.central.routes.security import AnyUser, domain_errors
from kakou.central.schemas import Page
from kakou.sync import rates

router = APIRouter(prefix="/api/v1", tags=["statistics"])


def _utc(t: datetime) -> datetime:
    """A time given without an offset is UTC (so it compares with the others)."""
    return t if t.tzinfo else t.replace(tzinfo=UTC)


Text = Annotated[str | None, Query(max_length=64)]


@router.get("/stats/passes")
def pass_stats(
    central: CentralDep,
    _me: AnyUser,
    since: datetime | None = None,
    until: datetime | None = None,
    site: Text = None,
    lane: Annotated[str | None, Query(max_length=130, pattern=r"^[^/]+/[^/]+$")] = None,
    direction: Literal["in", "out"] | None = None,
    outcome: Literal["release", "officer", "inspection"] | None = None,
    doc_type: Literal["declaration", "inventory_list", "release_order", "none"] | None = None,
    doc_no: Text = None,
    plate: Text = None,
    container: Text = None,
    group_by: GroupBy | None = None,
) -> PassStats:
    """Passes and every rate (definitions: GET /stats/definitions) under any combination of filters
    (综合统计), in all and per site (按场站), document type (按单证类型: declaration, inventory_list,
    release_order — an order without declarations —, none), lane, outcome, direction or day."""
    with domain_errors():
        if since is not None and until is not None and _utc(since) >= _utc(until):
            raise ValueError("起始时间须早于结束时间（since must be before until）")
        return queries.pass_stats(
            central,
            Filters(
                since=since,
                until=until,
                site=site,
                lane=lane,
                direction=direction,
                outcome=outcome,
                doc_type=doc_type,
                doc_no=doc_no,
                plate=plate,
                container=container,
            ),
            group_by,
        )


@router.get("/stats/interventions")
def interventions(
    central: CentralDep,
    _me: AnyUser,
    officer: Text = None,
    since: datetime | None = None,
    until: datetime | None = None,
    lane: Annotated[str | None, Query(max_length=130, pattern=r"^[^/]+/[^/]+$")] = None,
    limit: Limit = 50,
    offset: Offset = 0,
) -> Page[Intervention]:
    """The intervention record (人工干预记录), newest first, by officer (or the second officer who
    confirmed), time and lane."""
    total, items = queries.interventions(central, officer, since, until, lane, limit, offset)
    return Page(total=total, limit=limit, offset=offset, items=items)


@router.get("/stats/transits")
def transit_stats(
    central: CentralDep, _me: AnyUser, since: datetime | None = None, until: datetime | None = None, site: Text = None
) -> list[TransitGroup]:
    """Transit statistics (转关统计) per entry and destination site, for transits started in the window."""
    return queries.transit_stats(central, since, until, site)


@router.get("/stats/definitions")
def definitions(_me: AnyUser) -> dict[str, dict[str, str]]:
    """How each rate is counted, the one definition the lanes, central and the console share."""
    return {
        k: {"zh": r.zh, "en": r.en, "definition_zh": r.definition_zh, "definition_en": r.definition_en}
        for k, r in {**rates.RATES, "passes": rates.DENOMINATOR}.items()
    }
