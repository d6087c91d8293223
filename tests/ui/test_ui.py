"""The three user interfaces in a real browser (Debian's chromium driven by Playwright) against the
real stack: broker, central, an edge node with its lane, device simulators and OCR.

What is asserted is what a person sees: the plate and the decision on the lane screen, updated
live without a reload; the officer's override; the pass on the console; the field page.
Screenshots go to test-artifacts/ui/.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import httpx
import pytest
import pytest_asyncio
from playwright.async_api import Browser, Page, expect
from stack_helpers import emergency_control_order
from ui_helpers import ARTIFACTS, login_if_asked, open_page

from kakou.central import auth
from kakou.demo import DemoPorts, demo_order, issue_release_order, start_stack, stop_stack
from kakou.netutil import free_port
from kakou.sim.render import encode_jpeg, render_plate_scene
from kakou.sim.scenario import TruckResult, drive_truck
from kakou.waiting import eventually

ADMIN, ADMIN_PASSWORD = "ui-admin", "ui-admin-password-1"
FIELD_USER, FIELD_PASSWORD = "field1", "field1-password-1"
LANE_OFFICER, LANE_PIN = "officer1", "1234"  # kakou.demo's lane officer

pytestmark = pytest.mark.asyncio(loop_scope="module")


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator:
    stack, tasks = await start_stack(tmp_path_factory.mktemp("ui"), DemoPorts(mqtt=free_port(), central=0, edge=0))
    _add_admin(stack)
    yield stack
    # A stop that hangs is a failure to report, not a CI job that sits until it is killed.
    await asyncio.wait_for(stop_stack(stack, tasks), 60)


def _add_admin(stack) -> None:
    auth.add_user(stack.central.central, "test-setup", ADMIN, auth.Role.ADMIN, ADMIN_PASSWORD)
    auth.add_user(stack.central.central, "test-setup", FIELD_USER, auth.Role.FIELD_STAFF, FIELD_PASSWORD)


async def _central_headers(stack) -> dict[str, str]:
    async with httpx.AsyncClient(base_url=stack.central.url, timeout=10) as http:
        resp = await http.post("/api/v1/auth/login", json={"username": ADMIN, "password": ADMIN_PASSWORD})
    return {"Authorization": f"Bearer {resp.json()['access_token']}"} if resp.status_code == 200 else {}


async def _release_order(stack, plate: str, order_no: str) -> None:
    async with httpx.AsyncClient(base_url=stack.central.url, timeout=10, headers=await _central_headers(stack)) as http:
        resp = await issue_release_order(stack, http, demo_order(plate, order_no).model_dump(mode="json"))
        assert resp.status_code == 200, resp.text
    version = resp.json()["version"]
    await eventually(lambda: stack.edge.store.knowledge_version >= version, 20, what="the order in the lane's cache")


async def _run_projections(stack) -> None:
    """What central's housekeeping does periodically: alerts and traceability from new passes."""
    async with httpx.AsyncClient(base_url=stack.central.url, timeout=10, headers=await _central_headers(stack)) as http:
        (await http.post("/api/v1/projections/run")).raise_for_status()


def _truck(plate: str, seed: int) -> bytes:
    return encode_jpeg(render_plate_scene(plate, kind="green" if len(plate) == 8 else "blue", seed=seed))


