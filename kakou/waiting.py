"""Wait for a condition with a deadline (instead of sleeping a fixed time and hoping)."""

from __future__ import annotations

import asyncio
import inspect
from collections.abc import Awaitable, Callable
from typing import Any, Literal, TypeVar, overload

T = TypeVar("T")


# A falsy value is never returned: a check returning `X | None` (or `X | False`) gives an X.
@overload
async def eventually(
    check: Callable[[], Awaitable[T | Literal[False] | None]],
    timeout: float = ...,
    interval: float = ...,
    what: str = ...,
) -> T: ...
@overload
async def eventually(
    check: Callable[[], T | Literal[False] | None], timeout: float = ..., interval: float = ..., what: str = ...
) -> T: ...
async def eventually(
    check: Callable[[], Any], timeout: float = 10.0, interval: float = 0.05, what: str = "condition"
) -> Any:
    """Return check()'s first truthy value; raise TimeoutError naming `what` after `timeout`s."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while True:
        value = check()
        if inspect.isawaitable(value):
            value = await value
        if value:
            return value
        if loop.time() > deadline:
            raise TimeoutError(f"timed out after {timeout}s waiting for {what}")
        await asyncio.sleep(interval)
