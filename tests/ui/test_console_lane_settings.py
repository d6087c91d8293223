"""The console's lane settings in a real browser: an officer sets a lane's gate role, the container
sizes it takes and its appointment check on the Lanes & nodes screen, and the lane has them."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, expect
from ui_helpers import ARTIFACTS, central_api, module_stack, open_console, open_page

from kakou.central import auth
from kakou.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="module")
ADMIN, PASSWORD = "lanes-admin", "lanes-password-1"
stack = module_stack("lanes", {ADMIN: auth.Role.ADMIN}, PASSWORD)


async def test_an_officer_sets_a_lane_to_20_foot_by_appointment_and_the_lane_has_it(stack, browser: Browser) -> None:
    node = stack.edge.id
    async with central_api(stack.central.url, ADMIN, PASSWORD) as http:
        assert (await http.put("/api/v1/registrations/site", json={"code": "gate1", "name": "北门"})).status_code == 200
        r = await http.put(
            "/api/v1/registrations/lane", json={"node": node, "lane": "L1", "site": "gate1", "direction": "in"}
        )
        assert r.status_code == 200, r.text
    page = await open_console(browser, stack.central.url, "nodes", ADMIN, PASSWORD)
    table = page.get_by_test_id("lane-settings-table")
    await expect(table).to_contain_text(node)
    await table.locator("tbody tr").first.click()
    dialog = page.locator("dialog[open]")
    await dialog.get_by_test_id("field-gate_role").select_option("release_control")
    await dialog.get_by_test_id("field-allowed_sizes").fill("20")
    await dialog.get_by_test_id("field-appointment_required").check()
    await dialog.locator("button[type=submit]").click()
    await expect(dialog).to_be_hidden()
    await expect(table.locator("tbody tr").first).to_contain_text("Release-control gate")
    await page.screenshot(path=ARTIFACTS / "console-lane-settings.png", full_page=True)

    def at_lane() -> bool:
        p = stack.edge.records.parameters_for("L1", stack.edge.cfg.parameters)
        return (p.gate_role, p.allowed_sizes, p.require_appointment) == ("release_control", ("20",), True)

    await eventually(at_lane, 15, what="the settings at the lane")
    assert stack.edge.lanes["L1"].direction == "in"
    # The lane screen names what the lane is, in Chinese by default.
    lane_page = await open_page(browser, f"{stack.edge.url}/lane", 1280, 800)
    await expect(lane_page.get_by_test_id("lane-tabs")).to_have_text("通道 L1 · 进 · A类 · 放行控制卡口")
    await lane_page.screenshot(path=ARTIFACTS / "lane-settings-tab.png")
