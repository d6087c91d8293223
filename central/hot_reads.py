"""The three busiest reads — the pass list, the release-order list and a release order — as
functions from the validated request to the encoded JSON answer, used twice:

- by their FastAPI routes (which publish them in the OpenAPI document and answer every refusal);
- by the read cache on a miss (`match`), without FastAPI's routing, dependency solving and
  parameter handling: on this two-core machine those cost about as much as the query itself
  (~1.5 ms of a ~4 ms miss, measured with py-spy). Only a request the route would answer 200 with
  the same body is taken this way: well-formed parameters within the route's bounds (checked with
  the route's own `Limit`/`Offset` types), no NUL anywhere, no repeated parameter, an order that
  exists. Anything else goes on to the route, which gives its usual answer or problem.

tests/central/test_hot_reads.py checks that both ways give byte-identical answers.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TypeVar
from urllib.parse import parse_qsl

from pydantic import BaseModel, ConfigDict, ValidationError

from kakou.central import ingest, orders
from kakou.central.routes.deps import Limit, Offset, encoded_bytes
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


# The routes' query parameters (routes/sync.py, routes/orders.py); unknown ones are ignored, as there.
class _NoQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")


Q = TypeVar("Q", bound=_NoQuery)


class _PassQuery(_NoQuery):
    limit: Limit = 50
    offset: Offset = 0
    plate: str | None = None
    node: str | None = None


class _OrderQuery(_NoQuery):
    limit: Limit = 50
    offset: Offset = 0
    plate: str | None = None
    status: str | None = None


def _query(raw: bytes, model: type[Q]) -> Q | None:
    if b"%00" in raw:
        return None
    try:
        pairs = parse_qsl(raw.decode("ascii"), keep_blank_values=True, errors="strict")
    except (UnicodeError, ValueError):
        return None
    names = [k for k, _ in pairs]
    if len(set(names)) != len(names) or any("\x00" in k + v for k, v in pairs):
        return None
    try:
        return model.model_validate(dict(pairs))
    except ValidationError:
        return None


_ORDER = re.compile(r"/api/v1/release-orders/([^/\x00]+)")


def match(path: str, query_string: bytes) -> Callable[[Central], bytes] | None:
    """The read for a GET of `path`?`query_string` when it may skip the route, else None. The
    read raises NotFound for an order that does not exist (the route then answers the 404)."""
    if path == "/api/v1/passes":
        if (p := _query(query_string, _PassQuery)) is not None:
            return lambda c: passes_page(c, p.limit, p.offset, p.plate, p.node)
    elif path == "/api/v1/release-orders":
        if (o := _query(query_string, _OrderQuery)) is not None:
            return lambda c: release_orders_page(c, o.limit, o.offset, o.plate, o.status)
    elif (found := _ORDER.fullmatch(path)) and _query(query_string, _NoQuery) is not None:
        return lambda c: release_order(c, found.group(1))
    return None
