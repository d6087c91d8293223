"""The lane touch screen: static files shipped in the package (no CDN), served by the edge node."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI, Request
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from kakou.edge import read_access
from kakou.sync.checks import texts_script
from kakou.webpages import terms_script

STATIC = Path(__file__).parent / "static"
TERMS = STATIC / "terms.toml"


def mount_ui(app: FastAPI) -> None:
    """`/` and `/lane` serve the lane screen; its assets live under `/static/`."""

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/lane")

    @app.get("/lane", include_in_schema=False)
    def lane_screen(request: Request, key: str | None = None) -> Response:
        if key is not None and read_access.is_key(key, request.app.state.read_key):
            # The lane's own screen, opened once with the node's read key: a cookie from now on, and
            # the key out of the address bar (and out of the history).
            resp = RedirectResponse("/lane", status_code=303)
            resp.set_cookie(
                read_access.LANE_COOKIE, key, httponly=True, samesite="strict", max_age=10 * 365 * 24 * 3600
            )
            return resp
        return FileResponse(STATIC / "lane.html", headers={"Cache-Control": "no-cache"})

    @app.get("/static/check-texts.js", include_in_schema=False)
    def check_texts() -> Response:
        """The texts of every check code, generated from kakou.sync.checks.TEXTS (one source)."""
        return Response(
            texts_script(), media_type="text/javascript; charset=utf-8", headers={"Cache-Control": "no-cache"}
        )

    lane_terms = terms_script((TERMS, "common"), (TERMS, "lane"))

    @app.get("/static/lane-terms.js", include_in_schema=False)
    def lane_terms_script() -> Response:
        """The lane screen's words, generated from terms.toml ([common] with [lane] over it)."""
        return Response(lane_terms, media_type="text/javascript; charset=utf-8", headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
