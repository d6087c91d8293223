"""Shared route dependencies and query parameter types."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Query, Request

from kakou.central.service import Central

Limit = Annotated[int, Query(ge=1, le=500)]
Offset = Annotated[int, Query(ge=0, le=2**31 - 1)]  # bounded: databases store 32/64-bit integers


async def get_central(request: Request) -> Central:  # async: a sync dependency costs a thread hop
    return request.app.state.central


CentralDep = Annotated[Central, Depends(get_central)]
