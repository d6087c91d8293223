"""Shared by the browser tests: Debian's chromium (never a downloaded browser), pages that record
their script errors, central logins, and where screenshots go."""

from __future__ import annotations

import json
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "ui"


def _prepare() -> None:
    if not Path(CHROMIUM).exists():
        pytest.fail("chromium is not installed: run `make test` (deploy/setup-system.sh installs it)")
    ARTIFACTS.mkdir(parents=True, exist_ok=True)


@asynccontextmanager
async def chromium() -> AsyncIterator[Browser]:
    _prepare()
    async with async_playwright() as pw:
        b = await pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            await b.close()


async def open_page(browser: Browser, url: str, width: int, height: int) -> Page:
    ctx = await browser.new_context(viewport={"width": width, "height": height}, locale="en-GB", has_touch=width < 600)
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.errors = errors  # type: ignore[attr-defined]
    await page.goto(url)
    return page


async def login_if_asked(page: Page, user: str, password: str) -> None:
    """Central's pages ask for a login when its API answers 401."""
    dialog = page.get_by_test_id("dialog")
    # A function, not an expression: Playwright would eval() an expression in the page, which the
    # console's content security policy (script-src 'self') forbids.
    await page.wait_for_function("() => document.getElementById('dialog').open || document.body.dataset.loaded")
    if not await page.evaluate("document.getElementById('dialog').open"):
        return
    await dialog.get_by_test_id("field-username").fill(user)
    await dialog.get_by_test_id("field-password").fill(password)
    await dialog.locator("button[type=submit]").click()
    await expect(dialog).to_be_hidden()


@asynccontextmanager
async def central_api(url: str, user: str, password: str) -> AsyncIterator[httpx.AsyncClient]:
    """An API client logged in to central as `user`."""
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        r = await http.post("/api/v1/auth/login", json={"username": user, "password": password})
        r.raise_for_status()
        http.headers["Authorization"] = f"Bearer {r.json()['access_token']}"
        yield http


async def open_console(browser: Browser, url: str, section: str, user: str, password: str) -> Page:
    """The console at one screen, logged in, once that screen has loaded."""
    page = await open_page(browser, f"{url}/console?lang=en#{section}", 1440, 900)
    await login_if_asked(page, user, password)
    await expect(page.locator(f"body[data-loaded={section}]")).to_be_attached()
    return page


async def sse_events(resp: httpx.Response) -> AsyncIterator[tuple[str, dict[str, Any]]]:
    """A server-sent event stream as (event name, JSON data) pairs."""
    name = ""
    async for line in resp.aiter_lines():
        if line.startswith("event: "):
            name = line[7:]
        elif line.startswith("data: "):
            yield name, json.loads(line[6:])
