"""The lane screen on a fully equipped lane: the queue of vehicles whose e-plates the approach
reader sees while a truck is in the lane, and the read plate and container framed on the frames."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest
import pytest_asyncio
from playwright.async_api import Browser, Route, expect
from ui_helpers import ARTIFACTS, demo_truck, open_page, running_stack, seed_demo

from kakou.demo import DEMO_TRUCKS
from kakou.sim.scenario import TruckResult, drive_truck

pytestmark = pytest.mark.asyncio(loop_scope="module")
HELD, BEHIND = DEMO_TRUCKS[3], DEMO_TRUCKS[0]  # 苏E88888 has no release order; 粤B12345 has one
UNREGISTERED_TAG = "E28011606000020599990001"


@pytest_asyncio.fixture(loop_scope="module", scope="module")
async def stack(tmp_path_factory: pytest.TempPathFactory) -> AsyncIterator:
    async with running_stack(tmp_path_factory.mktemp("queue"), full_lane=True) as stack:
        await seed_demo(stack)
        yield stack


async def test_queue_behind_a_held_truck_and_the_framed_plate_and_container(stack, browser: Browser) -> None:
    page = await open_page(browser, f"{stack.edge.url}/lane?lang=en", 1280, 800)
    # Each frame's first request for its marks is answered as the node does before it has located
    # the plate (an empty list): the marks streamed meanwhile, or before the frame was shown, stay.
    asked: set[str] = set()

    async def before_located(route: Route) -> None:
        if route.request.url in asked:
            await route.continue_()
        else:
            asked.add(route.request.url)
            await route.fulfill(json=[])

    await page.route("**/api/v1/images/*/marks", before_located)
    await expect(page.get_by_test_id("live")).to_have_attribute("data-mode", "sse", timeout=10_000)
    queue = page.get_by_test_id("queue")
    await expect(queue).to_contain_text("None")  # the node reports a queue, and it is empty

    leave = asyncio.Event()  # set when the held truck is turned away
    held = asyncio.create_task(drive_truck(stack.sims, truck=demo_truck(HELD, 1), wait_for_barrier=60, leave=leave))
    await expect(page.get_by_test_id("lane-state")).to_have_attribute("data-state", "held_for_officer", timeout=30_000)
    await expect(page.get_by_test_id("plate")).to_have_text(HELD.plate)
    # The held truck's own e-plate is read again and again: it is not queued behind itself.
    stack.sims.rfid.present_tag(HELD.tag)
    stack.sims.rfid.present_tag(BEHIND.tag)
    stack.sims.rfid.present_tag(UNREGISTERED_TAG)
    waiting = queue.get_by_test_id("queued")
    await expect(waiting).to_have_count(2)
    await expect(waiting.nth(0)).to_contain_text(BEHIND.plate)
    await expect(waiting.nth(1)).to_contain_text("Unregistered e-plate")
    await expect(page.get_by_test_id("queue-count")).to_have_text("(2)")

    # The frame on screen has the read plate framed; the container frame has the container number.
    mark = page.get_by_test_id("mark-plate")
    await expect(mark).to_contain_text(HELD.plate, timeout=15_000)
    box = await mark.bounding_box()
    shot = await page.get_by_test_id("snapshot").bounding_box()
    assert box and shot and box["width"] < shot["width"] / 2, "the mark frames the plate, not the whole picture"
    await expect(page.locator("#snapshot-caption")).to_contain_text(HELD.box)
    await page.screenshot(path=ARTIFACTS / "lane-queue-and-marks.png")
    await page.get_by_test_id("thumbs").locator("img").nth(1).click()
    await expect(page.get_by_test_id("mark-container")).to_contain_text(HELD.box, timeout=15_000)
    await page.screenshot(path=ARTIFACTS / "lane-container-marked.png")

    # The held truck is turned away; the next one drives in at once and leaves the queue. The
    # reader heard a third truck's tag after this one's: the tag registered to the plate the
    # camera reads is the one the lane takes, not the latest.
    leave.set()
    assert await asyncio.wait_for(held, 40) is TruckResult.TURNED_AWAY
    assert await drive_truck(stack.sims, truck=demo_truck(BEHIND, 2), wait_for_barrier=30) is TruckResult.PASSED
    await expect(page.get_by_test_id("plate")).to_have_text(BEHIND.plate)
    await expect(waiting).to_have_count(1)
    await expect(waiting.first).to_contain_text("Unregistered e-plate")
    assert page.errors == []  # type: ignore[attr-defined]
