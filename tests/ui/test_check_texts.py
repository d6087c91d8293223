"""The browsers render check codes from the same dictionary as the server: for every code, the lane
screen's renderer (kakou-ui.js `K.finding` with the generated check-texts.js) gives exactly the
text `kakou.sync.checks.render` gives, in Chinese (the default, whatever the browser's language)
and in English."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import Browser

from kakou.sync.checks import SPEC, CheckCode, Finding, render, texts_script

pytestmark = pytest.mark.asyncio(loop_scope="module")
UI = Path(__file__).resolve().parents[2] / "edge" / "static" / "kakou-ui.js"

SAMPLE = {
    "order_no": "HF1",
    "target": "vehicle",
    "value": "粤B12345",
    "note": "tip-off",
    "fault": "camera timed out",
    "gross_kg": 30901.4,
    "plate": "粤B12345",
    "confidence": 0.456,
    "officer": "officer1",
    "count": 2,
    "e_plate": "粤B99999",
    "status": "suspended",
    "carrier": "ACME",
    "card": "C1",
    "name": "李四",
    "score": 0.2,
    "threshold": 0.7,
    "order_direction": "in",
    "lane_direction": "out",
    "at": "2026-11-25T08:00:00+00:00",
    "containers": "CSQU3054383, MSKU1234565",
    "expected_kg": 30000,
    "diff_kg": -901.4,
    "tolerance_kg": 900,
    "rate": 0.05,
    "rule_id": "R1",
    "version": 2,
    "rule_name": "heavy",
    "explanation": "over 10%",
    "seal": "SEAL-9",
    "text": "an old sentence",
    "container": "CSQU3054383",
    "orders": "HF1, HF2",
    "net_kg": 20000,
    "vehicle_kg": 15000,
    "containers_kg": 4500,
    "entry_kg": 16900,
    "entry_pass": "n1-L1-3",
    "order_count": 2,
    "less_kg": 15000,
    "tare_kg": 17000,
    "confirmed_by": "officer2",
    "pass_id": "n1-L1-3-i1a2b",
    "item": 2,
    "goods": "热轧钢卷",
    "origin": "KP",
    "hs_code": "7208",
    "prefix": "72",
    "amount": 219000.5,
    "limit": 200000,
    "transit_no": "TR-1",
    "started_at": "2026-11-25 08:00",
    "limit_h": 48,
    "unit_price": 70.25,
    "reference": 100,
    "below_pct": 20,
    "traced_origin": "BR",
    "doc_no": "D-OLD",
    "declared_at": "2026-10-01",
    "days": 30,
    "order_type": "random",
}
SAMPLE |= {
    "transit_no": "ZG1",
    "missing": "MSKU1234565",
    "extra": "-",
    "declared": "SEAL-9",  # transit
    "transits": "ZG1, ZG2",
}
SAMPLE |= {"size_type": "45G1", "grade": "D", "yard": "Y01", "size": "40", "sizes": "20/40", "appointment_no": "YY1"}


def _findings() -> list[Finding]:
    return [Finding(code=code, params={k: SAMPLE[k] for k in model.model_fields}) for code, (_, model) in SPEC.items()]


async def test_every_code_reads_the_same_in_the_browser_as_on_the_server(browser: Browser) -> None:
    ctx = await browser.new_context(locale="en-US")  # an English browser still gets Chinese by default
    page = await ctx.new_page()
    try:
        # A page of its own origin (about:blank has no localStorage), served by the test itself.
        await page.route(
            "http://kakou.test/**",
            lambda route: route.fulfill(content_type="text/html", body="<!doctype html><html><body></body></html>"),
        )
        await page.goto("http://kakou.test/lane")
        await page.add_script_tag(content=UI.read_text(encoding="utf-8"))
        await page.add_script_tag(content=texts_script())
        await page.add_script_tag(content="window.KK = K;")  # K is a top-level const: not a window property
        findings = [f.model_dump(mode="json") for f in _findings()]
        assert len(findings) == len(CheckCode)
        zh = await page.evaluate("(fs) => fs.map((f) => KK.finding(f))", findings)
        assert zh == [render(f["code"], f["params"]) for f in findings]
        assert await page.evaluate("KK.checkName({code: 'weight_over', params: {}})") == "重量比对"
        assert await page.evaluate("KK.finding('a sentence from an old lane')") == "a sentence from an old lane"
        await page.evaluate("KK.setLang('en')")
        en = await page.evaluate("(fs) => fs.map((f) => KK.finding(f))", findings)
        assert en == [render(f["code"], f["params"], "en") for f in findings]
        assert "no release order for 粤B12345" in en and "无核放单：粤B12345" in zh
    finally:
        await ctx.close()
