"""Running a service's parts together: when one ends (or fails), all stop."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable, Coroutine
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
