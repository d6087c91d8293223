"""Declarations (报关单) and inventory lists (核注清单), drafts and officials.

Matching a draft with its official is deterministic, tried in this order, and only ever takes a
*unique* unmatched candidate (two candidates is ambiguous: left to an officer):
1. same list number; 2. same unified number; 3. same direction + trade mode + item count +
total quantity + total amount (unless both carry different list or unified numbers).
Officers can match and unmatch by hand; a manual match holds until another officer approves it.

A match overwrites the draft's key fields with the official record's (003 L534), keeping what changed
as `overwrite_diff` (unmatching restores the draft). A document counts — an official one posts to its
ledger — only once another officer approved it (`review`; 003 L78: reviewer ≠ preparer).
"""

from __future__ import annotations

import copy
import csv
import io
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import select

from kakou.central import audit, ledgers, reviews, risk_eval
from kakou.central.db import page, where_given
from kakou.central.list_queries import DeclarationQuery
from kakou.central.review_model import DECLARATION, MANUAL_MATCH, DocumentStatus, MatchRule, RequestStatus, Step
from kakou.central.reviews import Reviewed
from kakou.central.service import Central, Conflict, NotFound, fetch, row_or_missing
from kakou.central.tables import DeclarationRow


class DeclItem(BaseModel):
    model_config = ConfigDict(extra="forbid")

    item_no: str = Field(min_length=1, max_length=40)
    quantity: float = Field(ge=0)
    amount: float = Field(0.0, ge=0)
    hs_code: str | None = Field(None, pattern=r"^\d{4,10}$")
    unit: str | None = Field(None, max_length=8)  # when given, must be the ledger item's unit


class DeclarationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    doc_type: Literal["declaration", "inventory_list"]
    stage: Literal["draft", "official"]
    doc_no: str = Field(min_length=1, max_length=40)
    list_no: str | None = Field(None, max_length=40)
    unified_no: str | None = Field(None, max_length=40)
    direction: Literal["in", "out"]
    trade_mode: str = Field(min_length=1, max_length=8)
    item_count: int = Field(ge=0, le=100_000)  # bounded: stored in a 32-bit column (PostgreSQL refused junk)
    total_quantity: float = Field(ge=0)
    total_amount: float = Field(ge=0)
    ledger_no: str | None = Field(None, max_length=40)
    items: list[DeclItem] = Field(default_factory=list)

    @model_validator(mode="after")
    def _consistent(self) -> DeclarationIn:
        if self.items:
            if len(self.items) != self.item_count:
                raise ValueError(f"item_count {self.item_count} but {len(self.items)} items")
            if abs(sum(i.quantity for i in self.items) - self.total_quantity) > 1e-6:
                raise ValueError("total_quantity is not the sum of the items' quantities")
        return self


def _amount(x: float) -> int:
    return round(x * 100)  # compare money in cents, not floats


def _differ(a: str | None, b: str | None) -> bool:
    return bool(a and b and a != b)


def _candidates(s: Any, row: DeclarationRow) -> tuple[DeclarationRow | None, str | None, str | None]:
    """(match, rule, why-not) for a row against the other stage's unmatched documents."""
    other = "official" if row.stage == "draft" else "draft"
    base = select(DeclarationRow).where(
        DeclarationRow.doc_type == row.doc_type,
        DeclarationRow.stage == other,
        DeclarationRow.matched_id.is_(None),
        DeclarationRow.deleted.is_(False),
    )
    rules: list[tuple[str, Any]] = []
    if row.list_no:
        rules.append(("list_no", base.where(DeclarationRow.list_no == row.list_no)))
    if row.unified_no:
        rules.append(("unified_no", base.where(DeclarationRow.unified_no == row.unified_no)))
    rules.append(
        (
            "composite",
            base.where(
                DeclarationRow.direction == row.direction,
                DeclarationRow.trade_mode == row.trade_mode,
                DeclarationRow.item_count == row.item_count,
            ),
        )
    )
    for rule, q in rules:
        found = list(s.scalars(q.order_by(DeclarationRow.id)))
        if rule == "composite":
            # Two numbers that are both present and differ say these are different documents.
            found = [
                f
                for f in found
                if abs(f.total_quantity - row.total_quantity) < 1e-6
                and _amount(f.total_amount) == _amount(row.total_amount)
                and not _differ(f.list_no, row.list_no)
                and not _differ(f.unified_no, row.unified_no)
            ]
        if len(found) == 1:
            return found[0], rule, None
        if len(found) > 1:
            return None, None, f"ambiguous: {len(found)} documents match by {rule}"
    return None, None, None


