"""Helpers for the device driver tests (imported by name: tests/ is not a package)."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import aclosing
from typing import Protocol, TypeVar

T = TypeVar("T", covariant=True)


class Reader(Protocol[T]):
    def reads(self) -> AsyncIterator[T]: ...


async def collect(reader: Reader[T], n: int, timeout: float = 5.0) -> list[T]:
    """The first `n` reads of a reader driver (fewer if its stream ends), within `timeout` seconds."""
    out: list[T] = []
    async with asyncio.timeout(timeout), aclosing(reader.reads()) as reads:
        async for r in reads:
            out.append(r)
            if len(out) == n:
                return out
    return out
