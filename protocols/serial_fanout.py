"""Hand each decoded reading to every current subscriber without letting one block the driver."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from typing import Generic, TypeVar

T = TypeVar("T")


class Fanout(Generic[T]):
    """Per-subscriber bounded queues; a slow consumer loses its oldest items, not the driver."""

    def __init__(self) -> None:
        self._queues: list[asyncio.Queue[T]] = []

    def publish(self, item: T) -> None:
        for q in self._queues:
            if q.full():
                q.get_nowait()
            q.put_nowait(item)

    @contextlib.asynccontextmanager
    async def subscription(self, maxsize: int = 256) -> AsyncIterator[asyncio.Queue[T]]:
        q: asyncio.Queue[T] = asyncio.Queue(maxsize)
        self._queues.append(q)
        try:
            yield q
        finally:
            self._queues.remove(q)

    async def items(self, maxsize: int = 256) -> AsyncIterator[T]:
        async with self.subscription(maxsize) as q:
            while True:
                yield await q.get()

    async def first(self, timeout: float, predicate: Callable[[T], bool] = lambda _: True) -> T:
        """The first item published from now on that satisfies `predicate`; TimeoutError after `timeout`."""
        async with asyncio.timeout(timeout), self.subscription() as q:
            while True:
                item = await q.get()
                if predicate(item):
                    return item
