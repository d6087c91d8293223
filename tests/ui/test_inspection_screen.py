"""The lane screen records an inspection result for a truck that has left for the inspection area:
the list of trucks awaiting a result, the results in Chinese (查扣 / 退运 / 进一步查验 / 查验通过),
a reason required; the result is a pass record and the truck drops off the list."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import expect
from stack_helpers import drive_held_truck
from ui_helpers import ARTIFACTS, chromium, demo_truck, open_page, running_stack, seed_demo

from kakou.demo import DEMO_OFFICER, DEMO_PIN, DEMO_TRUCKS
from kakou.edge.lane import LaneState
from kakou.sim.scenario import TruckResult
from kakou.waiting import eventually

OVERWEIGHT = DEMO_TRUCKS[2]  # 3.4 t over its declaration: sent to inspection


@pytest.fixture
async def stack(tmp_path: Path):
    async with running_stack(tmp_path, full_lane=True) as stack:
        await seed_demo(stack)
        yield stack


async def test_the_inspection_area_records_a_seizure_on_the_lane_screen(stack) -> None:
    assert await drive_held_truck(stack, truck=demo_truck(OVERWEIGHT, 7)) is TruckResult.TURNED_AWAY
    lane = stack.edge.lanes["L1"]
    await eventually(lambda: lane.state is LaneState.IDLE, 15, what="the lane free again")
    sent = lane.last_pass
    assert sent is not None and sent.outcome == "inspection"

    async with chromium() as browser:
        page = await open_page(browser, f"{stack.edge.url}/lane", 1280, 800)
        await page.get_by_test_id("action-inspection_list").click()
        dialog = page.get_by_test_id("dialog")
        await expect(dialog).to_contain_text("查验结果录入")
        row = dialog.get_by_test_id("inspections").locator("tbody tr")
        await expect(row).to_have_count(1)
        await expect(row).to_contain_text(OVERWEIGHT.plate)
        await row.click()
        await dialog.get_by_test_id("field-officer").fill(DEMO_OFFICER)  # acting needs a logged-in officer
        await dialog.get_by_test_id("field-pin").fill(DEMO_PIN)
        await dialog.get_by_role("button", name="提交").click()
        result = dialog.get_by_test_id("field-result")
        await expect(result).to_be_visible()  # the result's form opens once the officer is logged in
        options = await result.locator("option").all_inner_texts()
        for zh in ("查验通过", "查扣", "退运", "进一步查验"):
            assert any(zh in o for o in options), options
        await result.select_option("seized")
        await dialog.get_by_role("button", name="提交").click()
        await expect(dialog.get_by_test_id("form-msg")).to_contain_text("原因")  # a reason is required
        await dialog.get_by_test_id("field-reason").fill("夹藏违禁品")
        await dialog.get_by_role("button", name="提交").click()
        await expect(dialog).not_to_be_visible()
        await page.screenshot(path=ARTIFACTS / "lane-inspection-result-recorded.png")

        def recorded() -> dict | None:
            return next(
                (p.model_dump(mode="json") for p in stack.edge.store.list_passes(10) if p.supersedes == sent.pass_id),
                None,
            )

        rec = await eventually(recorded, 10, what="the result as a pass")
        assert rec["reasons"] == [
            {"code": "inspection_seized", "params": {"officer": DEMO_OFFICER, "note": "夹藏违禁品"}}
        ]
        assert rec["outcome"] == "inspection" and rec["opens_barrier"] is False
        await page.get_by_test_id("action-inspection_list").click()
        await expect(dialog).to_contain_text("查验结果录入")
        await expect(dialog.get_by_test_id("inspections")).to_have_count(0)  # nothing left to record
        assert page.errors == []  # type: ignore[attr-defined]
