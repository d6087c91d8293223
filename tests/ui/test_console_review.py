"""The console's four-eyes screens in a real browser against a running stack: an officer files a
lane-parameter draft (as a form) and a release order; central refuses to let them approve their
own work and the screen says so; a reviewer sees both in the one "Awaiting review" list, with
what would change, and approves them: the parameter is in force and the order published."""

from __future__ import annotations

import pytest
from playwright.async_api import Browser, Page, expect
from ui_helpers import ARTIFACTS, approve, central_api, module_stack, open_console

from kakou.central import auth
from kakou.demo import demo_order

pytestmark = pytest.mark.asyncio(loop_scope="module")
OFFICER, REVIEWER, PASSWORD = "review-officer-a", "review-reviewer-b", "review-password-1"
stack = module_stack("review", {OFFICER: auth.Role.CENTRAL_OFFICER, REVIEWER: auth.Role.REVIEWER}, PASSWORD)


def _api(stack, user: str):
    return central_api(stack.central.url, user, PASSWORD)


async def _console(browser: Browser, stack, section: str, user: str) -> Page:
    return await open_console(browser, stack.central.url, section, user, PASSWORD)


async def test_officer_files_drafts_cannot_approve_them_and_a_reviewer_puts_them_in_force(
    stack, browser: Browser
) -> None:
    async with _api(stack, OFFICER) as http:
        before = (await http.get("/api/v1/parameters/effective")).json()["weight_tolerance_kg"]
    assert before != 777
    # Officer A edits the parameters for every lane as a form: a draft, nothing in force yet.
    a = await _console(browser, stack, "parameters", OFFICER)
    await expect(a.get_by_test_id("param-weight_tolerance_kg")).to_have_value(f"{before:g}")
    await a.get_by_test_id("param-weight_tolerance_kg").fill("777")
    await a.get_by_test_id("param-require_driver_card").check()
    await a.get_by_test_id("file-draft").click()
    await expect(a.get_by_test_id("param-msg")).to_contain_text("in force once another officer approves it")
    draft = a.get_by_test_id("param-draft").first
    await expect(draft.get_by_test_id("draft-status")).to_have_text("Draft")
    await expect(draft).to_contain_text(f"{before:g} → 777")
    await a.screenshot(path=ARTIFACTS / "console-parameters-draft.png", full_page=True)
    async with _api(stack, OFFICER) as http:
        assert (await http.get("/api/v1/parameters/effective")).json()["weight_tolerance_kg"] == before
        order_in = demo_order("浙A13579", "HF4EYES01").model_dump(mode="json")
        filed = await http.post("/api/v1/release-orders", json=order_in)
        assert filed.status_code == 201 and filed.json()["status"] == "draft", filed.text

    # A sees both awaiting review, marked as theirs; approving is refused by central, shown plainly.
    await a.goto(f"{stack.central.url}/console?lang=en#awaiting")
    await expect(a.locator("body[data-loaded=awaiting]")).to_be_attached()
    await expect(a.get_by_test_id("count-parameters")).to_contain_text("1")
    params_row = a.locator("[data-testid=awaiting-row][data-kind=parameters]")
    await expect(params_row).to_contain_text("prepared by you")
    await params_row.click()
    dialog = a.get_by_test_id("dialog")
    changed = dialog.get_by_test_id("change-weight_tolerance_kg")
    await expect(changed).to_contain_text(f"{before:g}")
    await expect(changed).to_contain_text("777")
    await approve(dialog)
    await expect(dialog.get_by_test_id("review-msg")).to_contain_text("the reviewer is never the preparer")
    await expect(dialog.get_by_test_id("review-msg")).to_contain_text("must not be its preparer")  # central's own words
    await a.screenshot(path=ARTIFACTS / "console-review-refused.png")

    # Reviewer B: both in the one list, with counts; approves each with a note. The list is one
    # page of central's review queue: one request, not one per kind.
    b = await _console(browser, stack, "awaiting", REVIEWER)
    asked: list[str] = []
    b.on("request", lambda r: asked.append(r.url) if "/api/v1/" in r.url else None)
    await b.reload()
    await expect(b.locator("body[data-loaded=awaiting]")).to_be_attached()
    await expect(b.get_by_test_id("count-release_order")).to_contain_text("1")
    await expect(b.get_by_test_id("count-parameters")).to_contain_text("1")
    order_row = b.locator("[data-testid=awaiting-row][data-kind=release_order][data-key=HF4EYES01]")
    await expect(order_row).to_contain_text(OFFICER)
    await expect(b.locator("[data-testid=awaiting-row][data-kind=parameters]")).to_have_count(1)
    await b.screenshot(path=ARTIFACTS / "console-awaiting-review.png", full_page=True)
    assert [u for u in asked if "/api/v1/reviews" in u] == [f"{stack.central.url}/api/v1/reviews?limit=50&offset=0"]
    assert not [u for u in asked if "limit=500" in u], asked
    await b.locator("[data-testid=awaiting-row][data-kind=parameters]").click()
    bdialog = b.get_by_test_id("dialog")
    await expect(bdialog.get_by_test_id("change-require_driver_card")).to_contain_text("true")
    await bdialog.get_by_test_id("review-note").fill("tolerance agreed with the weighbridge team")
    await approve(bdialog)
    await expect(b.locator("[data-testid=awaiting-row][data-kind=parameters]")).to_have_count(0)
    await order_row.click()
    await expect(bdialog.get_by_test_id("change-plate")).to_contain_text("浙A13579")
    await approve(bdialog)
    await expect(order_row).to_have_count(0)
    await expect(b.get_by_test_id("count-release_order")).to_contain_text("0")

    async with _api(stack, OFFICER) as http:
        params = (await http.get("/api/v1/parameters/effective")).json()
        assert params["weight_tolerance_kg"] == 777 and params["require_driver_card"] is True
        order = (await http.get("/api/v1/release-orders/HF4EYES01")).json()["order"]
        assert order["status"] == "active" and order["reviewed_by"] == REVIEWER
    # A's parameters screen now shows the draft approved, by whom and why.
    await a.goto(f"{stack.central.url}/console?lang=en#parameters")
    await expect(a.locator("body[data-loaded=parameters]")).to_be_attached()
    draft = a.get_by_test_id("param-draft").first
    await expect(draft.get_by_test_id("draft-status")).to_have_text("Approved")
    await expect(draft).to_contain_text(f"{REVIEWER}: tolerance agreed")
    await expect(a.get_by_test_id("param-weight_tolerance_kg")).to_have_value("777")
    assert a.errors == [] and b.errors == []  # type: ignore[attr-defined]


