"""The three busiest reads — the pass list, the release-order list and a release order — as
functions from the validated request to the encoded JSON answer, used twice:

- by their FastAPI routes (which publish them in the OpenAPI document and answer every refusal);
- by the read cache on a miss (`match`), without FastAPI's routing, dependency solving and
  parameter handling: on this two-core machine those cost about as much as the query itself
  (~1.5 ms of a ~4 ms miss, measured with py-spy). Only a request the route would answer 200 with
  the same body is taken this way: well-formed parameters within the route's bounds (checked with
  the query model the route itself takes, `list_queries`), no parameter the model does not know,
  no NUL anywhere, no repeated parameter, an order that exists. Anything else goes on to the
  route, which gives its usual answer or problem.

`READS` is the one table of them: path, query model, read, and the tables the answer comes from
(the read cache's invalidation).

tests/central/test_hot_reads.py checks that both ways give byte-identical answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import parse_qsl

from pydantic import BaseModel, ValidationError

from kakou.central import ingest, orders
from kakou.central.list_queries import NoQuery, PassQuery, ReleaseOrderQuery
from kakou.central.routes.deps import encoded_bytes
from kakou.central.schemas import (
    PassPage,
    ReleaseOrderItem,
    ReleaseOrderWithPasses,
)
from kakou.central.service import Central


def passes_page(c: Central, limit: int, offset: int, plate: str | None, node: str | None) -> bytes:
    # Rows as dicts of exactly PassOut's fields, serialised once (no model built per row).
    total, rows = ingest.page_passes(c, limit, offset, plate=plate, node=node)
    return encoded_bytes(PassPage, {"total": total, "limit": limit, "offset": offset, "items": rows})


def release_orders_page(c: Central, limit: int, offset: int, plate: str | None, status: str | None) -> bytes:
    return encoded_bytes(list[ReleaseOrderItem], orders.list_release_order_dicts(c, limit, offset, plate, status))


def release_order(c: Central, order_no: str) -> bytes:
    """Raises NotFound."""
    order, passes = orders.get(c, order_no)
    detail = ReleaseOrderWithPasses.model_validate({"order": order, "passes": passes})
    return encoded_bytes(ReleaseOrderWithPasses, detail)


Q = TypeVar("Q", bound=BaseModel)


@dataclass(frozen=True)
class HotRead:
    """One cached read: its path, its query model, the read, and the tables its answer comes from
    (a write to any other table leaves the cached answer good)."""

    path: re.Pattern[str]
    query: type[BaseModel]
    read: Callable[[Central, Any, tuple[str, ...]], bytes]
    tables: tuple[str, ...]


READS = (
    HotRead(
        re.compile(r"/api/v1/passes"),
        PassQuery,
        lambda c, q, _: passes_page(c, q.limit, q.offset, q.plate, q.node),
        ("passes",),
    ),
    HotRead(
        re.compile(r"/api/v1/release-orders"),
        ReleaseOrderQuery,
        lambda c, q, _: release_orders_page(c, q.limit, q.offset, q.plate, q.status),
        ("release_orders",),
    ),
    # The detail joins the order with its passes' links (orders._DETAIL), not the passes themselves.
    HotRead(
        re.compile(r"/api/v1/release-orders/([^/\x00]+)"),
        NoQuery,
        lambda c, _, found: release_order(c, found[0]),
        ("release_orders", "order_passes"),
    ),
)


def tables_of(path: str) -> tuple[str, ...]:
    """The tables the cached answer at `path` is read from."""
    return next((r.tables for r in READS if r.path.fullmatch(path)), ())


def _query(raw: bytes, model: type[Q]) -> Q | None:
    """The query as `model`, or None when the route might answer otherwise: a parameter the model
    does not know (the route would ignore it; a filter added to the route but not here must not be
    silently dropped), a repeated one, a NUL, or a value out of bounds."""
    if b"%00" in raw:
        return None
    try:
        pairs = parse_qsl(raw.decode("ascii"), keep_blank_values=True, errors="strict")
    except (UnicodeError, ValueError):
        return None
    names = [k for k, _ in pairs]
    if len(set(names)) != len(names) or any("\x00" in k + v for k, v in pairs):
        return None
    if not set(names) <= set(model.model_fields):
        return None
    try:
        return model.model_validate(dict(pairs))
    except ValidationError:
        return None


def match(path: str, query_string: bytes) -> Callable[[Central], bytes] | None:
    """The read for a GET of `path`?`query_string` when it may skip the route, else None. The
    read raises NotFound for an order that does not exist (the route then answers the 404)."""
    for hot in READS:
        if (found := hot.path.fullmatch(path)) and (q := _query(query_string, hot.query)) is not None:
            return lambda c: hot.read(c, q, found.groups())
    return None