async def test_lane_screen_shows_each_truck_live_and_the_officer_overrides_a_hold(stack, browser: Browser) -> None:
    page = await open_page(browser, f"{stack.edge.url}/lane?lang=en", 1280, 800)
    await expect(page.get_by_test_id("live")).to_have_attribute("data-mode", "sse", timeout=10_000)
    await expect(page.get_by_test_id("link")).to_contain_text("Online", timeout=15_000)
    await page.evaluate("window.__sameDocument = true")  # gone if the page reloads

    # A truck with a release order: the screen shows its plate and RELEASE without a reload.
    await _release_order(stack, "粤B12345", "HFUI0001")
    await expect(page.get_by_test_id("knowledge")).to_contain_text(f"v{stack.edge.store.knowledge_version}")
    assert await drive_truck(stack.sims, _truck("粤B12345", 3)) is TruckResult.PASSED
    await expect(page.get_by_test_id("plate")).to_have_text("粤B12345")
    decision = page.get_by_test_id("decision")
    await expect(decision).to_have_attribute("data-outcome", "release")
    await expect(decision).to_contain_text("Release")
    await expect(decision).to_contain_text("放行")
    await expect(page.locator(".check.ok").first).to_be_visible()
    await expect(page.get_by_test_id("fact-release_order_no")).to_have_text("HFUI0001")
    await page.screenshot(path=ARTIFACTS / "lane-released.png")

    # A truck without one is held: red check with the reason, HOLD in big letters.
    truck = asyncio.create_task(drive_truck(stack.sims, _truck("苏E88888", 4), wait_for_barrier=40))
    await expect(page.get_by_test_id("plate")).to_have_text("苏E88888", timeout=20_000)
    await expect(decision).to_have_attribute("data-outcome", "officer")
    await expect(page.locator(".check.fail")).to_contain_text(["no release order for 苏E88888"])
    await expect(page.get_by_test_id("lane-state")).to_have_attribute("data-state", "held_for_officer")
    await page.screenshot(path=ARTIFACTS / "lane-held.png")

    # The officer logs in with the PIN pad and overrides; an override without a reason is refused.
    await page.get_by_test_id("action-login").click()
    await page.get_by_test_id("field-officer").fill(LANE_OFFICER)
    for digit in LANE_PIN:
        await page.get_by_test_id("pinpad").get_by_role("button", name=digit, exact=True).click()
    await page.get_by_role("button", name="Submit").click()
    await expect(page.get_by_test_id("officer")).to_contain_text(LANE_OFFICER)
    await page.get_by_test_id("action-override").click()
    await page.get_by_test_id("field-outcome").select_option("release")
    await page.get_by_role("button", name="Submit").click()
    await expect(page.get_by_test_id("form-msg")).to_contain_text("required")
    assert not truck.done()
    await page.get_by_test_id("field-reason").fill("documents checked with the carrier by phone")
    await page.screenshot(path=ARTIFACTS / "lane-override.png")
    await page.get_by_role("button", name="Submit").click()
    assert await asyncio.wait_for(truck, 30) is TruckResult.PASSED
    await expect(decision).to_have_attribute("data-outcome", "release")
    await expect(page.get_by_test_id("fact-supersedes")).to_be_visible()
    reason = "documents checked with the carrier by phone"
    await expect(page.locator(".check")).to_contain_text([f"officer override by {LANE_OFFICER}: {reason}"])

    # The language toggle puts Chinese first, on the same page; the reasons follow, from their codes.
    await page.get_by_test_id("lang-toggle").click()
    await expect(decision).to_have_text("放行 Release")
    await expect(page.locator(".check")).to_contain_text([f"关员 {LANE_OFFICER} 人工改判：{reason}"])
    await expect(page.get_by_test_id("lane-state")).not_to_have_text("Idle")
    await page.screenshot(path=ARTIFACTS / "lane-zh.png")
    assert await page.evaluate("window.__sameDocument") is True
    assert page.errors == []  # type: ignore[attr-defined]


async def test_control_order_hold_needs_a_second_officer_on_the_lane_screen(stack, browser: Browser) -> None:
    from kakou.demo import DEMO_OFFICER2, DEMO_PIN2

    async with httpx.AsyncClient(base_url=stack.central.url, timeout=10, headers=await _central_headers(stack)) as http:
        version = await emergency_control_order(http, "vehicle", "浙A77777", "hold", "布控测试")
    await eventually(lambda: stack.edge.store.knowledge_version >= version, 20, what="the control order on the lane")
    page = await open_page(browser, f"{stack.edge.url}/lane?lang=zh", 1280, 800)
    await expect(page.get_by_test_id("live")).to_have_attribute("data-mode", "sse", timeout=10_000)
    truck = asyncio.create_task(drive_truck(stack.sims, _truck("浙A77777", 11), wait_for_barrier=40))
    await expect(page.get_by_test_id("lane-state")).to_have_attribute("data-state", "held_for_officer", timeout=20_000)
    await page.get_by_test_id("action-login").click()
    await page.get_by_test_id("field-officer").fill(LANE_OFFICER)
    await page.get_by_test_id("field-pin").fill(LANE_PIN)
    await page.get_by_test_id("dialog").locator("button[type=submit]").click()
    await expect(page.get_by_test_id("officer")).to_contain_text(LANE_OFFICER)

    # One officer alone: refused, and the screen says why, in Chinese first.
    await page.get_by_test_id("action-override").click()
    await page.get_by_test_id("field-outcome").select_option("release")
    await page.get_by_test_id("field-reason").fill("司机熟识 known driver")
    await page.get_by_test_id("dialog").locator("button[type=submit]").click()
    await expect(page.get_by_test_id("form-msg")).to_contain_text("布控扣留")
    assert not truck.done()
    # The second officer confirms with their own PIN: released, and both are on the record.
    await page.get_by_test_id("field-second_officer").fill(DEMO_OFFICER2)
    await page.get_by_test_id("field-second_pin").fill(DEMO_PIN2)
    await page.screenshot(path=ARTIFACTS / "lane-control-two-officers.png")
    await page.get_by_test_id("dialog").locator("button[type=submit]").click()
    assert await asyncio.wait_for(truck, 30) is TruckResult.PASSED
    await expect(page.get_by_test_id("decision")).to_have_attribute("data-outcome", "release")
    await expect(page.locator("#checks, [data-testid=reasons], body").first).to_contain_text(f"{DEMO_OFFICER2} 复核")
    assert page.errors == []  # type: ignore[attr-defined]


