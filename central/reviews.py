"""The one review service: load the record, apply its flow (kakou.central.review_model), stamp the
reviewer, run the kind's own effects (publish to the lanes, post to a ledger…) and audit, in one
unit of work. The operation modules (orders, control, risk, declarations, reconciliation,
whitelist) describe where each kind keeps its state (`Reviewed`) and call `decide`.

The model's refusals become the service's: four eyes broken → `auth.NotAllowed` (403), an illegal
transition → `Conflict` (409).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from enum import StrEnum
from typing import Any, Generic, TypeVar

from kakou.central import audit
from kakou.central.auth import NotAllowed
from kakou.central.review_model import Flow, FourEyesViolation, IllegalTransition, Step
from kakou.central.service import Central, Conflict, NotFound

R = TypeVar("R")
S = TypeVar("S", bound=StrEnum)


@contextmanager
def refusals() -> Iterator[None]:
    """The model's typed refusals as the service layer's (what the routes and the bridge map)."""
    try:
        yield
    except FourEyesViolation as exc:
        raise NotAllowed(str(exc)) from exc
    except IllegalTransition as exc:
        raise Conflict(str(exc)) from exc


def advance(
    flow: Flow[S], status: S, step: Step, actor: str, submitter: str | None = None, subject: str = "", what: str = ""
) -> S:
    """One step of a flow, refused as the service layer refuses."""
    with refusals():
        return flow.step(status, step, actor, submitter, subject, what)


class _Columns(dict[str, Any]):
    """A row's columns by name, for `str.format_map`."""

    def __init__(self, row: Any) -> None:
        super().__init__()
        self.row = row

    def __missing__(self, name: str) -> Any:
        return getattr(self.row, name)


@dataclass(frozen=True)
class Reviewed(Generic[R, S]):
    """Where one kind of record keeps what its review needs."""

    row: type[R]
    noun: str  # "release order": in "no release order X" and the refusals
    flow: Flow[S]
    submitter: str  # the column naming who submitted it
    target: str  # the audit target, from the row's columns: "release_order:{order_no}"
    actions: str | tuple[str, str]  # the audit actions (approved, rejected), or their prefix: "release_order"
    column: str | None = "status"  # where the status is stored; None: derived (`derive`), kept by the effects
    derive: Callable[[R], S] | None = None
    pick: Callable[[R], Flow[S]] | None = None  # a flow that depends on the record (emergency control orders)
    stamp: bool = True  # reviewed_by, reviewed_at, review_note
    what: str = ""  # the record in a four-eyes refusal, from its columns (default: the flow's words)
    gone: str = ""  # the column flagging a deleted row, which reads as missing

    def audited(self, row: R, approve: bool) -> tuple[str, str]:
        """The audit action and target of a decision."""
        approved, rejected = (
            (f"{self.actions}.approve", f"{self.actions}.reject") if isinstance(self.actions, str) else self.actions
        )
        return approved if approve else rejected, self.target.format_map(_Columns(row))

    def status(self, row: R) -> S:
        if self.derive is not None:
            return self.derive(row)
        return type(self.flow.submitted)(getattr(row, self.column or "status"))


# The effects of a decision, after the status and the reviewer are set: may refuse (Conflict, the
# whole unit of work rolls back) and return extra audit detail.
Effects = Callable[[audit.Work, R, S, bool], dict[str, Any] | None]


def decide(
    c: Central,
    actor: str,
    how: Reviewed[R, S],
    key: Any,
    approve: bool,
    note: str = "",
    *,
    now: datetime | None = None,
    effects: Effects[R, S] | None = None,
    after: Callable[[audit.Work, R], None] | None = None,
    label: str = "",
) -> R:
    """Approve or reject one record: load → transition → stamp → effects → audit → `after`.
    `label` names the record in the refusals (default: noun and key)."""
    now = now or datetime.now(UTC)
    label = label or f"{how.noun} {key}"
    with audit.write(c, actor) as w:
        row = w.session.get(how.row, key)
        if row is None or (how.gone and getattr(row, how.gone)):
            raise NotFound(f"no {label}")
        new = review(how, row, approve, actor, label)
        if how.column is not None:
            setattr(row, how.column, new.value)
        if how.stamp:
            row.reviewed_by, row.reviewed_at, row.review_note = actor, now, note  # type: ignore[attr-defined]
        detail = (effects(w, row, new, approve) if effects else None) or {}
        w.audit(*how.audited(row, approve), {**detail, "note": note})
        if after is not None:
            after(w, row)
    return row


def review(how: Reviewed[R, S], row: R, approve: bool, actor: str, label: str) -> S:
    """The status the record's flow gives it, or the service layer's refusal."""
    flow = how.pick(row) if how.pick else how.flow
    with refusals():
        return flow.review(
            how.status(row), approve, actor, getattr(row, how.submitter), label, how.what.format_map(_Columns(row))
        )