def _link(w: audit.Work, a: DeclarationRow, b: DeclarationRow, rule: str) -> None:
    a.matched_id, b.matched_id, a.match_rule, b.match_rule = b.id, a.id, rule, rule
    w.audit("declaration.match", f"declaration:{a.doc_no}", {"with": b.doc_no, "rule": rule})
    if rule != MatchRule.MANUAL_PENDING:
        _overwrite(w, a, b)


# A document's key fields: on a match the official record's replace the draft's. All but the items
# are single values, which a CSV import also takes as columns.
KEY_VALUES = (
    "list_no",
    "unified_no",
    "direction",
    "trade_mode",
    "item_count",
    "total_quantity",
    "total_amount",
    "ledger_no",
)
KEY_FIELDS = (*KEY_VALUES, "items")


def _overwrite(w: audit.Work, a: DeclarationRow, b: DeclarationRow) -> None:
    """The official record's key fields replace the draft's; what changed is kept on the draft."""
    draft, official = (a, b) if a.stage == "draft" else (b, a)
    diff = {
        f: {"draft": getattr(draft, f), "official": getattr(official, f)}
        for f in KEY_FIELDS
        if getattr(draft, f) != getattr(official, f)
    }
    for f in diff:
        setattr(draft, f, copy.deepcopy(getattr(official, f)))
    draft.overwrite_diff = diff
    if diff:
        w.audit("declaration.overwrite", f"declaration:{draft.doc_no}", {"official": official.doc_no, "diff": diff})


def _restore(w: audit.Work, a: DeclarationRow, b: DeclarationRow) -> None:
    """Unmatched: the draft gets its own values back."""
    draft = a if a.stage == "draft" else b
    for f, change in (draft.overwrite_diff or {}).items():
        if f in KEY_FIELDS:
            setattr(draft, f, change["draft"])
    if draft.overwrite_diff:
        w.audit("declaration.restore", f"declaration:{draft.doc_no}", {"fields": sorted(draft.overwrite_diff)})
    draft.overwrite_diff = None


def _store(w: audit.Work, d: DeclarationIn) -> DeclarationRow:
    s = w.session
    if (
        s.scalar(
            select(DeclarationRow.id).where(
                DeclarationRow.doc_type == d.doc_type,
                DeclarationRow.stage == d.stage,
                DeclarationRow.doc_no == d.doc_no,
            )
        )
        is not None
    ):
        raise Conflict(f"{d.stage} {d.doc_type} {d.doc_no} already exists")
    check_ledger(s, d)
    row = DeclarationRow(
        **d.model_dump(exclude={"items"}),
        items=[i.model_dump(exclude_none=True) for i in d.items],
        created_by=w.actor,
        review_status=DECLARATION.submitted.value,
    )
    s.add(row)
    s.flush()
    w.audit("declaration.create", f"declaration:{d.doc_no}", d.model_dump(mode="json"))
    match, rule, _why = _candidates(s, row)
    if match is not None and rule is not None:
        _link(w, row, match, rule)
    risk_eval.refresh_for_documents(w, [row.doc_no])  # the verdicts of orders linking it (long storage)
    return row


def check_ledger(s: Any, d: DeclarationIn) -> None:
    """A document on a ledger must be able to post: its items on the ledger, in the ledger's units,
    under a trade mode configured for them (ValueError says which line)."""
    if d.ledger_no and d.items:
        ledgers.planned_movements(s, d.ledger_no, d.trade_mode, d.direction, [i.model_dump() for i in d.items])


_TARGET = "declaration:{doc_no}"