async def test_officer_keys_an_unread_plate_on_the_screen_keyboard(stack, browser: Browser) -> None:
    await _release_order(stack, "粤B12345", "HFUI0003")
    page = await open_page(browser, f"{stack.edge.url}/lane?lang=en", 1280, 800)
    await expect(page.get_by_test_id("live")).to_have_attribute("data-mode", "sse", timeout=10_000)
    # The camera has no frame: the plate is not read and the lane holds the truck for an officer.
    truck = asyncio.create_task(drive_truck(stack.sims, None, wait_for_barrier=40))
    await expect(page.get_by_test_id("lane-state")).to_have_attribute("data-state", "held_for_officer", timeout=20_000)
    await expect(page.get_by_test_id("decision")).to_have_attribute("data-outcome", "officer")

    await page.get_by_test_id("action-login").click()
    await page.get_by_test_id("field-officer").fill(LANE_OFFICER)
    await page.get_by_test_id("field-pin").fill(LANE_PIN)
    await page.get_by_role("button", name="Submit").click()
    await expect(page.get_by_test_id("officer")).to_contain_text(LANE_OFFICER)
    await page.get_by_test_id("action-manual_entry").click()
    keyboard = page.get_by_test_id("dialog").get_by_test_id("keyboard").first
    for key in "粤B12345":
        await keyboard.get_by_role("button", name=key, exact=True).click()
    await expect(page.get_by_test_id("field-plate")).to_have_value("粤B12345")
    # A container number with a wrong check digit is caught on the screen, before the lane sees it.
    containers = page.get_by_test_id("field-containers")
    await containers.fill("CSQU3054384")
    await expect(page.locator(".hint.bad")).to_contain_text("expected 3")
    # A lessor's own category letter is keyed as the node accepts it; one the check digit
    # cannot tell from U (RWWA…, its check digit right) is refused on the screen.
    await containers.fill("RWWL4564317")
    await expect(page.locator(".hint.bad")).to_have_count(0)
    await containers.fill("RWWA4564312")
    await expect(page.locator(".hint.bad")).to_contain_text("Category letter cannot be A")
    await containers.fill("CSQU3054384")
    await page.get_by_role("button", name="Submit").click()
    await expect(page.get_by_test_id("form-msg")).to_contain_text("expected 3")
    assert not truck.done()
    await page.screenshot(path=ARTIFACTS / "lane-manual-entry.png")
    await containers.fill("")
    await page.get_by_role("button", name="Submit").click()
    # The officer sees the entry taken (or the node's refusal, which this assertion would show).
    await expect(page.get_by_test_id("form-msg")).to_have_text("Saved")
    assert await asyncio.wait_for(truck, 30) is TruckResult.PASSED
    await expect(page.get_by_test_id("decision")).to_have_attribute("data-outcome", "release")
    await expect(page.get_by_test_id("fact-entered_by")).to_have_text(LANE_OFFICER)
    assert page.errors == []  # type: ignore[attr-defined]


