"""Running a service's parts together: when one ends (or fails), all stop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any, Self

log = logging.getLogger(__name__)
STOP_GRACE_S = 5.0  # how long a cancelled part may take to stop before it is cancelled again


class StartStop:
    """A part used as `async with part:`, which calls its start() on the way in and stop() on the way out."""

    async def start(self) -> None:
        raise NotImplementedError

    async def stop(self) -> None:
        raise NotImplementedError

    async def __aenter__(self) -> Self:
        await self.start()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.stop()


async def run_together(parts: dict[str, Coroutine[Any, Any, Any]], on_stop: Callable[[], None]) -> None:
    """Run each part as a named task until the first one ends, and re-raise its error if it failed.

    On the way out `on_stop` runs first (e.g. tell the HTTP server and event streams to finish), then
    every task is cancelled and awaited, so nothing outlives the service.
    """
    tasks = [asyncio.create_task(coro, name=name) for name, coro in parts.items()]
    try:
        done, _ = await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        for t in done:
            t.result()
    finally:
        on_stop()
        for t in tasks:
            t.cancel()
        # A part that swallowed its cancellation (a cancel landing exactly as an inner timeout fires
        # is turned into TimeoutError by asyncio on Python 3.11) is named and cancelled again
        # rather than holding the whole service up.
        pending = set(tasks)
        for _ in range(3):
            _, pending = await asyncio.wait(pending, timeout=STOP_GRACE_S)
            if not pending:
                break
            for t in pending:
                log.warning("%s did not stop when cancelled; cancelling it again", t.get_name())
                t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)


async def first_of(
    *aws: Awaitable[Any], timeout: float | None = None, on_stop: Callable[[], None] | None = None
) -> list[asyncio.Future[Any]]:
    """Wait until the first of `aws` finishes (or `timeout` passes), then cancel the others and wait
    for them to end, also when we are cancelled ourselves, so that none outlives the wait.

    `on_stop` runs first on the way out: e.g. set an event that ends a poll loop, because on Python
    3.11 a cancellation landing as an inner `asyncio.wait_for` completes is lost, and the loop
    would go on. Returns the futures in the order given: the one that finished is `done()` and not
    `cancelled()` (more than one can be, when they finish together).
    """
    futures: list[asyncio.Future[Any]] = [asyncio.ensure_future(a) for a in aws]
    try:
        await asyncio.wait(futures, timeout=timeout, return_when=asyncio.FIRST_COMPLETED)
    finally:
        if on_stop is not None:
            on_stop()
        for f in futures:
            f.cancel()
        await asyncio.gather(*futures, return_exceptions=True)
    return futures


def finished(future: asyncio.Future[Any]) -> bool:
    """True if `future` (from `first_of`) finished by itself, with a result or an error, rather than
    being cancelled."""
    return future.done() and not future.cancelled()
