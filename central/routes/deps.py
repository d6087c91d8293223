"""Shared route dependencies and query parameter types."""

from __future__ import annotations

from functools import cache
from typing import Annotated, Any

from fastapi import Depends, Request, Response
from pydantic import TypeAdapter

from kakou.central.list_queries import Limit, Offset  # noqa: F401  (the routes' paging types)
from kakou.central.service import Central


async def get_central(request: Request) -> Central:  # async: a sync dependency costs a thread hop
    return request.app.state.central


CentralDep = Annotated[Central, Depends(get_central)]
Responses = dict[int | str, dict[str, Any]]  # a route's extra OpenAPI responses, as FastAPI types them


def review_refusals(same_person: str, not_awaiting: str = "not awaiting review") -> Responses:
    """A review route's documented refusals: 403 when the reviewer is who asked for it (four eyes),
    409 when the record is not in a state to review."""
    return {403: {"description": same_person}, 409: {"description": not_awaiting}}


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
