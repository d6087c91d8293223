"""Shared route dependencies and query parameter types."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

from fastapi import Depends, Query, Request, Response
from pydantic import TypeAdapter

from kakou.central.service import Central

Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1)]  # bounded: databases store 32/64-bit integers


async def get_central(request: Request) -> Central:  # async: a sync dependency costs a thread hop
    return request.app.state.central


CentralDep = Annotated[Central, Depends(get_central)]


class RawJSON(Response):
    """JSON already encoded by pydantic (`TypeAdapter.dump_json`, in the worker thread): FastAPI
    passes a returned Response through, so the models are not validated and encoded a second time
    on the event loop. The route keeps `response_model` for the OpenAPI document."""

    media_type = "application/json"


@cache
def _adapter(tp: Any) -> TypeAdapter[Any]:
    return TypeAdapter(tp)


def encoded_bytes(tp: Any, value: Any) -> bytes:
    """`value` (of type `tp`) as JSON."""
    return _adapter(tp).dump_json(value)
