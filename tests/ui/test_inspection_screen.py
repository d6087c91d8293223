"""The lane screen records an inspection result for a truck that has left for the inspection area:
the list of trucks awaiting a result, the results in Chinese (查扣 / 退运 / 进一步查验 / 查验通过),
a reason required; the result is a pass record and the truck drops off the list."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from playwright.async_api import expect
from ui_helpers import ARTIFACTS, chromium, open_page

from kakou.demo import DEMO_OFFICER, DEMO_PIN, DEMO_TRUCKS, DemoPorts, authorize, seed_central, start_stack, stop_stack
from kakou.edge.lane import LaneState
from kakou.netutil import free_port
from kakou.sim.render import encode_jpeg, render_container_scene, render_plate_scene
from kakou.sim.scenario import Truck, TruckResult, drive_truck
from kakou.waiting import eventually

OVERWEIGHT = DEMO_TRUCKS[2]  # 3.4 t over its declaration: sent to inspection


@pytest.fixture
async def stack(tmp_path: Path):
    stack, tasks = await start_stack(tmp_path, DemoPorts(mqtt=free_port(), central=0, edge=0), full_lane=True)
    async with httpx.AsyncClient(base_url=stack.central.url, timeout=10) as http:
        await authorize(stack, http)
        version = await seed_central(stack, http)
    await eventually(lambda: stack.edge.store.knowledge_version >= version, 30, what="the demo's records on the lane")
    yield stack
    await stop_stack(stack, tasks)


async def test_the_inspection_area_records_a_seizure_on_the_lane_screen(stack) -> None:
    t = OVERWEIGHT
    truck = Truck(
        plate_jpeg=encode_jpeg(render_plate_scene(t.plate, kind=t.kind, seed=7)),
        container_jpeg=encode_jpeg(render_container_scene(t.box, seed=7)),
        gross_kg=t.weighs_kg,
        rfid_tag=t.tag,
        ic_card=t.card,
    )
    assert await drive_truck(stack.sims, truck=truck, wait_for_barrier=5) is TruckResult.TURNED_AWAY
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
        await expect(row).to_contain_text(t.plate)
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