async def test_vehicle_change_shows_old_and_new_plate_and_a_refusal_keeps_the_old_one(stack, browser: Browser) -> None:
    async with _api(stack, OFFICER) as officer, _api(stack, REVIEWER) as reviewer:
        order_in = demo_order("浙A24680", "HF4EYES02").model_dump(mode="json")
        filed = await officer.post("/api/v1/release-orders", json=order_in)
        assert filed.status_code == 201, filed.text
        ok = await reviewer.post("/api/v1/release-orders/HF4EYES02/review", json={"approve": True})
        assert ok.status_code == 200, ok.text
        asked = await officer.post(
            "/api/v1/release-orders/HF4EYES02/vehicle", json={"plate": "浙A99999", "reason": "truck broke down"}
        )
        assert asked.status_code == 200, asked.text
    b = await _console(browser, stack, "awaiting", REVIEWER)
    row = b.locator("[data-testid=awaiting-row][data-kind=vehicle_change][data-key=HF4EYES02]")
    await expect(row).to_contain_text("浙A24680 → 浙A99999")
    await row.click()
    dialog = b.get_by_test_id("dialog")
    await expect(dialog.get_by_test_id("change-plate_change")).to_contain_text("浙A24680")
    await expect(dialog.get_by_test_id("change-plate_change")).to_contain_text("浙A99999")
    await expect(dialog.get_by_test_id("change-reason")).to_contain_text("truck broke down")
    await b.screenshot(path=ARTIFACTS / "console-review-vehicle-change.png")
    await dialog.get_by_test_id("review-note").fill("no breakdown report on file")
    await dialog.get_by_test_id("reject").click()
    await dialog.get_by_test_id("confirm").click()  # the confirmation step
    await expect(row).to_have_count(0)
    async with _api(stack, OFFICER) as http:
        order = (await http.get("/api/v1/release-orders/HF4EYES02")).json()["order"]
        assert order["plate"] == "浙A24680" and order["pending_plate"] is None
    assert b.errors == []  # type: ignore[attr-defined]


