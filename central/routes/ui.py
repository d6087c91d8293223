"""The central console (`/console`) and the field-staff page (`/field`): static files shipped in
the package (no CDN). Assets are served from a fixed list read at start-up, never from a path
the request builds."""

from __future__ import annotations

import mimetypes
from functools import cache
from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse, RedirectResponse, Response

from kakou.sync import rates
from kakou.sync.checks import texts_script
from kakou.webpages import terms_script

STATIC = Path(__file__).resolve().parent.parent / "static"
# The helpers and styles are shared with the lane screen and ship once, in kakou.edge: `edge/` in
# the source tree, `kakou/edge/` when installed; both sit beside central's own folder.
SHARED = Path(__file__).resolve().parents[2] / "edge" / "static"


def _assets() -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder, names in ((SHARED, ("kakou-ui.js", "kakou.css")), (STATIC, None)):
        if folder.is_dir():
            found.update({p.name: p for p in folder.iterdir() if p.is_file() and (names is None or p.name in names)})
    return found


ASSETS = _assets()
NO_CACHE = {"Cache-Control": "no-cache"}

router = APIRouter(include_in_schema=False)


def _page(name: str) -> FileResponse:
    if name not in ASSETS:
        raise HTTPException(404, f"{name} is not installed")
    return FileResponse(ASSETS[name], headers=NO_CACHE)


@router.get("/")
def root() -> RedirectResponse:
    return RedirectResponse("/console")


@router.get("/console")
def console() -> FileResponse:
    return _page("console.html")


@router.get("/field")
def field() -> FileResponse:
    return _page("field.html")


@router.get("/ui/check-texts.js")
def check_texts() -> Response:
    """The texts of every check code, generated from kakou.sync.checks.TEXTS (one source with the
    server's own rendering)."""
    return Response(
        texts_script() + rates.terms_script(), media_type="text/javascript; charset=utf-8", headers=NO_CACHE
    )


@cache
def _terms(page: str) -> str:
    return terms_script((SHARED / "terms.toml", "common"), (STATIC / "terms.toml", page))


@router.get("/ui/console-terms.js")
def console_terms() -> Response:
    """The console's words, generated from the terms files ([common] with [console] over it)."""
    return Response(_terms("console"), media_type="text/javascript; charset=utf-8", headers=NO_CACHE)


@router.get("/ui/field-terms.js")
def field_terms() -> Response:
    """The field page's words, generated from the terms files ([common] with [field] over it)."""
    return Response(_terms("field"), media_type="text/javascript; charset=utf-8", headers=NO_CACHE)


@router.get("/ui/{name}")
def asset(name: str) -> FileResponse:
    path = ASSETS.get(name)
    if path is None:
        raise HTTPException(404, f"no UI asset {name}")
    return FileResponse(path, media_type=mimetypes.guess_type(name)[0], headers=NO_CACHE)
