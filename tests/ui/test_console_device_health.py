"""The console's lanes & nodes screen shows each lane's device health (issue 19: "no device health
per lane"; issue 18 item 6), in Chinese by default: kind, state, faults, time to repair, per site;
and the statistics screen (issue 18 item 5): by yard with every rate defined, the intervention record."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Browser, expect
from ui_helpers import ARTIFACTS, approve, module_stack, open_console, screenshot_without_errors

from kakou.central import auth, device_health, registry
from kakou.sync.devices import DeviceCondition, DeviceKind, DeviceReport, DeviceState

pytestmark = pytest.mark.asyncio(loop_scope="module")
ADMIN, PASSWORD = "health-admin", "health-password-1"
FOGGED = "最近10次过车中8次画面发白（镜头起雾、脏污或强光眩光），请清洁镜头或调整曝光"
stack = module_stack("health", {ADMIN: auth.Role.ADMIN}, PASSWORD)


def lane_state(
    device: str, kind: DeviceKind, state: DeviceCondition, at: datetime, code: str = "", detail: str = ""
) -> DeviceState:
    """A device of lane L7 (the lane the device-health test registers) in `state` from `at` on."""
    return DeviceState(lane="L7", device=device, kind=kind, state=state, at=at, code=code, detail=detail)


async def test_nodes_screen_shows_each_lanes_devices_in_chinese(stack, browser: Browser) -> None:
    c = stack.central.central
    registry.upsert(c, "test-setup", "site", {"code": "GATE1", "name": "一号卡口"})
    registry.upsert(c, "test-setup", "lane", {"node": "gate-n9", "lane": "L7", "site": "GATE1", "direction": "in"})
    now = datetime.now(UTC)
    device_health.record(
        c,
        DeviceReport(
            node="gate-n9",
            states=[
                lane_state("wb-7", "weighbridge", "ok", now - timedelta(hours=3)),
                lane_state("wb-7", "weighbridge", "fault", now - timedelta(hours=2), code="driver_fault"),
                lane_state("wb-7", "weighbridge", "ok", now - timedelta(hours=1, minutes=30)),
                lane_state("cam-7", "plate_camera", "offline", now - timedelta(minutes=3), code="no_frame"),
                lane_state("cam-8", "container_camera", "fault", now - timedelta(minutes=5), "view_veiled", FOGGED),
            ],
        ),
    )
    page = await open_console(browser, stack.central.url, "nodes", ADMIN, PASSWORD, lang=None, size=(1280, 800))
    section = page.get_by_test_id("device-health")
    await expect(section).to_contain_text("各通道设备状况")
    table = section.get_by_test_id("device-health-lanes")
    await expect(table.locator("th").first).to_have_text("通道")
    await expect(table.locator("th").nth(3)).to_have_text("状态")
    wb = table.locator("tr", has_text="wb-7")
    await expect(wb).to_contain_text("地磅")
    await expect(wb).to_contain_text("正常")
    await expect(wb).to_contain_text("30 分钟")  # the one repair took half an hour
    cam = table.locator("tr", has_text="cam-7")
    await expect(cam).to_contain_text("车牌相机")
    await expect(cam.locator(".pill")).to_have_text("离线")
    await expect(cam).to_contain_text("无图像")  # the fault's code, in words
    # A camera whose view went bad: the code in words and, under it, what the node measured.
    fogged = table.locator("tr", has_text="cam-8")
    await expect(fogged).to_contain_text("画面发白（镜头需清洁）")
    await expect(fogged.get_by_test_id("fault-detail")).to_have_text(FOGGED)
    site = section.get_by_test_id("device-health-sites").locator("tr", has_text="GATE1").filter(has_text="地磅")
    await expect(site).to_contain_text("1")
    await expect(section.get_by_test_id("device-health-note")).to_contain_text("超过 10 分钟即发出预警")
    await page.screenshot(path=ARTIFACTS / "console-device-health.png", full_page=True)
    # Its own screen in the menu, by name (not an endpoint under "More").
    await expect(page.get_by_test_id("nav-device_health")).to_have_text("设备状况 Device health")
    await page.get_by_test_id("nav-device_health").click()
    await expect(page.locator("body[data-loaded=device_health]")).to_be_attached()
    await expect(page.get_by_test_id("view").get_by_test_id("device-health-lanes")).to_contain_text("wb-7")
    assert page.errors == []  # type: ignore[attr-defined]


async def test_statistics_screen_by_yard_with_the_rates_defined_and_the_intervention_record(
    stack, browser: Browser
) -> None:
    from kakou.central import ingest
    from kakou.sync.checks import CheckCode, check
    from kakou.sync.messages import Envelope, Outcome
    from kakou.sync.samples import sample_record

    c = stack.central.central
    registry.upsert(c, "test-setup", "site", {"code": "YARD-S", "name": "二号场站"})
    registry.upsert(c, "test-setup", "lane", {"node": "stat-n", "lane": "L1", "site": "YARD-S", "direction": "in"})
    now = datetime.now(UTC)

    def rec(seq: int, outcome: str, **kw: object) -> Envelope:
        r = sample_record(
            "stat-n", seq, now, plate="粤B55555", outcome=Outcome(outcome), opens_barrier=outcome == "release", **kw
        )
        return Envelope(node="stat-n", seq=seq, kind="pass", sent_at=now, body=r)

    override = check(CheckCode.OFFICER_OVERRIDE, True, officer="关员甲", note="单证齐全")
    ingest.ingest_passes(
        c, [rec(1, "release"), rec(2, "officer"), rec(3, "release", supersedes="stat-n-L1-2", checks=[override])]
    )
    page = await open_console(browser, stack.central.url, "statistics", ADMIN, PASSWORD, lang=None, size=(1280, 800))
    await page.get_by_test_id("st-site").fill("YARD-S")
    await page.get_by_test_id("stats-form").locator("button[type=submit]").click()
    table = page.get_by_test_id("stats-groups")
    row = table.locator("tr", has_text="YARD-S")
    await expect(row).to_contain_text("50%")  # 2 passes, one handled by an officer: 人工处理率 and 人工干预率
    await expect(table.locator("th").nth(1)).to_have_text("通行量")
    await expect(page.get_by_test_id("stats-defs")).to_contain_text("人工干预率")
    await expect(page.get_by_test_id("stats-defs")).to_contain_text("÷ 通行数")
    people = page.get_by_test_id("interventions-form")
    await people.get_by_test_id("st-officer").fill("关员甲")
    await people.locator("button[type=submit]").click()
    await expect(page.get_by_test_id("interventions")).to_contain_text("关员 关员甲 人工改判：单证齐全")
    await screenshot_without_errors(page, "console-statistics.png")


async def test_a_risk_tag_rule_written_in_the_editor_with_its_threshold(stack, browser: Browser) -> None:
    """Seed 001's tags are conditions like the others in the rule editor, in Chinese, and their
    thresholds are asked for."""
    page = await open_console(browser, stack.central.url, "risk_rules", ADMIN, PASSWORD, lang=None, size=(1280, 800))
    await page.get_by_test_id("new-rule").click()
    editor = page.get_by_test_id("rule-editor")
    await editor.get_by_test_id("rule-rule_id").fill("PRICE-1")
    await editor.get_by_test_id("rule-name").fill("咖啡低报价格")
    await editor.get_by_test_id("rule-explanation").fill("申报单价明显低于参考价")
    cond = editor.get_by_test_id("condition").first
    await cond.get_by_test_id("condition-kind").select_option("risk_tag")
    await expect(cond.get_by_test_id("condition-kind").locator("option:checked")).to_have_text("风险标签")
    await cond.get_by_test_id("cond-tag").select_option("price")
    await expect(cond.get_by_test_id("cond-tag").locator("option:checked")).to_have_text("价格异常")
    await editor.locator("button[type=submit]").click()
    await expect(editor.get_by_test_id("form-msg")).to_contain_text("reference_unit_price")  # the threshold is needed
    await cond.get_by_test_id("cond-reference_unit_price").fill("100")
    await cond.get_by_test_id("cond-below_pct").fill("20")
    await cond.get_by_test_id("cond-hs_prefixes").fill("0901")
    await editor.locator("button[type=submit]").click()
    await expect(editor.get_by_test_id("form-msg")).to_contain_text("v1")
    await screenshot_without_errors(page, "console-risk-tag-rule.png")


async def test_a_whitelist_draft_is_reviewed_in_the_one_review_list(stack, browser: Browser) -> None:
    from ui_helpers import central_api

    preparer = "wl-officer"
    auth.add_user(stack.central.central, "test-setup", preparer, auth.Role.CENTRAL_OFFICER, PASSWORD)
    async with central_api(stack.central.url, preparer, PASSWORD) as http:
        r = await http.post(
            "/api/v1/risk-whitelist",
            json={"target_kind": "vehicle", "value": "粤B88888", "reason": "AEO高级认证企业车辆"},
        )
        assert r.status_code == 201, r.text
        wid = r.json()["id"]
    page = await open_console(browser, stack.central.url, "awaiting", ADMIN, PASSWORD, lang=None, size=(1280, 800))
    row = page.locator(f"[data-testid=awaiting-row][data-kind=whitelist][data-key='{wid}']")
    await expect(row).to_contain_text("白名单")
    await expect(row).to_contain_text("粤B88888")
    await row.click()
    dialog = page.get_by_test_id("dialog")
    await expect(dialog.get_by_test_id("change-wl_reason")).to_contain_text("AEO高级认证企业车辆")
    await approve(dialog)
    await expect(row).to_have_count(0)
    async with central_api(stack.central.url, preparer, PASSWORD) as http:
        entry = next(e for e in (await http.get("/api/v1/risk-whitelist")).json() if e["id"] == wid)
    assert (entry["status"], entry["reviewed_by"]) == ("active", ADMIN)
    assert page.errors == []  # type: ignore[attr-defined]