DOCUMENT_REVIEW = Reviewed(
    DeclarationRow,
    "document",
    DECLARATION,
    "created_by",
    _TARGET,
    "declaration",
    column="review_status",
    what="{doc_type} {doc_no}",
    gone="deleted",
)


def _post(w: audit.Work, row: DeclarationRow) -> None:
    """Approved, an official document posts to its ledger, backed by a gate pass already on file."""
    if row.review_status == DocumentStatus.APPROVED and ledgers.post_declaration(w, row):
        ledgers.gate_if_passed(w, row)


def review(c: Central, actor: str, decl_id: int, approve: bool, note: str = "") -> DeclarationRow:
    """Another officer approves (it counts: an official document posts to its ledger, backed by a
    gate pass already on file) or rejects a document."""
    return reviews.decide(c, actor, DOCUMENT_REVIEW, decl_id, approve, note, after=_post)


def diff(c: Central, decl_id: int) -> dict[str, Any]:
    """What the official record changed on a matched draft (either document's id)."""
    with c.sessions() as s:
        row = row_or_missing(s, DeclarationRow, decl_id, "document")
        draft = row if row.stage == "draft" else (s.get(DeclarationRow, row.matched_id) if row.matched_id else None)
        if draft is None or draft.matched_id is None:
            return {"draft_id": None, "official_id": None, "fields": {}}
        return {"draft_id": draft.id, "official_id": draft.matched_id, "fields": draft.overwrite_diff or {}}


def create(c: Central, actor: str, d: DeclarationIn) -> DeclarationRow:
    with audit.write(c, actor) as w:
        return _store(w, d)


def _match_request(row: DeclarationRow) -> RequestStatus:
    pending = row.match_rule == MatchRule.MANUAL_PENDING and row.matched_id is not None
    return RequestStatus.PENDING if pending else RequestStatus.NONE


def match(c: Central, actor: str, id_a: int, id_b: int) -> None:
    """Propose a manual match: the pair is held (`manual_pending`, no automatic rule takes either)
    until another officer approves it (`review_match`)."""
    with audit.write(c, actor) as w:
        a, b = _get(w, id_a), _get(w, id_b)
        if a.stage == b.stage or a.doc_type != b.doc_type:
            raise ValueError("match a draft with an official of the same document type")
        # A document already matched (by a rule, or by hand) takes no new proposal: unmatch first.
        matched = RequestStatus.NONE if a.matched_id is None and b.matched_id is None else RequestStatus.PENDING
        reviews.advance(MANUAL_MATCH, matched, Step.SUBMIT, actor, subject="one of them")
        _link(w, a, b, MatchRule.MANUAL_PENDING.value)
        a.match_by = b.match_by = actor
        a.match_proposed_at = b.match_proposed_at = datetime.now(UTC)
        a.match_reviewed_by = b.match_reviewed_by = None


MATCH_REVIEW = Reviewed(
    DeclarationRow,
    "document",
    MANUAL_MATCH,
    "match_by",
    _TARGET,
    ("declaration.match_approve", "declaration.match_reject"),
    column=None,
    derive=_match_request,
    stamp=False,  # the pair keeps its reviewer as match_reviewed_by
    gone="deleted",
)


def _settle_match(w: audit.Work, a: DeclarationRow, _status: RequestStatus, approve: bool) -> dict[str, Any]:
    """Approved: the pair is matched (rule `manual`), the official's key fields on the draft;
    rejected: both documents unmatched."""
    b = _get(w, a.matched_id)  # type: ignore[arg-type]
    if approve:
        a.match_rule = b.match_rule = MatchRule.MANUAL.value
        a.match_reviewed_by = b.match_reviewed_by = w.actor
        _overwrite(w, a, b)
    else:
        a.matched_id = b.matched_id = None
        a.match_rule = b.match_rule = a.match_by = b.match_by = a.match_proposed_at = b.match_proposed_at = None
    return {"with": b.doc_no}


