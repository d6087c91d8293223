"""Running a service's parts together: when one ends (or fails), all stop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any


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
        await asyncio.gather(*tasks, return_exceptions=True)
