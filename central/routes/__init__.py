"""API routers, one module per resource. Add a router here to publish it under /api/v1."""

from __future__ import annotations

from fastapi import APIRouter, Depends

from kakou.central.routes import (
    auth,
    control_orders,
    declarations,
    enterprise,
    health,
    images,
    lane_officers,
    ledgers,
    live,
    operations,
    orders,
    registrations,
    reviews,
    risk,
    statistics,
    sync,
    ui,
)
from kakou.central.routes.security import no_nul_characters, require


def routers() -> list[APIRouter]:
    # live (the alert stream) comes before operations: /alerts/stream must not be read as /alerts/{id}.
    # The sync router's read endpoints (passes, nodes, change log) are for logged-in users only.
    guarded_sync = APIRouter(dependencies=[Depends(require())])
    guarded_sync.include_router(sync.router)
    api = APIRouter(dependencies=[Depends(no_nul_characters)])
    for router in (
        auth.router,
        orders.router,
        guarded_sync,
        control_orders.router,
        registrations.router,
        risk.router,
        declarations.router,
        live.router,
        operations.router,
        images.router,
        ledgers.router,
        enterprise.router,
        sync.system_router,
        lane_officers.router,
        health.router,
        statistics.router,
        reviews.router,
    ):
        api.include_router(router)
    return [api, ui.router]
