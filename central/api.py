"""Central REST API under /api/v1. Handlers only translate HTTP ↔ service calls."""

from __future__ import annotations

from typing import Annotated

from fastapi import FastAPI, HTTPException, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

import kakou
from kakou.central.schemas import CreatedOut, NodeOut, Page, PassOut, ReleaseOrderOut
from kakou.central.service import Central, Conflict
from kakou.sync.messages import ChangeBatch, ReleaseOrderData

PROBLEM = "application/problem+json"
Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0)]


def problem(status: int, title: str, detail: str | None = None, **extra: object) -> JSONResponse:
    """RFC 9457 problem details."""
    body: dict[str, object] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def create_app(central: Central) -> FastAPI:
    app = FastAPI(title="kakou central", version=kakou.__version__, openapi_url="/api/v1/openapi.json")

    @app.exception_handler(RequestValidationError)
    async def _invalid(_req: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
        return problem(422, "Invalid request", "see errors", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail))

    @app.get("/api/v1/health")
    def health() -> dict[str, object]:
        return {"status": "ok", "knowledge_version": central.latest_version()}

    @app.post("/api/v1/release-orders", status_code=201)
    def create_release_order(order: ReleaseOrderData) -> CreatedOut:
        try:
            version = central.create_release_order(order)
        except Conflict as exc:
            raise HTTPException(409, str(exc)) from exc
        return CreatedOut(order_no=order.order_no, version=version)

    @app.get("/api/v1/release-orders")
    def list_release_orders(limit: Limit = 50, offset: Offset = 0) -> list[ReleaseOrderOut]:
        return [ReleaseOrderOut.model_validate(r) for r in central.list_release_orders(limit, offset)]

    @app.get("/api/v1/passes")
    def list_passes(
        limit: Limit = 50, offset: Offset = 0, plate: str | None = None, node: str | None = None
    ) -> Page[PassOut]:
        total, rows = central.list_passes(limit, offset, plate=plate, node=node)
        return Page(total=total, limit=limit, offset=offset, items=[PassOut.model_validate(r) for r in rows])

    @app.get("/api/v1/changes")
    def list_changes(after: Offset = 0, limit: Limit = 500) -> ChangeBatch:
        return central.changes_after(after, limit)

    @app.get("/api/v1/nodes")
    def list_nodes() -> list[NodeOut]:
        return [NodeOut.model_validate(n) for n in central.list_nodes()]

    return app
