"""报核 by period in a real browser: an officer opens a period, uploads a stocktake (a bad file shows
its rows, a good one is stored), previews the result with its causes and saves it; another officer
approves it from the review screen, and the period shows closed."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, FilePayload, Page, expect
from ui_helpers import ARTIFACTS, approve, central_api, module_stack, open_console

from kakou.central import auth

pytestmark = pytest.mark.asyncio(loop_scope="module")
OFFICER, REVIEWER, PASSWORD = "periods-officer", "periods-reviewer", "periods-password-1"
stack = module_stack("periods", {OFFICER: auth.Role.CENTRAL_OFFICER, REVIEWER: auth.Role.REVIEWER}, PASSWORD)


async def _console(browser: Browser, stack, section: str, user: str) -> Page:
    return await open_console(browser, stack.central.url, section, user, PASSWORD)


async def _upload(page: Page, text: str) -> None:
    await page.get_by_test_id("stocktake-file").set_input_files(
        files=[FilePayload(name="stocktake.csv", mimeType="text/csv", buffer=text.encode())]
    )
    await page.get_by_test_id("stocktake-upload").click()


async def test_period_stocktake_preview_save_and_review(stack, browser: Browser) -> None:
    async with central_api(stack.central.url, OFFICER, PASSWORD) as http:
        for item, kind, unit in (("M-1", "material", "kg"), ("F-1", "finished", "pcs")):
            r = await http.put(
                "/api/v1/ledgers/items",
                json={"ledger_no": "E-UI-P", "item_no": item, "kind": kind, "name": item, "unit": unit},
            )
            assert r.status_code == 200, r.text
        r = await http.put(
            "/api/v1/ledgers/ratios",
            json={"ledger_no": "E-UI-P", "finished_item": "F-1", "material_item": "M-1", "per_unit": 2, "loss_rate": 0},
        )
        assert r.status_code == 200, r.text

    page = await _console(browser, stack, "ledgers", OFFICER)
    await page.get_by_test_id("ledger-no").fill("E-UI-P")
    await page.get_by_test_id("ledger-no").press("Enter")
    await page.get_by_test_id("period-start").fill("2026-01-01")
    await page.get_by_test_id("period-cutoff").fill("2026-06-30")
    await page.get_by_test_id("open-period").click()
    await expect(page.get_by_test_id("period-row")).to_contain_text("Open")

    await _upload(page, "item_no,quantity,unit\nM-9,1,kg\nM-1,100,t\n")
    errors = page.get_by_test_id("stocktake-errors")
    await expect(errors).to_contain_text("M-9 is not in ledger E-UI-P")
    await expect(errors).to_contain_text("counted in kg, not t")
    await _upload(page, "item_no,quantity,unit\nM-1,100,kg\nF-1,10,pcs\n")
    await expect(page.get_by_test_id("stocktake-ok")).to_have_text("2 stocktake row(s) stored")

    await page.get_by_test_id("period-preview").click()
    m1 = page.locator("[data-testid=period-line][data-item=M-1]")
    await expect(m1.get_by_test_id("causes")).to_contain_text("surplus of 120 kg")
    await expect(m1.get_by_test_id("causes")).to_contain_text("stocktake includes 20 kg")
    await page.get_by_test_id("period-save").click()
    await expect(page.get_by_test_id("saved-msg")).to_contain_text("another officer reviews it")
    await expect(page.get_by_test_id("saved-result")).to_contain_text("Awaiting review")
    await page.screenshot(path=ARTIFACTS / "console-ledger-period.png", full_page=True)

    reviewer = await _console(browser, stack, "awaiting", REVIEWER)
    await expect(reviewer.get_by_test_id("count-reconciliation")).to_contain_text("1")
    row = reviewer.locator("[data-testid=awaiting-row][data-kind=reconciliation]")
    await expect(row).to_contain_text(OFFICER)
    await row.click()
    dialog = reviewer.get_by_test_id("dialog")
    await expect(dialog.get_by_test_id("change-M-1")).to_contain_text("120")
    await approve(dialog)
    await expect(row).to_have_count(0)

    await page.reload()
    await expect(page.locator("body[data-loaded=ledgers]")).to_be_attached()
    await page.get_by_test_id("ledger-no").fill("E-UI-P")
    await page.get_by_test_id("ledger-no").press("Enter")
    await expect(page.get_by_test_id("period-row")).to_contain_text("Closed")
    await expect(page.get_by_test_id("saved-result")).to_contain_text("Approved")
    assert page.errors == [] and reviewer.errors == []  # type: ignore[attr-defined]


DECLARANT = "periods-declarant"
PDF = b"%PDF-1.7\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


async def test_declarant_applies_sees_a_refusal_and_attaches_a_file(stack, browser: Browser) -> None:
    auth.add_user(stack.central.central, "test-setup", DECLARANT, auth.Role.DECLARANT, PASSWORD)
    from kakou.central import enterprise

    enterprise.set_enterprise(stack.central.central, "test-setup", DECLARANT, "ACME-4403")
    page = await open_page_as(browser, stack, DECLARANT)  # lands on its applications
    await expect(page.locator("nav button")).to_have_count(1)  # its one screen: no officer screens to refuse it
    form = page.get_by_test_id("apply-form")
    await form.locator("summary").click()
    await form.locator("[name=order_no]").fill("SQ-UI-1")
    await form.locator("[name=plate]").fill("粤B55555")
    await form.locator("[name=valid_from]").fill("2030-01-01T08:00")
    await form.locator("[name=valid_until]").fill("2030-01-02T08:00")
    if await form.locator("[name=total_quantity]").count():  # the generic form picks a batch unit: a batch of one
        await form.locator("[name=total_quantity]").fill("1")
    await form.locator("button[type=submit]").click()
    row = page.locator("[data-testid=application][data-order=SQ-UI-1]")
    await expect(row.get_by_test_id("application-status")).to_have_text("Awaiting review")

    await row.get_by_test_id("attach-file").set_input_files(
        files=[FilePayload(name="发票.pdf", mimeType="application/pdf", buffer=PDF)]
    )
    await row.get_by_test_id("attach").click()
    await expect(
        page.locator("[data-testid=application][data-order=SQ-UI-1]").get_by_test_id("attachments")
    ).to_contain_text("发票.pdf")
    row = page.locator("[data-testid=application][data-order=SQ-UI-1]")
    await row.get_by_test_id("attach-file").set_input_files(
        files=[FilePayload(name="notes.txt", mimeType="text/plain", buffer=b"hello")]
    )
    await row.get_by_test_id("attach").click()
    await expect(page.get_by_test_id("application-error")).to_contain_text("attach a PDF, JPEG or PNG")

    officer = await _console(browser, stack, "applications", REVIEWER)  # the officers' queue
    await expect(officer.get_by_test_id("application-queue")).to_contain_text("SQ-UI-1")
    async with central_api(stack.central.url, REVIEWER, PASSWORD) as http:
        r = await http.post("/api/v1/release-orders/SQ-UI-1/review", json={"approve": False, "note": "车辆未备案"})
        assert r.status_code == 200, r.text
    await page.reload()
    row = page.locator("[data-testid=application][data-order=SQ-UI-1]")
    await expect(row.get_by_test_id("application-status")).to_have_text("Refused")
    await expect(row.get_by_test_id("refusal")).to_have_text("车辆未备案")
    await page.screenshot(path=ARTIFACTS / "console-applications.png", full_page=True)
    assert page.errors == [] and officer.errors == []  # type: ignore[attr-defined]


async def open_page_as(browser: Browser, stack, user: str) -> Page:
    from ui_helpers import login_if_asked, open_page

    page = await open_page(browser, f"{stack.central.url}/console?lang=en", 1440, 900)
    await login_if_asked(page, user, PASSWORD)
    await expect(page.locator("body[data-loaded=applications]")).to_be_attached()
    return page