async def test_console_shows_passes_lanes_and_traces_a_plate(stack, browser: Browser) -> None:
    await _release_order(stack, "沪AD12345", "HFUI0002")
    await eventually(lambda: stack.edge.link.online, 15, what="the edge to connect")
    assert await drive_truck(stack.sims, _truck("沪AD12345", 5)) is TruckResult.PASSED

    page = await open_page(browser, f"{stack.central.url}/console?lang=en", 1440, 900)
    await _login_if_asked(page)
    recent = page.get_by_test_id("recent-passes")
    await expect(recent).to_contain_text("沪AD12345", timeout=20_000)  # the dashboard refreshes itself
    await expect(recent.locator("tr", has_text="沪AD12345")).to_contain_text("Release")
    await expect(page.get_by_test_id("chart-hourly").locator("rect.bar").first).to_be_attached()
    await expect(page.get_by_test_id("kpi-online")).to_contain_text("1 / 1")
    await expect(page.get_by_test_id("chart-lanes")).to_contain_text("gate1-edge1/L1")
    await page.screenshot(path=ARTIFACTS / "console-dashboard.png", full_page=True)

    await page.get_by_test_id("nav-nodes").click()
    await expect(page.get_by_test_id("nodes")).to_contain_text(stack.edge.id)

    await _run_projections(stack)  # central's housekeeping round indexes the pass for traceability
    await page.get_by_test_id("nav-passes").click()
    await page.get_by_test_id("search-plate").fill("沪AD12345")
    await page.get_by_role("button", name="Search").click()
    await expect(page.get_by_test_id("trace")).to_contain_text("沪AD12345")
    rows = page.get_by_test_id("passes").locator("tbody tr")
    await expect(rows).to_have_count(1)
    await rows.first.click()
    await expect(page.get_by_test_id("timeline")).to_contain_text("沪AD12345")
    await page.screenshot(path=ARTIFACTS / "console-trace.png")

    await page.get_by_test_id("dialog").get_by_role("button", name="Cancel").click()
    await page.get_by_test_id("nav-release_orders").click()
    await expect(page.get_by_test_id("table-release_orders")).to_contain_text("HFUI0002")
    assert page.errors == []  # type: ignore[attr-defined]


