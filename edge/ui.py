"""The lane touch screen: static files shipped in the package (no CDN), served by the edge node."""

from __future__ import annotations

from pathlib import Path

from fastapi import FastAPI
from fastapi.responses import FileResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles

from kakou.sync.checks import texts_script

STATIC = Path(__file__).parent / "static"


def mount_ui(app: FastAPI) -> None:
    """`/` and `/lane` serve the lane screen; its assets live under `/static/`."""

    @app.get("/", include_in_schema=False)
    def root() -> RedirectResponse:
        return RedirectResponse("/lane")

    @app.get("/lane", include_in_schema=False)
    def lane_screen() -> FileResponse:
        return FileResponse(STATIC / "lane.html", headers={"Cache-Control": "no-cache"})

    @app.get("/static/check-texts.js", include_in_schema=False)
    def check_texts() -> Response:
        """The texts of every check code, generated from kakou.sync.checks.TEXTS (one source)."""
        return Response(texts_script(), media_type="text/javascript; charset=utf-8",
                        headers={"Cache-Control": "no-cache"})

    app.mount("/static", StaticFiles(directory=STATIC), name="static")
