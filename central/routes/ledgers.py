"""报核 (ledger reconciliation) per period: trade modes, periods, stocktake import, adjustments, the
saved result with its review, and its export."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Body, HTTPException, Path, Query
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel

from kakou.central import declarations as decl
from kakou.central import ledger_rules
from kakou.central import reconciliation as rec
from kakou.central.ledger_rules import TradeModeIn
from kakou.central.reconciliation import AdjustmentIn, PeriodIn, PeriodOut, ReconciliationOut
from kakou.central.routes.deps import CentralDep, Limit, Responses, review_refusals
from kakou.central.routes.security import AnyUser, Officer, Reviewer, RowId, domain_errors
from kakou.central.schemas import ReviewIn


class StocktakeResult(BaseModel):
    imported: int


router = APIRouter(prefix="/api/v1", tags=["ledgers"])
LedgerNo = Annotated[str, Path(min_length=1, max_length=40)]
Pct = Annotated[float, Query(gt=0, le=100, description="a difference over this % of the theoretical is flagged")]
REJECTED: Responses = {
    422: {"description": "row-level errors; nothing stored"},
    409: {"description": "the period is closed"},
}


@router.get("/ledgers/trade-modes")
def list_trade_modes(central: CentralDep, _me: AnyUser) -> list[TradeModeIn]:
    """Which 报核 column each trade mode, item kind and direction lands in (defaults and changes)."""
    return ledger_rules.list_trade_modes(central)


@router.put("/ledgers/trade-modes", status_code=204)
def save_trade_mode(body: TradeModeIn, central: CentralDep, me: Officer) -> None:
    ledger_rules.save_trade_mode(central, me.username, body)


@router.post(
    "/ledgers/{ledger_no}/periods", status_code=201, responses={409: {"description": "the ledger has an open period"}}
)
def open_period(ledger_no: LedgerNo, body: PeriodIn, central: CentralDep, me: Officer) -> PeriodOut:
    """Open the next 报核 period (it starts the day after the last closed cutoff)."""
    with domain_errors():
        return PeriodOut.model_validate(rec.open_period(central, me.username, ledger_no, body))


@router.get("/ledgers/{ledger_no}/periods")
def list_periods(ledger_no: LedgerNo, central: CentralDep, _me: AnyUser) -> list[PeriodOut]:
    return [PeriodOut.model_validate(p) for p in rec.list_periods(central, ledger_no)]


def _stocktake(
    central: Any, actor: str, ledger_no: str, period_id: int, rows: list[dict[str, Any]], errors: list[decl.RowError]
) -> StocktakeResult | JSONResponse:
    with domain_errors():
        n, errs = rec.import_stocktake(central, actor, ledger_no, period_id, rows, errors)
    if errs:
        return JSONResponse(
            {
                "type": "about:blank",
                "title": "Stocktake rejected",
                "status": 422,
                "detail": f"{len(errs)} problems; nothing was stored",
                "errors": [e.model_dump() for e in errs],
            },
            status_code=422,
            media_type="application/problem+json",
        )
    return StocktakeResult(imported=n)


@router.post(
    "/ledgers/{ledger_no}/periods/{period_id}/stocktake/csv", response_model=StocktakeResult, responses=REJECTED
)
def stocktake_csv(
    ledger_no: LedgerNo,
    period_id: RowId,
    central: CentralDep,
    me: Officer,
    text: Annotated[str, Body(media_type="text/csv", description="item_no,kind,quantity,unit,counted_on")],
) -> StocktakeResult | JSONResponse:
    """Replace the period's stocktake (materials, finished and semi-finished goods); all or nothing."""
    rows, errors = rec.read_table(text.encode("utf-8"), "text/csv")
    return _stocktake(central, me.username, ledger_no, period_id, rows, errors)


@router.post(
    "/ledgers/{ledger_no}/periods/{period_id}/stocktake/xlsx", response_model=StocktakeResult, responses=REJECTED
)
def stocktake_xlsx(
    ledger_no: LedgerNo,
    period_id: RowId,
    central: CentralDep,
    me: Officer,
    data: Annotated[bytes, Body(media_type=decl.XLSX, description="the CSV template as a sheet")],
) -> StocktakeResult | JSONResponse:
    rows, errors = rec.read_table(data, decl.XLSX)
    return _stocktake(central, me.username, ledger_no, period_id, rows, errors)


