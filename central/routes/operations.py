"""Alerts, transit, ledgers, traceability and statistics."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Request
from fastapi.responses import Response

from kakou.central import alerts, ledgers, positions, projections, stats, trace, transit
from kakou.central.alerts import AlertRouteIn, DisposalIn
from kakou.central.declarations import XLSX
from kakou.central.ledgers import ItemBalance, LedgerItemIn, RatioIn
from kakou.central.list_queries import AlertQuery, TransitQuery
from kakou.central.routes.deps import CentralDep, Limit
from kakou.central.routes.security import AnyUser, FieldUser, Officer, RowId, SystemAdmin, domain_errors
from kakou.central.schemas import (
    AlertOut,
    AlertRouteOut,
    NoteIn,
    Page,
    StocktakeIn,
    TransitOut,
    VehiclePositionOut,
    page_of,
)
from kakou.central.stats import LaneStats
from kakou.central.trace import Event, SubjectKind
from kakou.central.transit import TransitIn

router = APIRouter(prefix="/api/v1")


@router.get("/alerts", tags=["alerts"])
def list_alerts(central: CentralDep, me: AnyUser, q: Annotated[AlertQuery, Query()]) -> Page[AlertOut]:
    """`mine=true`: the alerts routed to the caller (assigned to them, or to their role)."""
    mine = (me.username, me.role.value) if q.mine else None
    return page_of(AlertOut, q, alerts.list_alerts(central, q, for_user=mine))


@router.get("/alert-routes", tags=["alerts"])
def list_routes(central: CentralDep, _me: AnyUser) -> list[AlertRouteOut]:
    return [AlertRouteOut.model_validate(r) for r in alerts.list_routes(central)]


@router.post("/alert-routes", status_code=201, tags=["alerts"])
def add_route(body: AlertRouteIn, central: CentralDep, me: Officer) -> AlertRouteOut:
    """A routing rule; alerts raised from now on follow the first matching rule by priority."""
    with domain_errors():
        return AlertRouteOut.model_validate(alerts.add_route(central, me.username, body))


@router.delete("/alert-routes/{route_id}", status_code=204, tags=["alerts"])
def retire_route(route_id: RowId, central: CentralDep, me: Officer) -> None:
    with domain_errors():
        alerts.retire_route(central, me.username, route_id)


@router.get("/alerts/{alert_id}", tags=["alerts"])
def get_alert(alert_id: RowId, central: CentralDep, _me: AnyUser) -> AlertOut:
    with domain_errors():
        return AlertOut.model_validate(alerts.get(central, alert_id))


@router.post("/alerts/{alert_id}/acknowledge", tags=["alerts"])
def acknowledge(alert_id: RowId, body: NoteIn, central: CentralDep, me: FieldUser) -> AlertOut:
    with domain_errors():
        return AlertOut.model_validate(alerts.acknowledge(central, me.username, alert_id, body.text))


@router.post("/alerts/{alert_id}/dispose", tags=["alerts"])
def dispose(alert_id: RowId, body: DisposalIn, central: CentralDep, me: FieldUser, request: Request) -> AlertOut:
    """`photos`: SHA-256 names of photos uploaded first with POST /alerts/{alert_id}/photos."""
    store = getattr(request.app.state, "images", None)
    with domain_errors():
        return AlertOut.model_validate(
            alerts.dispose(
                central,
                me.username,
                alert_id,
                body.disposal,
                body.photos,
                have_photo=(lambda p: store.find(p) is not None) if store is not None else None,
                release_vehicle=body.release_vehicle,
            )
        )


@router.post("/alerts/{alert_id}/notes", tags=["alerts"])
def add_note(alert_id: RowId, body: NoteIn, central: CentralDep, me: FieldUser) -> AlertOut:
    with domain_errors():
        return AlertOut.model_validate(alerts.add_note(central, me.username, alert_id, body.text))


@router.post("/projections/run", tags=["alerts"])
def run_projections(central: CentralDep, _me: SystemAdmin) -> dict[str, int]:
    """Derive alerts, batch counts, transit clocks and ledger gating from passes not yet seen."""
    n = projections.run_all(central)
    return {
        "passes": n,
        "offline_alerts": projections.check_nodes(central),
        "overdue_transits": len(transit.check_overdue(central)),
    }


@router.post("/transits", status_code=201, tags=["transit"])
def declare_transit(body: TransitIn, central: CentralDep, me: Officer) -> TransitOut:
    with domain_errors():
        return TransitOut.model_validate(transit.declare(central, me.username, body))


@router.get("/transits", tags=["transit"])
def list_transits(central: CentralDep, _me: AnyUser, q: Annotated[TransitQuery, Query()]) -> Page[TransitOut]:
    return page_of(TransitOut, q, transit.list_transits(central, q))


@router.get("/transit-positions", tags=["transit"])
def transit_positions(central: CentralDep, _me: AnyUser, transit_no: str | None = None) -> list[VehiclePositionOut]:
    """The latest position of each vehicle on an open transit (or of one transit), from its terminal."""
    return [VehiclePositionOut.model_validate(r) for r in positions.latest(central, transit_no)]


@router.get("/transits/{transit_no}", tags=["transit"])
def get_transit(transit_no: str, central: CentralDep, _me: AnyUser) -> TransitOut:
    with domain_errors():
        return TransitOut.model_validate(transit.get(central, transit_no))


@router.put("/ledgers/items", tags=["ledgers"])
def save_item(body: LedgerItemIn, central: CentralDep, me: Officer) -> LedgerItemIn:
    with domain_errors():
        ledgers.save_item(central, me.username, body)
    return body


@router.put("/ledgers/ratios", tags=["ledgers"])
def save_ratio(body: RatioIn, central: CentralDep, me: Officer) -> RatioIn:
    with domain_errors():
        ledgers.save_ratio(central, me.username, body)
    return body


@router.post("/ledgers/{ledger_no}/reconcile", tags=["ledgers"])
def reconcile(ledger_no: str, body: StocktakeIn, central: CentralDep, _me: AnyUser) -> list[ItemBalance]:
    """Reconciliation (报核): opening + imports − exports − consumption vs the stocktake."""
    with domain_errors():
        return ledgers.reconcile(central, ledger_no, body.stocktake, body.abnormal_pct)


@router.get(
    "/trace/{kind}/{value}",
    tags=["traceability"],
    response_model=list[Event],
    responses={
        200: {"content": {"text/csv": {}, XLSX: {}}, "description": "the timeline (format=csv or xlsx: a file)"}
    },
)
def timeline(
    kind: SubjectKind,
    value: str,
    central: CentralDep,
    _me: AnyUser,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Limit = 500,
    format: Literal["json", "csv", "xlsx"] = "json",
) -> Any:
    """Everything that happened to a plate, container, declaration (doc no.) or release order."""
    events = trace.timeline(central, kind, value, since, until, limit)
    if format == "csv":
        return Response(
            trace.to_csv(events),
            media_type="text/csv",
            headers={"Content-Disposition": f'attachment; filename="trace-{kind}.csv"'},
        )
    if format == "xlsx":
        return Response(
            trace.to_xlsx(events),
            media_type=XLSX,
            headers={"Content-Disposition": f'attachment; filename="trace-{kind}.xlsx"'},
        )
    return events


@router.get("/stats/lanes", tags=["statistics"])
def lane_stats(
    central: CentralDep, _me: AnyUser, since: datetime | None = None, until: datetime | None = None
) -> list[LaneStats]:
    return stats.lane_stats(central, since, until)