async def test_control_hit_reaches_the_field_and_the_disposal_shows_in_the_console(stack, browser: Browser) -> None:
    console = await open_page(browser, f"{stack.central.url}/console?lang=en#control_orders", 1440, 900)
    await _login_if_asked(console)
    create = console.get_by_test_id("create-control_orders")
    await create.locator("summary").click()
    await create.get_by_test_id("field-target_kind").select_option("vehicle")
    await create.get_by_test_id("field-target_value").fill("京AF12345")
    await create.get_by_test_id("field-action").select_option("inspect")
    await create.get_by_test_id("field-emergency").check()  # in force before review: on the lanes now
    await create.get_by_test_id("field-reason").fill("tip-off: undeclared goods")
    await create.locator("button[type=submit]").click()
    await expect(create.get_by_test_id("form-msg")).to_have_text("Saved")
    await expect(console.get_by_test_id("table-control_orders")).to_contain_text("京AF12345")
    await console.screenshot(path=ARTIFACTS / "console-control-order.png")
    async with httpx.AsyncClient(base_url=stack.central.url, timeout=10) as http:
        version = (await http.get("/api/v1/health")).json()["knowledge_version"]
    await eventually(lambda: stack.edge.store.knowledge_version >= version, 20, what="the control order on the lane")

    # Field staff have their phone open before the truck arrives, on the live alert stream.
    field = await open_page(browser, f"{stack.central.url}/field?lang=en", 390, 844)
    await _login_if_asked(field, FIELD_USER, FIELD_PASSWORD)
    card = field.get_by_test_id("alert").filter(has_text="京AF12345")
    await expect(field.locator("body[data-loaded]")).to_be_attached()
    await expect(field.get_by_test_id("live")).to_have_attribute("data-mode", "sse", timeout=10_000)
    await expect(card).to_have_count(0)
    await field.evaluate("window.__sameDocument = true")
    # Count the list reads from here on: a pushed alert needs none.
    await field.evaluate("""window.__listReads = 0; const f = window.fetch;
        window.fetch = (u, o) => {
          if (String(u).startsWith('/api/v1/alerts?')) window.__listReads++;
          return f(u, o);
        };""")

    lane = await open_page(browser, f"{stack.edge.url}/lane?lang=en", 1280, 800)
    await expect(lane.get_by_test_id("live")).to_have_attribute("data-mode", "sse", timeout=10_000)
    leave = asyncio.Event()  # set when the driver is sent to the inspection area
    truck = asyncio.create_task(drive_truck(stack.sims, _truck("京AF12345", 6), wait_for_barrier=60, leave=leave))
    await expect(lane.get_by_test_id("plate")).to_have_text("京AF12345", timeout=20_000)
    decision = lane.get_by_test_id("decision")
    await expect(decision).to_have_attribute("data-outcome", "inspection")
    await expect(decision).to_contain_text("查验")
    await expect(lane.locator(".check.fail")).to_contain_text(["tip-off: undeclared goods"])
    # (a loaded machine may add a device alarm of its own: the control-order one is what counts)
    await expect(lane.get_by_test_id("alarm").filter(has_text="京AF12345")).to_have_count(1)
    await lane.screenshot(path=ARTIFACTS / "lane-control-order.png")
    leave.set()  # the driver is sent to the inspection area
    assert await asyncio.wait_for(truck, 30) is TruckResult.TURNED_AWAY

    # Central derives alerts from the passes it received (its housekeeping round, run now).
    async with httpx.AsyncClient(base_url=stack.central.url, timeout=10, headers=await _central_headers(stack)) as http:

        async def alert_raised() -> bool:
            await _run_projections(stack)
            page = (await http.get("/api/v1/alerts", params={"kind": "control_hit"})).json()
            return page["total"] > 0

        await eventually(alert_raised, 20, what="the control-hit alert at central")

    # It is pushed to the phone: no reload, no polling.
    await expect(card).to_have_count(1, timeout=10_000)
    await expect(card).to_contain_text("Control order hit")
    assert await field.evaluate("window.__listReads") == 0
    await field.screenshot(path=ARTIFACTS / "field-alert.png")
    # Detail: the place and the pass's frames (uploaded by the edge after the pass was acknowledged).
    digests = await _control_hit_frames(stack)
    await card.get_by_test_id("alert-detail").click()
    dialog = field.get_by_test_id("dialog")
    await expect(dialog.get_by_test_id("detail-place")).to_contain_text(f"{stack.edge.id} / L1")
    frames = dialog.get_by_test_id("pass-images").locator("img")
    await expect(frames).to_have_count(len(digests))
    await expect(frames.first).to_have_attribute("data-loaded", "1")
    await field.screenshot(path=ARTIFACTS / "field-alert-detail.png")
    await dialog.get_by_role("button", name="Cancel").click()

    # Acknowledge with one tap; dispose with a note and a photo from the phone's camera.
    await card.get_by_test_id("alert-acknowledge").click()
    await expect(card).to_have_attribute("data-status", "acknowledged")
    await card.get_by_test_id("alert-dispose").click()
    await dialog.locator("button[type=submit]").click()
    await expect(dialog.get_by_test_id("form-msg")).to_contain_text("required")  # a disposal says how
    await field.get_by_test_id("field-disposal").fill("truck escorted to inspection bay 3")
    await field.get_by_test_id("photo").set_input_files(
        {"name": "bay3.jpg", "mimeType": "image/jpeg", "buffer": _truck("京A54321", 9)}
    )
    await expect(field.get_by_test_id("photo-preview").locator("img")).to_have_count(1)
    await field.screenshot(path=ARTIFACTS / "field-dispose.png")
    await dialog.locator("button[type=submit]").click()
    await expect(card).to_have_attribute("data-status", "disposed")
    await field.screenshot(path=ARTIFACTS / "field-disposed.png")
    assert await field.evaluate("window.__sameDocument") is True

    # The console's alert list shows who disposed of it and how.
    await console.get_by_test_id("nav-alerts").click()
    row = console.get_by_test_id("table-alerts").locator("tr", has_text="京AF12345")
    await expect(row.locator(".pill.st-disposed")).to_have_text("Disposed")
    await row.click()
    await expect(console.get_by_test_id("dialog")).to_contain_text("truck escorted to inspection bay 3")
    await expect(console.get_by_test_id("dialog")).to_contain_text(FIELD_USER)
    photo = console.get_by_test_id("dialog").get_by_test_id("disposal-photos").locator("img")
    await expect(photo).to_have_count(1)
    await expect(photo).to_have_attribute("data-loaded", "1")
    await expect(console.get_by_test_id("dialog").get_by_test_id("pass-images").locator("img").first).to_have_attribute(
        "data-loaded", "1"
    )
    await console.screenshot(path=ARTIFACTS / "console-alert-disposed.png")
    assert console.errors == [] and lane.errors == [] and field.errors == []  # type: ignore[attr-defined]