@router.post("/ledgers/{ledger_no}/periods/{period_id}/stocktake", response_model=StocktakeResult, responses=REJECTED)
def stocktake_json(
    ledger_no: LedgerNo,
    period_id: RowId,
    central: CentralDep,
    me: Officer,
    rows: Annotated[list[dict[str, Any]], Body(max_length=100_000)],
) -> StocktakeResult | JSONResponse:
    return _stocktake(central, me.username, ledger_no, period_id, rows, [])


@router.post("/ledgers/{ledger_no}/periods/{period_id}/adjustments", status_code=201)
def add_adjustment(
    ledger_no: LedgerNo, period_id: RowId, body: AdjustmentIn, central: CentralDep, me: Officer
) -> dict[str, int]:
    with domain_errors():
        return {"id": rec.add_adjustment(central, me.username, ledger_no, period_id, body)}


@router.get("/ledgers/{ledger_no}/periods/{period_id}/reconciliation")
def preview(
    ledger_no: LedgerNo, period_id: RowId, central: CentralDep, _me: AnyUser, abnormal_pct: Pct = 5.0
) -> ReconciliationOut:
    """The result as it stands now (not saved)."""
    with domain_errors():
        return rec.preview(central, ledger_no, period_id, abnormal_pct)


@router.post("/ledgers/{ledger_no}/periods/{period_id}/reconciliation", status_code=201)
def prepare(
    ledger_no: LedgerNo, period_id: RowId, central: CentralDep, me: Officer, abnormal_pct: Pct = 5.0
) -> ReconciliationOut:
    """Save the result for review by another officer."""
    with domain_errors():
        return rec.prepare(central, me.username, ledger_no, period_id, abnormal_pct)


@router.get("/ledgers/{ledger_no}/reconciliations")
def list_reconciliations(ledger_no: LedgerNo, central: CentralDep, _me: AnyUser) -> list[ReconciliationOut]:
    return rec.list_for(central, ledger_no)


@router.get("/ledger-reconciliations")
def list_all_reconciliations(
    central: CentralDep,
    _me: AnyUser,
    limit: Limit = 50,
    status: Literal["pending", "approved", "rejected"] | None = None,
) -> list[ReconciliationOut]:
    """Every ledger's saved results (`status=pending`: what awaits review)."""
    return rec.list_for(central, None, status, limit)


@router.get("/ledger-reconciliations/{rec_id}")
def get_reconciliation(rec_id: RowId, central: CentralDep, _me: AnyUser) -> ReconciliationOut:
    with domain_errors():
        return rec.get(central, rec_id)


@router.post(
    "/ledger-reconciliations/{rec_id}/review",
    responses=review_refusals("the reviewer prepared it", "not awaiting review, or its movements changed"),
)
def review(rec_id: RowId, body: ReviewIn, central: CentralDep, me: Reviewer) -> ReconciliationOut:
    """Approve (closes the period; its closing carries forward) or reject (the period stays open)."""
    with domain_errors():
        return rec.review(central, me.username, rec_id, body.approve, body.note)


@router.get("/ledger-reconciliations/{rec_id}/export", responses={200: {"content": {"text/csv": {}, decl.XLSX: {}}}})
def export(rec_id: RowId, central: CentralDep, _me: AnyUser, format: Literal["csv", "xlsx"] = "csv") -> Response:
    with domain_errors():
        r = rec.get(central, rec_id)
    if r.id is None:  # pragma: no cover - a saved result always has an id
        raise HTTPException(404, "not saved")
    name = f"reconciliation-{r.id}.{format}"  # ASCII: a ledger number may not be
    if format == "xlsx":
        return Response(
            rec.export_xlsx(r), media_type=decl.XLSX, headers={"Content-Disposition": f'attachment; filename="{name}"'}
        )
    return Response(
        rec.export_csv(r),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
