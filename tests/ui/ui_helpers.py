"""Shared by the browser tests: Debian's chromium (never a downloaded browser), pages that record
their script errors, central logins, served apps and running stacks, and where screenshots go."""

from __future__ import annotations

import asyncio
import json
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Locator, Page, async_playwright, expect

from kakou.central import auth
from kakou.demo import DemoPorts, authorize, seed_central, start_stack, stop_stack
from kakou.http_server import make_server
from kakou.netutil import bind_tcp, free_port
from kakou.sim.render import encode_jpeg, render_container_scene, render_plate_scene
from kakou.sim.scenario import Truck
from kakou.waiting import eventually

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


async def approve(dialog: Locator) -> None:
    """Approve what a review dialog shows, through its confirmation step."""
    await dialog.get_by_test_id("approve").click()
    await dialog.get_by_test_id("confirm").click()


async def screenshot_without_errors(page: Page, name: str) -> None:
    """Save the whole page as ARTIFACTS/`name` and check that none of its scripts raised."""
    await page.screenshot(path=ARTIFACTS / name, full_page=True)
    assert page.errors == []  # type: ignore[attr-defined]


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


async def open_console(
    browser: Browser,
    url: str,
    section: str,
    user: str,
    password: str,
    lang: str | None = "en",
    size: tuple[int, int] = (1440, 900),
) -> Page:
    """The console at one screen, logged in, once that screen has loaded; `lang=None`: the default (Chinese)."""
    query = f"?lang={lang}" if lang else ""
    page = await open_page(browser, f"{url}/console{query}#{section}", *size)
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


@asynccontextmanager
async def serving(app: Any) -> AsyncIterator[str]:
    """`app` served by the production HTTP server on a free port; yields its base URL. Close any
    event streams before leaving the block: the server waits for open responses to end."""
    sock = bind_tcp("127.0.0.1", 0, "test server")
    server = make_server(app)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    await eventually(lambda: server.started, 5, what="the server to start")
    try:
        yield f"http://127.0.0.1:{sock.getsockname()[1]}"
    finally:
        server.should_exit = True
        await asyncio.wait_for(task, 10)


@asynccontextmanager
async def running_stack(
    tmp: Path, users: dict[str, auth.Role] | None = None, password: str = "", **kw: Any
) -> AsyncIterator[Any]:
    """The demo stack (central, one edge node, simulators) with these central users; a stop that
    hangs is a failure to report, not a CI job that sits until it is killed."""
    stack, tasks = await start_stack(tmp, DemoPorts(mqtt=free_port(), central=0, edge=0), **kw)
    for user, role in (users or {}).items():
        auth.add_user(stack.central.central, "test-setup", user, role, password)
    try:
        yield stack
    finally:
        await asyncio.wait_for(stop_stack(stack, tasks), 60)


def module_stack(name: str, users: dict[str, auth.Role], password: str) -> Any:
    """A module's `stack` fixture: one running stack with these users for all its tests (assign it
    to a module variable named `stack`, with pytestmark's loop_scope="module")."""

    @pytest_asyncio.fixture(loop_scope="module", scope="module")
    async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[Any]:
        async with running_stack(tmp_path_factory.mktemp(name), users, password) as running:
            yield running

    return stack


async def seed_demo(stack: Any) -> None:
    """The demo's registrations and release orders at central, and waits until the lane has them."""
    async with httpx.AsyncClient(base_url=stack.central.url, timeout=10) as http:
        await authorize(stack, http)
        version = await seed_central(stack, http)
    await eventually(lambda: stack.edge.store.knowledge_version >= version, 30, what="the demo's records on the lane")


def demo_truck(t: Any, seed: int) -> Truck:
    """The simulators' view of a demo truck `t` (plate, container, weight, tag, card)."""
    return Truck(
        plate_jpeg=encode_jpeg(render_plate_scene(t.plate, kind=t.kind, seed=seed)),
        container_jpeg=encode_jpeg(render_container_scene(t.box, seed=seed)),
        gross_kg=t.weighs_kg,
        rfid_tag=t.tag,
        ic_card=t.card,
    )
