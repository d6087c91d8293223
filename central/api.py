"""Central REST API under /api/v1: the app, error format (RFC 9457) and the routers."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from sqlalchemy.exc import DataError
from starlette.exceptions import HTTPException as StarletteHTTPException

import kakou
from kakou import webpages
from kakou.central import changelog
from kakou.central.body_limit import BodyLimit
from kakou.central.headers import SecurityHeaders
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


PROBLEM_SCHEMA: dict[str, Any] = {
    "title": "Problem",
    "type": "object",
    "description": "RFC 9457 problem details",
    "properties": {
        "type": {"type": "string"},
        "title": {"type": "string"},
        "status": {"type": "integer"},
        "detail": {"type": "string"},
        "errors": {
            "type": "array",
            "description": "invalid request: each bad field or row",
            "items": {"type": "object"},
        },
    },
    "required": ["type", "title", "status"],
}
# What any operation under /api/v1 may answer besides its success: every refusal is a problem.
PROBLEMS = {
    400: "malformed request (a body that does not parse)",
    401: "not logged in, or the token is unknown or expired",
    403: "the caller's role may not do this",
    404: "no such record",
    409: "conflicts with what is stored",
    422: "invalid request",
    429: "too many attempts (a login locked after failed passwords): see Retry-After",
    503: "a part this central process runs without (MQTT bridge, image store)",
}
WITH_BODY = {413: "request body too large", 415: "unsupported content type"}


def _document_problems(app: FastAPI) -> None:
    """Publish the problem responses in the OpenAPI document (FastAPI only knows the successes and
    its own 422 shape), so clients and schema-driven tests know every answer an operation gives."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        schema = generate()
        schema.setdefault("components", {}).setdefault("schemas", {})["Problem"] = PROBLEM_SCHEMA
        ref = {"schema": {"$ref": "#/components/schemas/Problem"}}
        for path, ops in schema.get("paths", {}).items():
            if not path.startswith("/api/v1/") or path == "/api/v1/health":
                continue
            for op in ops.values():
                responses = op.setdefault("responses", {})
                extra = PROBLEMS | (WITH_BODY if "requestBody" in op else {})
                for status, why in extra.items():
                    described = responses.get(str(status), {}).get("description")
                    responses[str(status)] = {"description": described or why, "content": {PROBLEM: ref}}
        app.openapi_schema = schema
        return schema

    app.openapi = openapi  # type: ignore[method-assign]


log = logging.getLogger(__name__)


def create_app(central: Central) -> FastAPI:
    app = FastAPI(
        title="kakou central",
        version=kakou.__version__,
        openapi_url="/api/v1/openapi.json",
        docs_url=None,
        redoc_url=None,
    )
    webpages.mount_docs(app, "/api/v1/openapi.json", "kakou central API")
    app.state.central = central

    @app.exception_handler(RequestValidationError)
    async def _invalid(_req: Request, exc: RequestValidationError) -> JSONResponse:
        errors = [{"loc": list(e["loc"]), "msg": e["msg"]} for e in exc.errors()]
        return problem(422, "Invalid request", "see errors", errors=errors)

    @app.exception_handler(DataError)
    async def _unstorable(_req: Request, exc: DataError) -> JSONResponse:
        # The last line of defence when a model lacks a bound the database has (a string longer
        # than its column, a number out of range): the caller's data, not a server fault.
        reason = str(exc.orig).splitlines()[0] if exc.orig else "value out of range"
        return problem(422, "A value does not fit what is stored", reason)

    @app.exception_handler(StarletteHTTPException)
    async def _http(req: Request, exc: StarletteHTTPException) -> Response:
        # A browser opening a page gets a page; API clients (Accept: application/json) the problem.
        if webpages.wants_html(req):
            resp: Response = webpages.error_page(exc.status_code, str(exc.detail), home="/console")
        else:
            kind = getattr(exc, "problem_type", None)
            resp = problem(exc.status_code, str(exc.detail), **({"type": kind} if kind else {}))
        resp.headers.update(exc.headers or {})  # Retry-After, WWW-Authenticate
        return resp

    @app.exception_handler(Exception)
    async def _crash(req: Request, exc: Exception) -> Response:
        # A fault of ours: logged with its traceback here, never shown raw. A browser gets the
        # error page (what to do next), an API client a problem.
        log.error("unhandled error on %s %s", req.method, req.url.path, exc_info=exc)
        if webpages.wants_html(req):
            return webpages.error_page(500, home="/console")
        return problem(500, "Internal error", "the fault is logged at central; try again or report it")

    @app.get("/api/v1/health", tags=["health"])
    def health() -> dict[str, object]:
        """Up, the knowledge version, and (when served with it) the read cache's hits and misses
        over every API process of this serve."""
        counter = getattr(app.state, "read_cache_counter", None)
        return {
            "status": "ok",
            "knowledge_version": changelog.latest_version(central),
            **({"read_cache": counter.stats()} if counter is not None else {}),
        }

    for router in routers():
        app.include_router(router)
    _document_problems(app)
    app.add_middleware(BodyLimit)  # before authentication or anything reads the body
    app.add_middleware(SecurityHeaders)  # outermost: also on BodyLimit's 413
    return app
