"""One headless chromium per test module (each module runs its own stack on its own event loop)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest_asyncio
from playwright.async_api import Browser, expect
from ui_helpers import chromium

# Playwright's 5 s default is for a quiet desktop; CI runs the whole suite on two loaded cores, where
# a dashboard's first fetches can take longer. Assertions still wait on what the page shows.
expect.set_options(timeout=15_000)


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as b:
        yield b
