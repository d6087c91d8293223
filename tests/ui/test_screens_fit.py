"""The officers' screens at the sizes they are used at (issue 19), in a browser whose language is
English (en-US): Chinese anyway; the lane's plate, outcome, failed checks, what to do and the
actions that fit on one screen at 1024×768, 1280×800 and 1920×1080; the banner following the
officer at once; the console and the field page on a 390 px phone; nothing requested from another
host; every text/background pair at WCAG AA contrast (≥ 4.5:1); /docs and error pages offline.
Screenshots of each state go to test-artifacts/ui/."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from pathlib import Path
from urllib.parse import urlsplit

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, expect
from stack_helpers import control_order, emergency_control_order
from ui_helpers import ARTIFACTS, central_api, chromium, demo_truck, login_if_asked, running_stack, seed_demo

from kakou.central import alerts, audit, auth
from kakou.demo import DEMO_TRUCKS
from kakou.sim.scenario import TruckResult, drive_truck
from kakou.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="module")
RELEASED, OVERWEIGHT, NO_ORDER = DEMO_TRUCKS[0], DEMO_TRUCKS[2], DEMO_TRUCKS[3]  # blue, green, yellow plates
ADMIN, REVIEWER, FIELD, PASSWORD = "fit-admin", "fit-reviewer", "fit-field", "fit-password-1"
LANE_OFFICER, LANE_PIN = "officer1", "1234"
LANE_SIZES = [(1024, 768), (1280, 800), (1920, 1080)]

# Every element with its own text: its colour against the first opaque background behind it.
CONTRAST_JS = (Path(__file__).parent / "contrast.js").read_text(encoding="utf-8")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator:
    users = {ADMIN: auth.Role.ADMIN, REVIEWER: auth.Role.REVIEWER, FIELD: auth.Role.FIELD_STAFF}
    async with running_stack(tmp_path_factory.mktemp("fit"), users, PASSWORD, full_lane=True) as stack:
        await seed_demo(stack)
        yield stack


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def browser() -> AsyncIterator[Browser]:
    async with chromium() as b:
        yield b


async def english_browser(browser: Browser, url: str, width: int, height: int) -> Page:
    """A page in a browser set to American English, recording script errors and any request that
    leaves the server it was opened from."""
    ctx = await browser.new_context(
        viewport={"width": width, "height": height},
        locale="en-US",
        extra_http_headers={"Accept-Language": "en-US,en;q=0.9"},
        has_touch=width < 600,
    )
    page = await ctx.new_page()
    home = urlsplit(url).netloc
    errors: list[str] = []
    foreign: list[str] = []
    page.errors = errors  # type: ignore[attr-defined]
    page.foreign = foreign  # type: ignore[attr-defined]
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "request",
        lambda r: (
            None
            if urlsplit(r.url).scheme in ("data", "blob") or urlsplit(r.url).netloc == home
            else foreign.append(r.url)
        ),
    )
    await page.goto(url)
    return page


async def in_view(page: Page, testid: str) -> None:
    """The element is on the screen as it is: inside the viewport, without scrolling."""
    box = await page.get_by_test_id(testid).bounding_box()
    size = page.viewport_size
    assert box and size, testid
    assert box["y"] >= 0 and box["y"] + box["height"] <= size["height"], (
        f"{testid} at y={box['y']:.0f}..{box['y'] + box['height']:.0f} is below the fold of {size['height']}"
    )
    assert box["x"] >= 0 and box["x"] + box["width"] <= size["width"], f"{testid} is off the side"


async def assert_contrast(page: Page) -> None:
    result = await page.evaluate(CONTRAST_JS)
    assert result["checked"] > 5, "nothing was measured"
    assert result["bad"] == [], f"text under WCAG AA contrast: {result['bad']}"


async def assert_one_screen(page: Page) -> None:
    scroll, inner = await page.evaluate("[document.documentElement.scrollHeight, window.innerHeight]")
    assert scroll <= inner, f"the lane screen scrolls ({scroll} px of content in {inner} px)"


async def test_held_truck_fits_every_lane_screen_in_chinese_and_the_banner_follows_the_officer(
    stack, browser: Browser
) -> None:
    truck = asyncio.create_task(drive_truck(stack.sims, truck=demo_truck(NO_ORDER, 1), wait_for_barrier=90))
    pages = []
    for width, height in LANE_SIZES:
        page = await english_browser(browser, f"{stack.edge.url}/lane", width, height)
        pages.append(page)
        await expect(page.get_by_test_id("lane-state")).to_have_attribute(
            "data-state", "held_for_officer", timeout=30_000
        )
        await expect(page.get_by_test_id("plate")).to_have_text(NO_ORDER.plate)
        assert await page.evaluate("document.documentElement.lang") == "zh-CN"
        await expect(page.get_by_test_id("decision")).to_contain_text("人工处理")
        await expect(page.get_by_test_id("todo")).to_contain_text("核放单")
        await expect(page.get_by_test_id("action-override")).to_contain_text("人工放行")
        # A yellow plate is shown yellow: its text cannot tell, the framed plate on the picture does.
        await expect(page.get_by_test_id("plate")).to_have_attribute("data-colour", "yellow", timeout=15_000)
        for testid in (
            "plate",
            "decision",
            "todo",
            "action-override",
            "action-manual_entry",
            "action-release_on_documents",
            "action-login",
        ):
            await in_view(page, testid)
        fail = page.locator(".check.fail").first
        await expect(fail).to_be_visible()
        box = await fail.bounding_box()
        assert box and box["y"] + box["height"] <= height, "the failed check is below the fold"
        await expect(page.get_by_test_id("action-inspection_result")).to_be_hidden()  # not for a hold
        await assert_one_screen(page)
        await page.screenshot(path=ARTIFACTS / f"fit-lane-held-{width}x{height}.png")
        await assert_contrast(page)

    # The officer at 1280×800 acts without logging in first: the login comes first, then the form.
    page = pages[1]
    await page.get_by_test_id("action-manual_entry").click()
    dialog = page.get_by_test_id("dialog")
    await expect(dialog).to_contain_text("请先登录")
    await dialog.get_by_test_id("field-officer").fill(LANE_OFFICER)
    await dialog.get_by_test_id("field-pin").fill(LANE_PIN)
    await dialog.get_by_role("button", name="提交").click()
    await expect(page.get_by_test_id("officer")).to_contain_text(LANE_OFFICER)
    await expect(page.get_by_test_id("action-login")).to_be_hidden()
    await in_view(page, "logout")
    # Manual entry starts from the camera's read and checks the format while the officer types.
    plate = dialog.get_by_test_id("field-plate")
    await expect(plate).to_have_value(NO_ORDER.plate)
    hint = dialog.locator(".hint").first
    await expect(hint).to_contain_text("车牌格式正确")
    await plate.fill("苏E8888")
    await expect(hint).to_contain_text("格式")
    await expect(hint).to_have_class("hint bad")
    await page.screenshot(path=ARTIFACTS / "fit-lane-manual-entry.png")
    await dialog.get_by_role("button", name="取消").click()

    # Override: the reason is enforced, its complaint goes once it is written; the banner follows at once.
    await page.get_by_test_id("action-override").click()
    await dialog.get_by_test_id("field-outcome").select_option("release")
    await dialog.get_by_role("button", name="提交").click()
    msg = dialog.get_by_test_id("form-msg")
    await expect(msg).to_contain_text("必填")
    assert not truck.done()
    await dialog.get_by_test_id("field-reason").fill("核放单已电话核实")
    await expect(msg).to_be_empty()
    await dialog.get_by_role("button", name="提交").click()
    await expect(page.get_by_test_id("decision-by")).to_have_text(f"已放行 · {LANE_OFFICER}", timeout=1_000)
    await expect(page.get_by_test_id("decision")).to_have_attribute("data-outcome", "release", timeout=1_000)
    assert await asyncio.wait_for(truck, 30) is TruckResult.PASSED
    await expect(page.get_by_test_id("fact-supersedes")).to_be_visible()
    await expect(page.get_by_test_id("decision-by")).to_have_text(f"已放行 · {LANE_OFFICER}")
    await expect(page.get_by_test_id("no-action")).to_be_visible()
    await page.screenshot(path=ARTIFACTS / "fit-lane-released-by-officer.png")

    await page.get_by_test_id("logout").click()
    await expect(page.get_by_test_id("officer")).to_be_hidden()
    await expect(page.get_by_test_id("action-login")).to_be_visible()
    for p in pages:
        assert p.foreign == [] and p.errors == []  # type: ignore[attr-defined]


async def test_control_order_hold_is_unmistakable(stack, browser: Browser) -> None:
    async with central_api(stack.central.url, ADMIN, PASSWORD) as http:
        version = await emergency_control_order(http, "vehicle", RELEASED.plate, "hold", "线索：夹带未申报货物")
    await eventually(lambda: stack.edge.store.knowledge_version >= version, 20, what="the control order on the lane")
    page = await english_browser(browser, f"{stack.edge.url}/lane", 1024, 768)
    leave = asyncio.Event()  # set when the field officers take the truck away
    truck = asyncio.create_task(
        drive_truck(stack.sims, truck=demo_truck(RELEASED, 2), wait_for_barrier=60, leave=leave)
    )
    verdict = page.get_by_test_id("verdict")
    await expect(verdict).to_have_attribute("data-control", "1", timeout=30_000)
    await expect(page.get_by_test_id("decision")).to_contain_text("布控截停")
    await expect(page.get_by_test_id("todo")).to_contain_text("不得放行")
    await expect(verdict).to_have_css("background-color", "rgb(176, 0, 32)")  # --stop, not a hold's amber
    await expect(page.get_by_test_id("plate")).to_have_attribute("data-colour", "blue")
    for testid in ("plate", "decision", "todo", "action-override"):
        await in_view(page, testid)
    await assert_one_screen(page)
    await page.screenshot(path=ARTIFACTS / "fit-lane-control-order-1024x768.png")
    await assert_contrast(page)
    # English, by the officer's choice, is longer: it fits all the same.
    await page.get_by_test_id("lang-toggle").click()
    await expect(page.get_by_test_id("decision")).to_contain_text("CONTROL ORDER")
    await expect(page.get_by_test_id("todo")).to_contain_text("Do not release")
    for testid in ("plate", "decision", "todo", "action-override"):
        await in_view(page, testid)
    await assert_one_screen(page)
    await page.screenshot(path=ARTIFACTS / "fit-lane-control-order-en-1024x768.png")
    leave.set()  # the truck is taken away by the field officers
    assert await asyncio.wait_for(truck, 30) is TruckResult.TURNED_AWAY
    assert page.foreign == [] and page.errors == []  # type: ignore[attr-defined]


async def test_inspection_shows_its_result_action_and_enforces_the_reason(stack, browser: Browser) -> None:
    page = await english_browser(browser, f"{stack.edge.url}/lane", 1920, 1080)
    truck = asyncio.create_task(drive_truck(stack.sims, truck=demo_truck(OVERWEIGHT, 3), wait_for_barrier=60))
    await expect(page.get_by_test_id("decision")).to_have_attribute("data-outcome", "inspection", timeout=30_000)
    await expect(page.get_by_test_id("plate")).to_have_attribute("data-colour", "green")
    await expect(page.get_by_test_id("todo")).to_contain_text("查验区")
    await expect(page.get_by_test_id("action-manual_entry")).to_be_hidden()
    await in_view(page, "action-inspection_result")
    await page.screenshot(path=ARTIFACTS / "fit-lane-inspection-1920x1080.png")
    await page.get_by_test_id("action-inspection_result").click()
    dialog = page.get_by_test_id("dialog")
    await dialog.get_by_test_id("field-officer").fill(LANE_OFFICER)
    await dialog.get_by_test_id("field-pin").fill(LANE_PIN)
    await dialog.get_by_role("button", name="提交").click()
    await dialog.get_by_test_id("field-result").select_option("passed")
    await dialog.get_by_role("button", name="提交").click()
    await expect(dialog.get_by_test_id("form-msg")).to_contain_text("原因")
    assert not truck.done()
    await dialog.get_by_test_id("field-reason").fill("开箱查验，货证相符")
    # The officer's session expires meanwhile: the screen asks for the login again, then the same form.
    for token in list(stack.edge.officers._tokens):
        stack.edge.officers.logout(token)
    await dialog.get_by_role("button", name="提交").click()
    await expect(dialog).to_contain_text("请先登录")
    await expect(page.get_by_test_id("officer")).to_be_hidden()
    await dialog.get_by_test_id("field-officer").fill(LANE_OFFICER)
    await dialog.get_by_test_id("field-pin").fill(LANE_PIN)
    await dialog.get_by_role("button", name="提交").click()
    await dialog.get_by_test_id("field-result").select_option("passed")
    await dialog.get_by_test_id("field-reason").fill("开箱查验，货证相符")
    await dialog.get_by_role("button", name="提交").click()
    await expect(page.get_by_test_id("decision-by")).to_have_text(f"已放行 · {LANE_OFFICER}", timeout=1_000)
    assert await asyncio.wait_for(truck, 30) is TruckResult.PASSED
    assert page.foreign == [] and page.errors == []  # type: ignore[attr-defined]


async def test_console_and_field_page_on_a_phone_in_chinese(stack, browser: Browser) -> None:
    async with central_api(stack.central.url, ADMIN, PASSWORD) as http:
        await control_order(http, "vehicle", "桂A00001", "inspect", "手机端列表")
    console = await english_browser(browser, f"{stack.central.url}/console", 390, 844)
    await login_if_asked(console, ADMIN, PASSWORD)
    await expect(console.locator("body[data-loaded=dashboard]")).to_be_attached()
    assert await console.evaluate("document.documentElement.lang") == "zh-CN"
    await expect(console.get_by_test_id("nav-dashboard")).to_contain_text("总览")
    nav, main = await console.get_by_test_id("nav").bounding_box(), await console.get_by_test_id("view").bounding_box()
    assert nav and main and nav["y"] + nav["height"] <= main["y"] + 1, "the navigation covers the content"
    assert main["width"] >= 360, "the content is squeezed beside the navigation"
    assert await console.evaluate("document.documentElement.scrollWidth") <= 390
    await console.get_by_test_id("window").select_option("168")  # the KPIs over the last 7 days
    await expect(console.get_by_test_id("kpi-passes")).to_contain_text("通行量")
    await expect(console.get_by_test_id("window")).to_have_value("168")
    await console.screenshot(path=ARTIFACTS / "fit-console-phone.png", full_page=True)
    await assert_contrast(console)
    # The control orders list: Chinese column names and filters, coloured statuses.
    await console.get_by_test_id("nav-control_orders").click()
    await expect(console.locator("body[data-loaded=control_orders]")).to_be_attached()
    table = console.get_by_test_id("table-control_orders")
    await expect(table.locator("th").filter(has_text="对象值")).to_have_count(1)
    await expect(table.locator("tr", has_text="桂A00001").locator(".pill.st-pending_review")).to_have_text("待审核")
    await expect(console.get_by_test_id("filter-target_value")).to_have_attribute("placeholder", "对象值")
    await console.get_by_test_id("filter-status").select_option("pending_review")  # a drop-down, not a text box
    await console.get_by_role("button", name="查询", exact=True).click()
    await expect(table.locator("tbody tr")).to_have_count(1)
    await expect(table).to_contain_text("桂A00001")
    await console.screenshot(path=ARTIFACTS / "fit-console-phone-control-orders.png")
    await assert_contrast(console)

    # The same cause raised three times is one card on the phone, with its count.
    with audit.write(stack.central.central, "test") as w:
        for i in range(3):
            alerts.raise_alert(w, "device_fault", f"{stack.edge.id}/L9", "weighbridge silent", f"fit:repeat:{i}")
    field = await english_browser(browser, f"{stack.central.url}/field", 390, 844)
    await login_if_asked(field, FIELD, PASSWORD)
    await expect(field.locator("body[data-loaded]")).to_be_attached()
    assert await field.evaluate("document.documentElement.lang") == "zh-CN"
    card = field.get_by_test_id("alert").filter(has_text=f"{stack.edge.id}/L9")
    await expect(card).to_have_count(1)
    await expect(card.get_by_test_id("alert-repeats")).to_have_text("重复 3 次")
    await card.get_by_test_id("alert-acknowledge").click()  # one tap for the three
    acked = field.locator("[data-testid=alert][data-status=acknowledged]").filter(has_text=f"{stack.edge.id}/L9")
    await expect(acked.get_by_test_id("alert-repeats")).to_have_text("重复 3 次")
    await expect(card).to_have_count(1)
    await field.screenshot(path=ARTIFACTS / "fit-field-phone.png")
    # The console's alert list has them as one row too, with how many times.
    await console.get_by_test_id("nav-alerts").click()
    rows = console.get_by_test_id("table-alerts").locator("tbody tr").filter(has_text=f"{stack.edge.id}/L9")
    await expect(rows).to_have_count(1)
    await expect(rows.locator("td").last).to_have_text("3")
    await expect(rows).to_contain_text("设备故障")
    await assert_contrast(field)
    assert console.foreign == [] and field.foreign == []  # type: ignore[attr-defined]
    assert console.errors == [] and field.errors == []  # type: ignore[attr-defined]


async def test_english_is_a_choice_that_is_remembered(stack, browser: Browser) -> None:
    page = await english_browser(browser, f"{stack.edge.url}/lane", 1280, 800)
    await expect(page.get_by_test_id("lang-toggle")).to_have_text("English")
    await page.get_by_test_id("lang-toggle").click()
    assert await page.evaluate("document.documentElement.lang") == "en"
    await page.reload()
    await expect(page.get_by_test_id("lang-toggle")).to_have_text("中文")
    assert await page.evaluate("document.documentElement.lang") == "en"
    await page.get_by_test_id("lang-toggle").click()  # back to Chinese for the next user of this screen


async def test_control_order_review_is_approve_or_reject_with_a_reason(stack, browser: Browser) -> None:
    async with central_api(stack.central.url, ADMIN, PASSWORD) as http:
        order_no = (await control_order(http, "vehicle", "浙A99999", "inspect", "风险布控"))["order_no"]
    page = await english_browser(browser, f"{stack.central.url}/console#awaiting", 1280, 800)
    await login_if_asked(page, REVIEWER, PASSWORD)
    row = page.get_by_test_id("awaiting-row").filter(has_text=order_no)
    await expect(row).to_have_attribute("data-kind", "control_order", timeout=10_000)
    await row.click()
    dialog = page.get_by_test_id("dialog")
    await expect(dialog.get_by_test_id("approve")).to_contain_text("批准")
    await dialog.get_by_test_id("reject").click()
    msg = dialog.get_by_test_id("review-msg")
    await expect(msg).to_contain_text("驳回须填写理由")
    await dialog.get_by_test_id("review-note").fill("依据不足")
    await expect(msg).to_be_empty()
    await dialog.get_by_test_id("reject").click()
    await expect(dialog.get_by_test_id("review-confirm")).to_contain_text("确认驳回")
    await page.screenshot(path=ARTIFACTS / "fit-console-review-confirm.png")
    await dialog.get_by_test_id("confirm").click()
    await expect(row).to_have_count(0)
    async with central_api(stack.central.url, ADMIN, PASSWORD) as http:
        order = (await http.get(f"/api/v1/control-orders/{order_no}")).json()
    assert order["status"] == "rejected" and order["review_note"] == "依据不足"
    assert page.foreign == [] and page.errors == []  # type: ignore[attr-defined]


@pytest.mark.parametrize("where", ["central", "edge"])
async def test_docs_and_error_pages_need_no_other_host(stack, browser: Browser, where: str) -> None:
    url = stack.central.url if where == "central" else stack.edge.url
    page = await english_browser(browser, f"{url}/docs", 1280, 800)
    await expect(page.locator(".swagger-ui .info .title")).to_contain_text("kakou", timeout=15_000)
    await expect(page.locator(".swagger-ui .opblock").first).to_be_visible()
    await page.screenshot(path=ARTIFACTS / f"fit-docs-{where}.png")
    assert page.foreign == [] and page.errors == []  # type: ignore[attr-defined]

    # A browser that opens a wrong address gets a page; an API client still gets JSON.
    missing = await english_browser(browser, f"{url}/no-such-page", 390, 844)
    await expect(missing.get_by_test_id("error-page")).to_contain_text("页面不存在")
    assert await missing.evaluate("document.documentElement.lang") == "zh-CN"
    async with httpx.AsyncClient(base_url=url, timeout=10) as http:
        r = await http.get("/no-such-page", headers={"Accept": "application/json"})
    assert r.status_code == 404 and r.headers["content-type"].split(";")[0] in (
        "application/json",
        "application/problem+json",
    ), r.headers