def _decl(doc_no: str, stage: str, amount: float) -> dict:
    return {
        "doc_type": "declaration",
        "stage": stage,
        "doc_no": doc_no,
        "direction": "in",
        "trade_mode": "0110",
        "item_count": 1,
        "total_quantity": 10,
        "total_amount": amount,
    }


async def test_manual_match_and_risk_rule_drafts_in_the_chinese_list(stack, browser: Browser) -> None:
    async with _api(stack, OFFICER) as http:
        # One cent apart: no automatic match, so the officer proposes one by hand.
        draft = (await http.post("/api/v1/declarations", json=_decl("D-4EYES", "draft", 100.0))).json()
        official = (await http.post("/api/v1/declarations", json=_decl("O-4EYES", "official", 100.01))).json()
        assert official["matched_id"] is None
        proposed = await http.post(
            "/api/v1/declarations/match", json={"draft_id": draft["id"], "official_id": official["id"]}
        )
        assert proposed.status_code == 204, proposed.text
        rule = {
            "rule_id": "ORIGIN-4EYES",
            "name": "origin watch",
            "outcome": "inspection",
            "priority": 50,
            "explanation": "goods from a watched origin",
            "conditions": [{"kind": "origin", "countries": ["XX"]}],
        }
        assert (await http.post("/api/v1/risk-rules", json=rule)).status_code == 201
    b = await _console(browser, stack, "awaiting", REVIEWER)
    await b.get_by_test_id("lang-toggle").click()
    await expect(b.locator("h2")).to_contain_text("待复核")
    # The kinds' names come from central's review queue, in Chinese by default.
    await expect(b.locator("[data-testid=awaiting-row][data-kind=manual_match] .pill")).to_have_text("人工匹配")
    await expect(b.get_by_test_id("count-manual_match")).to_contain_text("1")
    await expect(b.get_by_test_id("count-risk_rule")).to_contain_text("1")
    await expect(b.locator("[data-testid=awaiting-row][data-kind=risk_rule]")).to_contain_text("ORIGIN-4EYES v1")
    # A page at a time: the two documents (each awaiting review), the match and the rule, in pages of three.
    await b.goto(f"{stack.central.url}/console?review_page=3#awaiting")
    await expect(b.get_by_test_id("review-range")).to_contain_text("1–3 / 4")
    rows = b.get_by_test_id("awaiting-row")
    kinds = [await r.get_attribute("data-kind") for r in await rows.all()]
    await b.get_by_test_id("review-next").click()
    await expect(b.get_by_test_id("review-range")).to_contain_text("4–4 / 4")
    await expect(b.get_by_test_id("review-next")).to_be_disabled()
    kinds += [await r.get_attribute("data-kind") for r in await rows.all()]
    assert sorted(kinds) == ["declaration", "declaration", "manual_match", "risk_rule"]  # type: ignore[type-var]
    await b.goto(f"{stack.central.url}/console#awaiting")
    match = b.locator("[data-testid=awaiting-row][data-kind=manual_match]")
    await expect(match).to_have_count(1)  # both documents carry manual_pending: one entry per pair
    await expect(match).to_contain_text("D-4EYES ↔ O-4EYES")
    await match.click()
    dialog = b.get_by_test_id("dialog")
    await expect(dialog.get_by_test_id("change-total_amount")).to_contain_text("100.01")
    await b.screenshot(path=ARTIFACTS / "console-review-manual-match-zh.png")
    await approve(dialog)
    await expect(match).to_have_count(0)
    async with _api(stack, OFFICER) as http:
        got = (await http.get(f"/api/v1/declarations/{official['id']}")).json()
        assert (got["match_rule"], got["match_by"], got["match_reviewed_by"]) == ("manual", OFFICER, REVIEWER)
    assert b.errors == []  # type: ignore[attr-defined]