async def test_field_page_polls_while_the_stream_is_down_and_goes_live_again(stack, browser: Browser) -> None:
    from kakou.central import alerts, audit
    from kakou.central.routes.live import hub

    field = await open_page(browser, f"{stack.central.url}/field?lang=en", 390, 844)
    await _login_if_asked(field, FIELD_USER, FIELD_PASSWORD)
    live = field.get_by_test_id("live")
    await expect(live).to_have_attribute("data-mode", "sse", timeout=10_000)
    streams = hub(stack.central.app)
    streams.close()  # every open stream ends, as when a proxy or the network drops it
    try:
        await expect(live).to_have_attribute("data-mode", "poll", timeout=10_000)
        with audit.write(stack.central.central, "test") as w:
            alerts.raise_alert(w, "device_fault", f"{stack.edge.id}/L1", "weighbridge silent", "ui-test:poll")
        polled = field.get_by_test_id("alert").filter(has_text="weighbridge silent")
        await expect(polled).to_have_count(1, timeout=10_000)
        await field.screenshot(path=ARTIFACTS / "field-polling.png")
    finally:
        streams.closed = False  # the network is back: the page asks for a new ticket and goes live
    await expect(live).to_have_attribute("data-mode", "sse", timeout=15_000)
    assert field.errors == []  # type: ignore[attr-defined]


async def test_field_page_on_a_phone(stack, browser: Browser) -> None:
    page = await open_page(browser, f"{stack.central.url}/field?lang=zh", 390, 844)
    await _login_if_asked(page)
    alerts = page.get_by_test_id("alerts")
    # Until central publishes alerts the page says so instead of showing an empty screen.
    await expect(alerts.locator("[data-testid=alert], .banner").first).to_be_visible(timeout=10_000)
    await page.screenshot(path=ARTIFACTS / "field.png")
    width = await page.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the field page scrolls sideways on a phone ({width}px)"
    assert page.errors == []  # type: ignore[attr-defined]


async def test_lane_screen_says_when_central_is_unreachable_and_when_it_is_back(stack, browser: Browser) -> None:
    page = await open_page(browser, f"{stack.edge.url}/lane?lang=en", 1280, 800)
    link = page.get_by_test_id("link")
    await expect(link).to_contain_text("Online", timeout=15_000)
    unreachable = page.get_by_test_id("alarm").filter(has_text="Central unreachable")
    await expect(unreachable).to_have_count(0)
    await stack.broker.stop()
    try:
        await expect(link).to_contain_text("Offline", timeout=20_000)
        await expect(link).to_contain_text("since")
        await expect(unreachable).to_contain_text("deciding from the local cache")
        await page.screenshot(path=ARTIFACTS / "lane-offline.png")
    finally:
        await stack.broker.start()
    await expect(link).to_contain_text("Online", timeout=30_000)
    await expect(unreachable).to_have_count(0)
    assert page.errors == []  # type: ignore[attr-defined]


async def _control_hit_frames(stack) -> list[str]:
    """The frames of the control-hit pass, once central has them all."""
    async with httpx.AsyncClient(base_url=stack.central.url, timeout=10, headers=await _central_headers(stack)) as http:
        hit = (await http.get("/api/v1/alerts", params={"kind": "control_hit"})).json()["items"][0]

        async def frames() -> list[str] | None:
            detail = (await http.get(f"/api/v1/alerts/{hit['id']}/detail")).json()
            digests = detail["pass"]["images"] if detail["pass"] else []
            stored = [(await http.get(f"/api/v1/images/{d}")).status_code == 200 for d in digests]
            return digests if digests and all(stored) else None

        return await eventually(frames, 30, interval=0.3, what="the control-hit pass's frames at central")


async def _login_if_asked(page: Page, user: str = ADMIN, password: str = ADMIN_PASSWORD) -> None:
    await login_if_asked(page, user, password)
