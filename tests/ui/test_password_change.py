"""The console's password change (issue 15), in a real browser against central (SQLite, uvicorn on a
real socket): a user an administrator created must choose a password at first login, and the
console asks for it at once; the rules' refusals are shown in Chinese; after the change the
console works. Any user can change theirs from the top bar."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import httpx
import pytest
import pytest_asyncio
from argon2 import PasswordHasher
from playwright.async_api import Browser, expect
from ui_helpers import ARTIFACTS, open_page, serving

from kakou.central import auth
from kakou.central.api import create_app
from kakou.central.db import create_schema, make_engine, make_sessionmaker
from kakou.central.routes import live
from kakou.central.service import Central

pytestmark = pytest.mark.asyncio(loop_scope="module")
ADMIN_PASSWORD = "Security-admin-2026"
FIRST, CHOSEN = "Set-by-admin-2026", "Chosen-by-me-2026!"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[str, Central]]:
    hasher, auth._hasher = auth._hasher, PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)
    tmp: Path = tmp_path_factory.mktemp("password-change")
    engine = make_engine(f"sqlite:///{tmp / 'central.db'}")
    create_schema(engine)
    central = Central(make_sessionmaker(engine))
    auth.add_user(central, "cli", "sec", auth.Role.SECURITY_ADMIN, ADMIN_PASSWORD)
    app = create_app(central)
    async with serving(app) as url:
        yield url, central
        live.close_streams(app)
    engine.dispose()
    auth._hasher = hasher


async def _add_user(url: str, username: str) -> None:
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        r = await http.post("/api/v1/auth/login", json={"username": "sec", "password": ADMIN_PASSWORD})
        headers = {"Authorization": f"Bearer {r.json()['access_token']}"}
        r = await http.post(
            "/api/v1/users", headers=headers, json={"username": username, "password": FIRST, "role": "central_officer"}
        )
        assert r.status_code == 201, r.text


async def _login(page: Any, user: str, password: str) -> None:
    dialog = page.get_by_test_id("dialog")
    await expect(dialog.get_by_test_id("field-username")).to_be_visible()
    await dialog.get_by_test_id("field-username").fill(user)
    await dialog.get_by_test_id("field-password").fill(password)
    await dialog.locator("button[type=submit]").click()


async def test_first_login_asks_for_a_new_password_and_then_the_console_works(served, browser: Browser) -> None:
    url, _central = served
    await _add_user(url, "olga")
    page = await open_page(browser, f"{url}/console#dashboard", 1280, 800)
    await _login(page, "olga", FIRST)
    form = page.get_by_test_id("password-form")
    await expect(form).to_be_visible()
    await expect(form.get_by_test_id("pw-forced")).to_contain_text("请先设置您自己的密码")
    await page.screenshot(path=ARTIFACTS / "password-change-forced.png")

    # A mistyped confirmation is caught before anything is sent.
    await form.get_by_test_id("pw-current").fill(FIRST)
    await form.get_by_test_id("pw-new").fill(CHOSEN)
    await form.get_by_test_id("pw-again").fill(CHOSEN + "x")
    await form.get_by_test_id("pw-submit").click()
    await expect(form.get_by_test_id("pw-msg")).to_have_text("两次输入的新密码不一致。")
    # A weak password: the rule, Chinese first, and the form stays.
    await form.get_by_test_id("pw-new").fill("short")
    await form.get_by_test_id("pw-again").fill("short")
    await form.get_by_test_id("pw-submit").click()
    await expect(form.get_by_test_id("pw-msg")).to_contain_text("12")
    await expect(form).to_be_visible()
    # The same password again is refused too (no reuse).
    await form.get_by_test_id("pw-new").fill(FIRST)
    await form.get_by_test_id("pw-again").fill(FIRST)
    await form.get_by_test_id("pw-submit").click()
    await expect(form.get_by_test_id("pw-msg")).to_contain_text("不得与最近")

    await form.get_by_test_id("pw-new").fill(CHOSEN)
    await form.get_by_test_id("pw-again").fill(CHOSEN)
    await form.get_by_test_id("pw-submit").click()
    await expect(form).to_be_hidden()
    await expect(page.locator("body[data-loaded=dashboard]")).to_be_attached()
    await expect(page.get_by_test_id("notice")).to_have_text("密码已修改。")
    assert page.errors == []  # type: ignore[attr-defined]

    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        assert (await http.post("/api/v1/auth/login", json={"username": "olga", "password": FIRST})).status_code == 401
        r = await http.post("/api/v1/auth/login", json={"username": "olga", "password": CHOSEN})
        assert r.status_code == 200 and r.json()["password_change_required"] is False
    await page.context.close()


async def test_a_user_changes_their_password_from_the_top_bar(served, browser: Browser) -> None:
    url, _central = served
    page = await open_page(browser, f"{url}/console#dashboard", 1280, 800)
    await _login(page, "sec", ADMIN_PASSWORD)
    button = page.get_by_test_id("password-change")
    await expect(button).to_be_visible()
    await expect(button).to_have_text("修改密码")
    await button.click()
    form = page.get_by_test_id("password-form")
    await expect(form.get_by_test_id("pw-forced")).to_have_count(0)  # by choice: no "you must"
    await form.get_by_test_id("pw-current").fill("not-my-password")
    await form.get_by_test_id("pw-new").fill(CHOSEN)
    await form.get_by_test_id("pw-again").fill(CHOSEN)
    await form.get_by_test_id("pw-submit").click()
    await expect(form.get_by_test_id("pw-msg")).to_contain_text("当前密码不正确")
    await form.get_by_test_id("pw-current").fill(ADMIN_PASSWORD)
    await form.get_by_test_id("pw-submit").click()
    await expect(form).to_be_hidden()
    await page.context.close()
