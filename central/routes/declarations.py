"""Declarations (报关单) and inventory lists (核注清单): create, import, match, unmatch."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Body, Query
from fastapi.responses import JSONResponse

from kakou.central import declarations as decl
from kakou.central.declarations import DeclarationIn, ImportResult
from kakou.central.list_queries import DeclarationQuery
from kakou.central.routes.deps import CentralDep, Responses, review_refusals
from kakou.central.routes.security import AnyUser, Officer, Reviewer, RowId, domain_errors
from kakou.central.schemas import DeclarationOut, MatchIn, Page, ReviewIn, page_of

router = APIRouter(prefix="/api/v1/declarations", tags=["declarations"])
REJECTED: Responses = {422: {"description": "row-level errors; nothing imported"}}


@router.post("", status_code=201)
def create(body: DeclarationIn, central: CentralDep, me: Officer) -> DeclarationOut:
    with domain_errors():
        return DeclarationOut.model_validate(decl.create(central, me.username, body))


@router.get("")
def list_docs(central: CentralDep, _me: AnyUser, q: Annotated[DeclarationQuery, Query()]) -> Page[DeclarationOut]:
    return page_of(DeclarationOut, q, decl.list_docs(central, q))


@router.post("/import/csv", response_model=ImportResult, responses=REJECTED)
def import_csv(
    central: CentralDep,
    me: Officer,
    text: Annotated[str, Body(media_type="text/csv", description="CSV with a header row")],
) -> ImportResult | JSONResponse:
    """All or nothing: any bad row → 422 listing every bad row and field, nothing stored."""
    docs, errors = decl.parse_csv(text)
    return _result(decl.import_docs(central, me.username, docs, errors))


@router.post("/import/xlsx", response_model=ImportResult, responses=REJECTED)
def import_xlsx(
    central: CentralDep,
    me: Officer,
    data: Annotated[bytes, Body(media_type=decl.XLSX, description="the CSV template as an .xlsx sheet")],
) -> ImportResult | JSONResponse:
    """Excel template (first sheet, header row as in the CSV); all or nothing, like the CSV import."""
    docs, errors = decl.parse_xlsx(data)
    return _result(decl.import_docs(central, me.username, docs, errors))


@router.post("/import/json", response_model=ImportResult, responses=REJECTED)
def import_json(rows: list[dict[str, Any]], central: CentralDep, me: Officer) -> ImportResult | JSONResponse:
    from pydantic import ValidationError

    docs, errors = [], []
    for n, raw in enumerate(rows, start=1):
        try:
            docs.append(DeclarationIn.model_validate(raw))
        except ValidationError as exc:
            errors += [
                decl.RowError(row=n, field=".".join(map(str, e["loc"])) or None, message=e["msg"]) for e in exc.errors()
            ]
    return _result(decl.import_docs(central, me.username, docs, errors))


def _result(r: ImportResult) -> ImportResult | JSONResponse:
    if r.errors:  # RFC 9457 problem with the row errors as an extension member
        return JSONResponse(
            {
                "type": "about:blank",
                "title": "Import rejected",
                "status": 422,
                "detail": f"{len(r.errors)} problems; nothing was imported",
                "errors": [e.model_dump() for e in r.errors],
            },
            status_code=422,
            media_type="application/problem+json",
        )
    return r


@router.get("/{decl_id}")
def get(decl_id: RowId, central: CentralDep, _me: AnyUser) -> DeclarationOut:
    with domain_errors():
        return DeclarationOut.model_validate(decl.get(central, decl_id))


@router.post(
    "/{decl_id}/review",
    responses=review_refusals("the reviewer prepared the document"),
)
def review(decl_id: RowId, body: ReviewIn, central: CentralDep, me: Reviewer) -> DeclarationOut:
    """Approve (the document counts: an official one posts to its ledger) or reject a document;
    the reviewer is never its preparer."""
    with domain_errors():
        return DeclarationOut.model_validate(decl.review(central, me.username, decl_id, body.approve, body.note))


@router.get("/{decl_id}/diff")
def overwrite_diff(decl_id: RowId, central: CentralDep, _me: AnyUser) -> dict[str, Any]:
    """What the official record overwrote on its matched draft: {fields: {name: {draft, official}}}."""
    with domain_errors():
        return decl.diff(central, decl_id)


@router.get("/{decl_id}/match")
def explain_match(decl_id: RowId, central: CentralDep, _me: AnyUser) -> dict[str, Any]:
    with domain_errors():
        return decl.explain_match(central, decl_id)


@router.post(
    "/match",
    status_code=204,
    description="Propose a manual match; it holds both documents "
    "(rule `manual_pending`) until another officer approves it: `POST /{id}/match/review`.",
)
def match(body: MatchIn, central: CentralDep, me: Officer) -> None:
    with domain_errors():
        decl.match(central, me.username, body.draft_id, body.official_id)


@router.post(
    "/{decl_id}/match/review",
    responses=review_refusals("the reviewer proposed the match", "no manual match awaits review"),
)
def review_match(decl_id: RowId, body: ReviewIn, central: CentralDep, me: Reviewer) -> DeclarationOut:
    """Approve (rule `manual`) or reject (both unmatched) a manual match another officer proposed."""
    with domain_errors():
        return DeclarationOut.model_validate(decl.review_match(central, me.username, decl_id, body.approve, body.note))


@router.post("/{decl_id}/unmatch", status_code=204)
def unmatch(decl_id: RowId, central: CentralDep, me: Officer) -> None:
    with domain_errors():
        decl.unmatch(central, me.username, decl_id)


@router.post("/{decl_id}/rematch")
def rematch(decl_id: RowId, central: CentralDep, me: Officer) -> DeclarationOut:
    with domain_errors():
        return DeclarationOut.model_validate(decl.rematch(central, me.username, decl_id))


@router.delete("/{decl_id}", status_code=204)
def delete(decl_id: RowId, central: CentralDep, me: Officer) -> None:
    """Flag deleted; never removed."""
    with domain_errors():
        decl.delete(central, me.username, decl_id)
