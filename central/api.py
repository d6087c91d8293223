"""Central REST API under /api/v1: the app, error format (RFC 9457) and the routers."""

from __future__ import annotations

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

import kakou
from kakou.central import changelog
from kakou.central.routes import routers
from kakou.central.service import Central

PROBLEM = "application/problem+json"


def problem(status: int, title: str, detail: str | None = None, **extra: object) -> JSONResponse:
    """RFC 9457 problem details."""
    body: dict[str, object] = {"type": "about:blank", "title": title, "status": status}
    if detail:
        body["detail"] = detail
    body.update(extra)
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


def create_app(central: Central) -> FastAPI:
    app = FastAPI(title="kakou central", version=kakou.__version__, openapi_url="/api/v1/openapi.json")
    app.state.central = central

    @app.exception_handler(RequestValidationError)
    async def _invalid(_req: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
        return problem(422, "Invalid request", "see errors", errors=errors)

    @app.exception_handler(StarletteHTTPException)
    async def _http(_req: Request, exc: StarletteHTTPException) -> JSONResponse:
        return problem(exc.status_code, str(exc.detail))

    @app.get("/api/v1/health", tags=["health"])
    def health() -> dict[str, object]:
        return {"status": "ok", "knowledge_version": changelog.latest_version(central)}

    for router in routers():
        app.include_router(router)
    return app
