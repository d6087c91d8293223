"""The console's purpose-built screens in a real browser against a running stack: the risk-rule
editor with its review step, ledgers with reconciliation, transit with the overdue list, the
declaration import with per-row errors, and the traceability timeline with the pass frames."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from playwright.async_api import Browser, Page, expect
from stack_helpers import xlsx
from ui_helpers import ARTIFACTS, approve, central_api, module_stack, open_console, screenshot_without_errors

from kakou.central import auth, transit
from kakou.central.tables import TransitRow
from kakou.demo import demo_order, issue_release_order
from kakou.sim.render import encode_jpeg, render_plate_scene
from kakou.sim.scenario import TruckResult, drive_truck
from kakou.waiting import eventually

pytestmark = pytest.mark.asyncio(loop_scope="module")
ADMIN, REVIEWER, PASSWORD = "screens-admin", "screens-reviewer", "screens-password-1"
stack = module_stack("screens", {ADMIN: auth.Role.ADMIN, REVIEWER: auth.Role.REVIEWER}, PASSWORD)


def _api(stack):
    return central_api(stack.central.url, ADMIN, PASSWORD)


async def _console(browser: Browser, stack, section: str, user: str = ADMIN) -> Page:
    return await open_console(browser, stack.central.url, section, user, PASSWORD)


async def test_risk_rule_written_as_a_form_is_in_force_once_a_second_person_approves(stack, browser: Browser) -> None:
    page = await _console(browser, stack, "risk_rules")
    await page.get_by_test_id("new-rule").click()
    editor = page.get_by_test_id("rule-editor")
    await editor.get_by_test_id("rule-rule_id").fill("HEAVY-1")
    await editor.get_by_test_id("rule-name").fill("Heavier than declared")
    await editor.get_by_test_id("rule-outcome").select_option("inspection")
    await editor.get_by_test_id("rule-explanation").fill("more than 5 % over the declared weight")
    cond = editor.get_by_test_id("condition").first
    await cond.get_by_test_id("condition-kind").select_option("weight_deviation")
    await cond.get_by_test_id("cond-over_pct").fill("5")
    # A second condition of another kind: its own fields appear; an empty one is refused by central.
    await editor.get_by_test_id("add-condition").click()
    second = editor.get_by_test_id("condition").nth(1)
    await second.get_by_test_id("condition-kind").select_option("carrier_credit")
    await editor.locator("button[type=submit]").click()
    await expect(editor.get_by_test_id("form-msg")).to_contain_text("grades")
    await second.get_by_test_id("cond-grades").get_by_label("C", exact=True).check()
    await second.get_by_test_id("cond-grades").get_by_label("D", exact=True).check()
    await page.screenshot(path=ARTIFACTS / "console-risk-editor.png", full_page=True)
    await editor.locator("button[type=submit]").click()
    await expect(editor.get_by_test_id("form-msg")).to_contain_text("draft version 1")
    row = page.get_by_test_id("rule-row").filter(has_text="HEAVY-1")
    await expect(row.get_by_test_id("rule-status")).to_have_text("Draft")

    # The preparer cannot approve their own rule: central refuses and the screen says why.
    await row.get_by_test_id("rule-versions-btn").click()
    dialog = page.get_by_test_id("dialog")
    await approve(dialog)
    await expect(dialog.get_by_test_id("review-msg")).to_contain_text("must not be its preparer")
    # A reviewer approves it: in force (and published to the lanes).
    reviewer = await _console(browser, stack, "risk_rules", REVIEWER)
    rrow = reviewer.get_by_test_id("rule-row").filter(has_text="HEAVY-1")
    await rrow.get_by_test_id("rule-versions-btn").click()
    await reviewer.get_by_test_id("dialog").get_by_test_id("review-note").fill("checked against the tariff")
    await approve(reviewer.get_by_test_id("dialog"))
    await expect(rrow.get_by_test_id("rule-status")).to_have_text("In force")

    # Editing makes version 2, a draft beside version 1 still in force.
    await page.get_by_test_id("dialog").get_by_role("button", name="Cancel").click()
    await page.reload()
    await expect(page.locator("body[data-loaded=risk_rules]")).to_be_attached()
    row = page.get_by_test_id("rule-row").filter(has_text="HEAVY-1")
    await row.get_by_test_id("edit-rule").click()
    editor = page.get_by_test_id("rule-editor")
    await expect(editor.get_by_test_id("rule-rule_id")).to_have_value("HEAVY-1")
    await expect(editor.get_by_test_id("cond-over_pct")).to_have_value("5")
    await editor.get_by_test_id("cond-over_pct").fill("3")
    await editor.locator("button[type=submit]").click()
    await expect(editor.get_by_test_id("form-msg")).to_contain_text("draft version 2")
    await page.get_by_test_id("rule-row").filter(has_text="HEAVY-1").first.get_by_test_id("rule-versions-btn").click()
    versions = page.get_by_test_id("rule-versions").get_by_test_id("version-row")
    await expect(versions).to_have_count(2)
    await expect(versions.nth(0)).to_contain_text("Draft")
    await expect(versions.nth(1)).to_contain_text("In force")
    await expect(versions.nth(1)).to_contain_text("checked against the tariff")
    await page.screenshot(path=ARTIFACTS / "console-risk-versions.png")
    assert page.errors == [] and reviewer.errors == []  # type: ignore[attr-defined]


async def test_ledger_reconciliation_flags_a_stocktake_difference(stack, browser: Browser) -> None:
    async with _api(stack) as http:
        for item, kind, opening in (("M-100", "material", 1000.0), ("F-200", "finished", 0.0)):
            r = await http.put(
                "/api/v1/ledgers/items",
                json={"ledger_no": "E-UI-1", "item_no": item, "kind": kind, "name": item, "opening": opening},
            )
            assert r.status_code == 200, r.text
    page = await _console(browser, stack, "ledgers")
    await page.get_by_test_id("ledger-no").fill("E-UI-1")
    await page.get_by_test_id("ledger-no").press("Enter")
    rows = page.get_by_test_id("balance-row")
    await expect(rows).to_have_count(2)
    await expect(rows.filter(has_text="M-100")).to_contain_text("1,000")
    await page.get_by_test_id("stocktake-M-100").fill("900")
    await page.get_by_test_id("stocktake-F-200").fill("0")
    await page.get_by_test_id("reconcile").click()
    await expect(page.get_by_test_id("reconcile-summary")).to_have_text("1 item(s) need attention")
    flagged = rows.filter(has_text="M-100")
    await expect(flagged).to_contain_text("-100")
    await expect(flagged.get_by_test_id("warnings")).to_contain_text("stocktake differs by -100")
    await expect(rows.filter(has_text="F-200").get_by_test_id("warnings")).to_have_text("")
    await screenshot_without_errors(page, "console-ledger-reconcile.png")


async def test_transit_overdue_list(stack, browser: Browser) -> None:
    async with _api(stack) as http:
        for no, plate in (("TR-LATE", "沪A11111"), ("TR-OK", "沪A22222")):
            r = await http.post(
                "/api/v1/transits",
                json={
                    "transit_no": no,
                    "plate": plate,
                    "entry_site": "SH-PORT",
                    "destination_site": "SZ-INLAND",
                    "time_limit_h": 6,
                },
            )
            assert r.status_code == 201, r.text
    # One truck left the port 9 hours ago (as a gate pass at the office of entry would record).
    with stack.central.central.sessions.begin() as s:
        for no, ago in (("TR-LATE", 9), ("TR-OK", 1)):
            row = s.get(TransitRow, no)
            row.status, row.started_at = "en_route", datetime.now(UTC) - timedelta(hours=ago)
    assert transit.check_overdue(stack.central.central) == ["TR-LATE"]
    page = await _console(browser, stack, "transits")
    late = page.get_by_test_id("overdue-row")
    await expect(late).to_have_count(1)
    await expect(late).to_contain_text("沪A11111")
    await expect(late).to_contain_text("+3.0 h")
    await expect(page.get_by_test_id("transits")).to_contain_text("TR-OK")
    await page.get_by_test_id("transit-status").select_option("en_route")
    await page.get_by_role("button", name="Search").click()
    await expect(page.get_by_test_id("transits").locator("tbody tr")).to_have_count(1)
    await screenshot_without_errors(page, "console-transit-overdue.png")


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


CSV_HEAD = "doc_type,stage,doc_no,direction,trade_mode,item_count,total_quantity,total_amount\n"


async def test_declaration_import_shows_each_bad_row_then_imports_the_fixed_file(stack, browser: Browser) -> None:
    page = await _console(browser, stack, "declarations")
    bad = CSV_HEAD + (
        "declaration,official,D-UI-1,in,0110,1,10,100\ndeclaration,official,D-UI-2,sideways,0110,many,10,100\n"
    )
    await page.get_by_test_id("import-file").set_input_files(
        {"name": "decl.csv", "mimeType": "text/csv", "buffer": bad.encode()}
    )
    await page.get_by_test_id("import-upload").click()
    await expect(page.get_by_test_id("import-rejected")).to_contain_text("Nothing imported: 2 problem(s)")
    errors = page.get_by_test_id("import-error")
    await expect(errors).to_have_count(2)
    await expect(errors.filter(has_text="direction")).to_contain_text("2")
    await expect(errors.filter(has_text="item_count")).to_contain_text("2")
    await page.screenshot(path=ARTIFACTS / "console-import-errors.png", full_page=True)
    # The Excel template is checked the same way.
    await page.get_by_test_id("import-file").set_input_files(
        {
            "name": "decl.xlsx",
            "mimeType": XLSX,
            "buffer": xlsx(
                [CSV_HEAD.strip().split(","), ["declaration", "official", "D-UI-3", "in", "0110", "-1", "10", "100"]]
            ),
        }
    )
    await page.get_by_test_id("import-upload").click()
    await expect(errors).to_have_count(1)
    await expect(errors).to_contain_text("item_count")
    good = CSV_HEAD + "declaration,official,D-UI-1,in,0110,1,10,100\ndeclaration,official,D-UI-2,out,0110,2,10,100\n"
    await page.get_by_test_id("import-file").set_input_files(
        {"name": "decl.csv", "mimeType": "text/csv", "buffer": good.encode()}
    )
    await page.get_by_test_id("import-upload").click()
    await expect(page.get_by_test_id("import-ok")).to_contain_text("2 imported")
    await expect(page.get_by_test_id("table-declarations")).to_contain_text("D-UI-2")
    assert page.errors == []  # type: ignore[attr-defined]


async def test_traceability_timeline_shows_the_pass_frames(stack, browser: Browser) -> None:
    plate = "粤B54321"
    async with _api(stack) as http:
        resp = await issue_release_order(stack, http, demo_order(plate, "HFSCR001").model_dump(mode="json"))
        assert resp.status_code == 200, resp.text
        # The order itself, not a version: central's change log also numbers changes on streams this
        # node does not follow (another node's lane settings, other sites' transits).
        await eventually(
            lambda: stack.edge.store.query("SELECT 1 FROM knowledge WHERE kind = 'release_order' AND key = 'HFSCR001'"),
            20,
            what="the order on the lane",
        )
        jpeg = encode_jpeg(render_plate_scene(plate, kind="blue", seed=7))
        assert await drive_truck(stack.sims, jpeg) is TruckResult.PASSED

        async def frames_at_central() -> bool:
            (await http.post("/api/v1/projections/run")).raise_for_status()
            events = (await http.get(f"/api/v1/trace/plate/{plate}")).json()
            digests = [d for e in events if e["kind"] == "pass" for d in e["data"]["images"]]
            return bool(digests) and all([(await http.get(f"/api/v1/images/{d}")).status_code == 200 for d in digests])

        await eventually(frames_at_central, 30, interval=0.3, what="the pass and its frames at central")
    page = await _console(browser, stack, "passes")
    await page.get_by_test_id("search-plate").fill(plate)
    await page.get_by_role("button", name="Search").click()
    event = page.locator("[data-testid=trace-event].tl-pass")
    await expect(event).to_have_count(1)
    frame = event.get_by_test_id("trace-frames").locator("img").first
    await expect(frame).to_have_attribute("data-loaded", "1")
    assert await frame.evaluate("img => img.naturalWidth") > 100
    await screenshot_without_errors(page, "console-trace-frames.png")


async def test_release_order_draft_shows_its_status_and_a_reviewer_approves_it(stack, browser: Browser) -> None:
    async with _api(stack) as http:
        order = demo_order("浙A77777", "HFREV001").model_dump(mode="json")
        filed = await http.post("/api/v1/release-orders", json=order)
        assert filed.status_code == 201 and filed.json()["status"] == "draft", filed.text
    page = await _console(browser, stack, "release_orders", REVIEWER)
    table = page.get_by_test_id("table-release_orders")
    row = table.locator("tr", has_text="HFREV001")
    await expect(row.locator(".pill.st-draft")).to_have_text("Draft")
    await row.click()
    review = page.get_by_test_id("dialog").get_by_test_id("action-review")
    await review.get_by_test_id("review-note").fill("documents match")
    await review.get_by_test_id("approve").click()
    await expect(review.get_by_test_id("review-confirm")).to_contain_text("Approve this?")
    await review.get_by_test_id("confirm").click()
    await expect(table.locator("tr", has_text="HFREV001").locator(".pill.st-active")).to_have_text("Active")
    assert page.errors == []  # type: ignore[attr-defined]