def review_match(c: Central, actor: str, decl_id: int, approve: bool, note: str = "") -> DeclarationRow:
    """Approve a proposed manual match (rule `manual`) or reject it (both documents unmatched)."""
    return reviews.decide(c, actor, MATCH_REVIEW, decl_id, approve, note, effects=_settle_match)


def unmatch(c: Central, actor: str, decl_id: int) -> None:
    with audit.write(c, actor) as w:
        a = _get(w, decl_id)
        if a.matched_id is None:
            raise Conflict(f"document {decl_id} is not matched")
        b = _get(w, a.matched_id)
        _restore(w, a, b)
        a.matched_id = b.matched_id = None
        a.match_rule = b.match_rule = a.match_by = b.match_by = a.match_reviewed_by = b.match_reviewed_by = None
        a.match_proposed_at = b.match_proposed_at = None
        w.audit("declaration.unmatch", f"declaration:{a.doc_no}", {"with": b.doc_no})


def explain_match(c: Central, decl_id: int) -> dict[str, Any]:
    """What automatic matching would do now for this document, and why."""
    with c.sessions() as s:
        row = row_or_missing(s, DeclarationRow, decl_id, "document")
        if row.matched_id is not None:
            return {"matched_id": row.matched_id, "rule": row.match_rule}
        m, rule, why = _candidates(s, row)
        return {"matched_id": m.id if m else None, "rule": rule, "why_not": why or (None if m else "no candidate")}


def rematch(c: Central, actor: str, decl_id: int) -> DeclarationRow:
    with audit.write(c, actor) as w:
        row = _get(w, decl_id)
        if row.matched_id is None:
            m, rule, why = _candidates(w.session, row)
            if m is None or rule is None:
                raise Conflict(why or "no matching document")
            _link(w, row, m, rule)
        return row


def delete(c: Central, actor: str, decl_id: int) -> None:
    with audit.write(c, actor) as w:
        row = _get(w, decl_id)
        if row.matched_id is not None:
            raise Conflict("unmatch before deleting")
        row.deleted = True
        w.audit("declaration.delete", f"declaration:{row.doc_no}")
        risk_eval.refresh_for_documents(w, [row.doc_no])


def _get(w: audit.Work, decl_id: int) -> DeclarationRow:
    row = w.session.get(DeclarationRow, decl_id)
    if row is None or row.deleted:
        raise NotFound(f"no document {decl_id}")
    return row


def get(c: Central, decl_id: int) -> DeclarationRow:
    return fetch(c, DeclarationRow, decl_id, "document")


def list_docs(c: Central, q: DeclarationQuery) -> tuple[int, list[DeclarationRow]]:
    """A page of the documents not deleted, as the route's query filters them."""
    with c.sessions() as s:
        stmt = where_given(
            select(DeclarationRow).where(DeclarationRow.deleted.is_(False)),
            (DeclarationRow.doc_type, q.doc_type),
            (DeclarationRow.stage, q.stage),
            (DeclarationRow.doc_no, q.doc_no),
            (DeclarationRow.review_status, q.review_status),
        )
        if q.matched is not None:
            matched = DeclarationRow.matched_id.is_not(None) if q.matched else DeclarationRow.matched_id.is_(None)
            stmt = stmt.where(matched)
        return page(s, stmt, q.limit, q.offset, DeclarationRow.id)


# -- import -------------------------------------------------------------------------------------

CSV_COLUMNS = ["doc_type", "stage", "doc_no", *KEY_VALUES]


class RowError(BaseModel):
    row: int  # 1-based data row (the header is row 0)
    field: str | None
    message: str


class ImportResult(BaseModel):
    imported: int
    errors: list[RowError]
    matched: int = 0


def parse_csv(text: str) -> tuple[list[DeclarationIn], list[RowError]]:
    """Validate every row; the result lists each bad row and field, nothing is half-read."""
    try:
        return _parse_csv(text)
    except csv.Error as exc:  # e.g. an unterminated quote: say where, keep nothing
        return [], [RowError(row=0, field=None, message=f"not readable as CSV: {exc}")]


