"""Alert texts in the reader's language (issue 19), in a real browser against central (SQLite,
uvicorn on a real socket): Chinese for an en-US browser, English by the toggle, on the field page
and in the console's alert list; repeats of one cause grouped; a document hold reaches the field."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
import pytest_asyncio
from argon2 import PasswordHasher
from playwright.async_api import Browser, expect
from ui_helpers import ARTIFACTS, login_if_asked, open_console, serving

from kakou.central import alerts, audit, auth
from kakou.central.alert_texts import AlertCode, AlertText
from kakou.central.api import create_app
from kakou.central.db import create_schema, make_engine, make_sessionmaker
from kakou.central.routes import live
from kakou.central.service import Central
from kakou.sync.checks import Finding

pytestmark = pytest.mark.asyncio(loop_scope="module")
PASSWORD = "alert-language-password-1"
HEAVY = Finding.model_validate(
    {"code": "weight_over", "params": {"gross_kg": 41000, "expected_kg": 30000, "diff_kg": 11000, "tolerance_kg": 900}}
)
NO_ORDER = Finding.model_validate({"code": "release_order_missing", "params": {"plate": "粤B77777"}})


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def served(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator[tuple[str, Central, Any]]:
    hasher, auth._hasher = auth._hasher, PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # not the cost
    tmp: Path = tmp_path_factory.mktemp("alert-language")
    engine = make_engine(f"sqlite:///{tmp / 'central.db'}")
    create_schema(engine)
    central = Central(make_sessionmaker(engine))
    auth.add_user(central, "setup", "fred", auth.Role.FIELD_STAFF, PASSWORD)
    auth.add_user(central, "setup", "root", auth.Role.ADMIN, PASSWORD)
    with audit.write(central, "test") as w:
        for i in range(3):  # the same truck's weight, three passes: one card
            alerts.raise_alert(
                w,
                "weight_anomaly",
                "粤B22222",
                AlertText(
                    code=AlertCode.PASS_FINDINGS, params={"lane": "n1/L1", "plate": "粤B22222"}, findings=[HEAVY]
                ),
                f"w:{i}",
            )
        alerts.raise_alert(
            w,
            "document_hold",
            "粤B77777",
            AlertText(code=AlertCode.PASS_FINDINGS, params={"lane": "n1/L2", "plate": "粤B77777"}, findings=[NO_ORDER]),
            "d:1",
        )
    app = create_app(central)
    async with serving(app) as url:
        yield url, central, app
        live.close_streams(app)
    engine.dispose()
    auth._hasher = hasher


async def test_field_page_shows_alerts_in_chinese_for_an_english_browser_and_english_by_choice(
    served, browser: Browser
) -> None:
    url, _central, _app = served
    ctx = await browser.new_context(
        viewport={"width": 390, "height": 844},
        locale="en-US",
        has_touch=True,
        extra_http_headers={"Accept-Language": "en-US,en;q=0.9"},
    )
    page = await ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    await page.goto(f"{url}/field")
    await login_if_asked(page, "fred", PASSWORD)
    await expect(page.locator("body[data-loaded=alerts]")).to_be_attached()
    weight = page.get_by_test_id("alert").filter(has_text="粤B22222")
    await expect(weight).to_have_count(1)  # three raises of one cause: one card
    await expect(weight.get_by_test_id("alert-repeats")).to_have_text("重复 3 次")
    await expect(weight.get_by_test_id("alert-message")).to_have_text(
        "n1/L1 粤B22222：超重：毛重 41000 kg，预期 30000 kg（+11000 kg，允差 ±900 kg）"
    )
    hold = page.get_by_test_id("alert").filter(has_text="粤B77777")
    await expect(hold.locator("h4")).to_contain_text("单证不符扣留")
    await expect(hold.get_by_test_id("alert-message")).to_have_text("n1/L2 粤B77777：无核放单：粤B77777")
    await page.screenshot(path=ARTIFACTS / "alerts-field-zh.png")

    await page.get_by_test_id("lang-toggle").click()
    await expect(weight.get_by_test_id("alert-message")).to_have_text(
        "n1/L1 粤B22222: gross 41000 kg vs expected 30000 kg: +11000 kg, tolerance ±900 kg"
    )
    await expect(hold.get_by_test_id("alert-message")).to_have_text("n1/L2 粤B77777: no release order for 粤B77777")
    await expect(page.locator("main")).not_to_contain_text("超重")
    await page.screenshot(path=ARTIFACTS / "alerts-field-en.png")
    assert errors == []
    await ctx.close()


async def test_console_alert_list_reads_in_the_chosen_language(served, browser: Browser) -> None:
    url, _central, _app = served
    console = await open_console(browser, url, "alerts", "root", PASSWORD)  # ?lang=en
    table = console.get_by_test_id("table-alerts")
    row = table.locator("tbody tr").filter(has_text="粤B22222")
    await expect(row).to_have_count(1)
    await expect(row).to_contain_text("gross 41000 kg vs expected 30000 kg")
    await expect(table).not_to_contain_text("超重")
    await console.get_by_test_id("lang-toggle").click()  # to Chinese
    await expect(row).to_contain_text("超重：毛重 41000 kg")
    await expect(table).not_to_contain_text("vs expected")
    await console.context.close()