def _parse_csv(text: str) -> tuple[list[DeclarationIn], list[RowError]]:
    # Excel writes a BOM; newline=None reads \r, \n and \r\n line ends alike.
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff"), newline=None))
    return _validate_rows(reader.fieldnames or [], reader)


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def parse_xlsx(data: bytes) -> tuple[list[DeclarationIn], list[RowError]]:
    """The same template as the CSV one, as the first sheet of an Excel workbook."""
    import zipfile

    from openpyxl import load_workbook

    try:
        sheet = load_workbook(io.BytesIO(data), read_only=True, data_only=True).worksheets[0]
        rows = [["" if v is None else _cell(v) for v in r] for r in sheet.iter_rows(values_only=True)]
    except (zipfile.BadZipFile, KeyError, ValueError, OSError, IndexError) as exc:
        return [], [RowError(row=0, field=None, message=f"not a readable .xlsx workbook: {exc}")]
    if not rows:
        return [], [RowError(row=0, field=None, message="the first sheet is empty")]
    header = [h.strip() for h in rows[0]]
    body = [dict(zip(header, r, strict=False)) for r in rows[1:] if any(c.strip() for c in r)]
    return _validate_rows(header, body)


def _cell(v: object) -> str:
    if isinstance(v, float) and v.is_integer():
        return str(int(v))  # Excel stores every number as a float: 3.0 items is 3 items
    return str(v)


def _validate_rows(fieldnames: Sequence[str], rows: Any) -> tuple[list[DeclarationIn], list[RowError]]:
    missing = [
        c
        for c in (
            "doc_type",
            "stage",
            "doc_no",
            "direction",
            "trade_mode",
            "item_count",
            "total_quantity",
            "total_amount",
        )
        if c not in fieldnames
    ]
    if missing:
        return [], [RowError(row=0, field=None, message=f"missing columns: {', '.join(missing)}")]
    good: list[DeclarationIn] = []
    errors: list[RowError] = []
    seen: set[tuple[str, str, str]] = set()
    for n, raw in enumerate(rows, start=1):
        if None in raw:
            errors.append(RowError(row=n, field=None, message="more cells than columns"))
            continue
        data = {k: (v.strip() if isinstance(v, str) else v) or None for k, v in raw.items() if k in CSV_COLUMNS}
        try:
            d = DeclarationIn.model_validate(data)
        except ValidationError as exc:
            errors.extend(
                RowError(row=n, field=".".join(str(p) for p in e["loc"]) or None, message=e["msg"])
                for e in exc.errors()
            )
            continue
        key = (d.doc_type, d.stage, d.doc_no)
        if key in seen:
            errors.append(RowError(row=n, field="doc_no", message=f"{d.doc_no} appears twice in the file"))
            continue
        seen.add(key)
        good.append(d)
    return good, errors


def import_docs(c: Central, actor: str, docs: list[DeclarationIn], errors: list[RowError]) -> ImportResult:
    """All or nothing: with any bad row nothing is stored, so a corrected file can simply be re-sent."""
    if errors:
        return ImportResult(imported=0, errors=errors)
    with audit.write(c, actor) as w:
        row_errors = []
        for n, d in enumerate(docs, start=1):
            if (
                w.session.scalar(
                    select(DeclarationRow.id).where(
                        DeclarationRow.doc_type == d.doc_type,
                        DeclarationRow.stage == d.stage,
                        DeclarationRow.doc_no == d.doc_no,
                    )
                )
                is not None
            ):
                row_errors.append(RowError(row=n, field="doc_no", message=f"{d.doc_no} is already on file"))
            try:
                check_ledger(w.session, d)
            except ValueError as exc:
                row_errors.append(RowError(row=n, field="items", message=str(exc)))
        if row_errors:  # nothing written yet: leaving the block commits nothing
            return ImportResult(imported=0, errors=row_errors)
        rows = [_store(w, d) for d in docs]
        matched = sum(1 for r in rows if r.matched_id is not None)
        w.audit("declaration.import", f"import:{len(rows)}", {"doc_nos": [d.doc_no for d in docs]})
    return ImportResult(imported=len(rows), errors=[], matched=matched)
