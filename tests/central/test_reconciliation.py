"""报核 as the 003 manual computes it (账册报核计算逻辑), per ledger and period:

opening + imports (0615 + 0654 + 9900) − exports (0644 + 0664)
− consumption (finished goods out 0615 + 0654 + 4600, less 4600 returns, through 单损耗)
± adjustments = theoretical closing, against the stocktake (finished and semi-finished goods
converted through the BOM); saved, reviewed by another officer, exported; periods with a cutoff
and carry-forward. Also: declarations count once reviewed, and one goods movement posts once."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta, timezone

import pytest
from central_helpers import Api, ingest, issue_order
from fastapi.testclient import TestClient

from kakou.central import projections
from kakou.central.service import Central

CST = timezone(timedelta(hours=8))
LEDGER = "E-3100"
_seq = iter(range(1, 10_000))


def _ledger(api: Api) -> None:
    alice = api("alice")
    for item in (
        {"item_no": "M1", "kind": "material", "name": "冷轧钢板", "unit": "kg"},
        {"item_no": "M2", "kind": "material", "name": "锁具", "unit": "pcs"},
        {"item_no": "F1", "kind": "finished", "name": "机柜", "unit": "pcs"},
        {"item_no": "S1", "kind": "semifinished", "name": "柜门", "unit": "pcs"},
    ):
        assert alice.put("/api/v1/ledgers/items", json={"ledger_no": LEDGER, **item}).status_code == 200
    for fin, mat, per, loss in (("F1", "M1", 2.0, 0.2), ("F1", "M2", 1.0, 0.0), ("S1", "M1", 1.0, 0.2)):
        assert (
            alice.put(
                "/api/v1/ledgers/ratios",
                json={
                    "ledger_no": LEDGER,
                    "finished_item": fin,
                    "material_item": mat,
                    "per_unit": per,
                    "loss_rate": loss,
                },
            ).status_code
            == 200
        )


def _official(
    api: Api,
    doc_no: str,
    direction: str,
    trade_mode: str,
    items: dict[str, float],
    doc_type: str = "inventory_list",
    approve: bool = True,
    **kw: object,
) -> dict:
    body = {
        "doc_type": doc_type,
        "stage": "official",
        "doc_no": doc_no,
        "direction": direction,
        "trade_mode": trade_mode,
        "item_count": len(items),
        "total_quantity": sum(items.values()),
        "total_amount": 1.0,
        "ledger_no": LEDGER,
        "items": [{"item_no": k, "quantity": q} for k, q in items.items()],
        **kw,
    }
    r = api("alice").post("/api/v1/declarations", json=body)
    assert r.status_code == 201, r.text
    if approve:
        r = api("rita").post(f"/api/v1/declarations/{r.json()['id']}/review", json={"approve": True})
        assert r.status_code == 200 and r.json()["review_status"] == "approved", r.text
    return r.json()


def _gate(api: Api, central: Central, docs: list[str], at: datetime) -> str:
    """One truck through the gate under a release order naming the documents, at `at`."""
    n = next(_seq)
    now = datetime.now(UTC)
    issue_order(
        api,
        {
            "order_no": f"HF{n}",
            "plate": "粤B12345",
            "direction": "out",
            "declarations": docs,
            "valid_from": (now - timedelta(hours=1)).isoformat(),
            "valid_until": (now + timedelta(hours=1)).isoformat(),
        },
    )
    pass_id = ingest(central, n, "粤B12345", release_order=f"HF{n}", at=at)
    projections.run_all(central)
    return pass_id


def _period(api: Api, starts_on: str, cutoff: str) -> int:
    r = api("alice").post(f"/api/v1/ledgers/{LEDGER}/periods", json={"starts_on": starts_on, "cutoff": cutoff})
    assert r.status_code == 201, r.text
    return int(r.json()["id"])


def _adjust(officer: TestClient, pid: int, item_no: str, quantity: float, reason: str) -> int:
    """The HTTP status of `officer`'s adjustment of an item's quantity in period `pid` of LEDGER."""
    body = {"item_no": item_no, "quantity": quantity, "reason": reason}
    return officer.post(f"/api/v1/ledgers/{LEDGER}/periods/{pid}/adjustments", json=body).status_code


def _lines(result: dict) -> dict[str, dict]:
    return {ln["item_no"]: ln for ln in result["lines"]}


def _codes(line: dict) -> set[str]:
    return {c["code"] for c in line["causes"]}


MARCH = datetime(2026, 3, 1, 10, 0, tzinfo=CST)


def test_seed_003_worked_example_by_trade_mode_with_bom_and_stocktake(api: Api, central: Central) -> None:
    _ledger(api)
    docs = [
        _official(api, "QD-I1", "in", "0615", {"M1": 1000, "M2": 200}),  # 进料对口
        _official(api, "QD-I2", "in", "0654", {"M1": 200}),  # 进料深加工
        _official(api, "QD-I3", "in", "9900", {"M1": 50}),
        _official(api, "QD-E1", "out", "0644", {"M1": 30}),  # 料件内销
        _official(api, "QD-E2", "out", "0664", {"M1": 20}),  # 料件复出
        _official(api, "QD-F1", "out", "0615", {"F1": 100}),  # 成品出口: 100 × 2 / 0.8 = 250 kg, 100 locks
        _official(api, "QD-F2", "out", "0654", {"F1": 20}),  # 50 kg, 20 locks
        _official(api, "QD-F3", "out", "4600", {"F1": 4}),  # 成品退换 out: 10 kg, 4 locks
        _official(api, "QD-F4", "in", "4600", {"F1": 2}),  # 成品退换 back: −5 kg, −2 locks
    ]
    pid = _period(api, "2026-01-01", "2026-06-30")
    alice = api("alice")
    pending = _lines(alice.get(f"/api/v1/ledgers/{LEDGER}/periods/{pid}/reconciliation").json())
    assert pending["M1"]["theoretical"] == 0 and "pending_gate" in _codes(pending["M1"])  # no gate pass yet

    _gate(api, central, [d["doc_no"] for d in docs], MARCH)
    assert _adjust(alice, pid, "M2", -5, "报废 5 把锁（质检单 QC-7）") == 201
    stock = (
        "item_no,kind,quantity,unit,counted_on\nM1,material,800,kg,2026-06-30\nM2,,50,pcs,\n"
        "F1,finished,20,pcs,2026-06-30\nS1,semifinished,30,pcs,2026-06-29\n"
    )
    r = alice.post(
        f"/api/v1/ledgers/{LEDGER}/periods/{pid}/stocktake/csv",
        content=stock.encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert r.status_code == 200 and r.json() == {"imported": 4}, r.text

    by = _lines(alice.get(f"/api/v1/ledgers/{LEDGER}/periods/{pid}/reconciliation").json())
    m1, m2, f1 = by["M1"], by["M2"], by["F1"]
    assert m1["opening"] == 0  # 第一次报核期初为 0
    assert m1["imports"] == {"0615": 1000, "0654": 200, "9900": 50} and m1["imports_total"] == 1250
    assert m1["exports"] == {"0644": 30, "0664": 20} and m1["exports_total"] == 50
    assert m1["consumption"] == pytest.approx({"0615": 250, "0654": 50, "4600": 5})  # 10 out − 5 back
    assert m1["theoretical"] == pytest.approx(1250 - 50 - 305)  # 895
    # 800 kg counted + 20 cabinets × 2.5 kg + 30 doors × 1.25 kg = 887.5 kg.
    assert m1["stocktake"] == 800 and m1["stocktake_converted"] == pytest.approx(87.5)
    assert m1["actual"] == pytest.approx(887.5) and m1["difference"] == pytest.approx(-7.5)
    assert _codes(m1) == {"shortage", "converted_stock"}  # 0.8 %: under the 5 % threshold
    assert m2["consumption_total"] == pytest.approx(122) and m2["adjustments"] == -5
    assert m2["theoretical"] == pytest.approx(200 - 122 - 5) and m2["actual"] == pytest.approx(70)
    shortage = next(c for c in m2["causes"] if c["code"] == "shortage")
    assert shortage["text"] == "短少 3 pcs" and shortage["text_en"] == "short by 3 pcs"
    assert "报废 5 把锁" in next(c["text"] for c in m2["causes"] if c["code"] == "adjusted")
    # Exported finished goods are not negative stock, and raise no ledger_negative (issue #18).
    assert f1["theoretical"] is None and f1["exports"] == {"0615": 100, "0654": 20, "4600": 4}
    assert _codes(f1) == {"finished_not_stock"}
    assert api("bob").get("/api/v1/alerts", params={"kind": "ledger_negative"}).json()["items"] == []

    # Over the threshold: the same figures judged at 0.5 %.
    strict = _lines(
        alice.get(f"/api/v1/ledgers/{LEDGER}/periods/{pid}/reconciliation", params={"abnormal_pct": 0.5}).json()
    )
    assert "over_threshold" in _codes(strict["M1"])


def test_saved_result_is_reviewed_by_another_officer_closes_the_period_and_exports(api: Api, central: Central) -> None:
    _ledger(api)
    _official(api, "QD-1", "in", "0615", {"M1": 100})
    _gate(api, central, ["QD-1"], MARCH)
    pid = _period(api, "2026-01-01", "2026-06-30")
    alice, rita = api("alice"), api("rita")
    saved = alice.post(f"/api/v1/ledgers/{LEDGER}/periods/{pid}/reconciliation")
    assert saved.status_code == 201 and saved.json()["status"] == "pending"
    rid = saved.json()["id"]
    assert alice.post(f"/api/v1/ledgers/{LEDGER}/periods/{pid}/reconciliation").status_code == 409  # one at a time
    own = alice.post(f"/api/v1/ledger-reconciliations/{rid}/review", json={"approve": True})
    assert own.status_code == 403
    rejected = rita.post(f"/api/v1/ledger-reconciliations/{rid}/review", json={"approve": False, "note": "盘点未导入"})
    assert rejected.json()["status"] == "rejected" and rejected.json()["review_note"] == "盘点未导入"
    rid = alice.post(f"/api/v1/ledgers/{LEDGER}/periods/{pid}/reconciliation").json()["id"]
    approved = rita.post(f"/api/v1/ledger-reconciliations/{rid}/review", json={"approve": True}).json()
    assert approved["status"] == "approved" and approved["reviewed_by"] == "rita"
    assert _lines(approved)["M1"]["theoretical"] == 100
    assert alice.get(f"/api/v1/ledgers/{LEDGER}/periods").json()[0]["status"] == "closed"

    # A closed period takes no stocktake and no adjustment, and is not reconciled again.
    late = alice.post(f"/api/v1/ledgers/{LEDGER}/periods/{pid}/stocktake", json=[{"item_no": "M1", "quantity": 1}])
    assert late.status_code == 409 and "closed" in late.json()["title"]
    assert _adjust(alice, pid, "M1", 1, "late fix") == 409
    assert alice.post(f"/api/v1/ledgers/{LEDGER}/periods/{pid}/reconciliation").status_code == 409

    csv_out = alice.get(f"/api/v1/ledger-reconciliations/{rid}/export")
    assert csv_out.status_code == 200 and csv_out.headers["content-type"].startswith("text/csv")
    text = csv_out.content.decode("utf-8-sig")
    assert text.splitlines()[0].startswith("料号 item_no,") and "进:0615=100" in text
    from openpyxl import load_workbook

    xlsx = alice.get(f"/api/v1/ledger-reconciliations/{rid}/export", params={"format": "xlsx"})
    sheet = load_workbook(io.BytesIO(xlsx.content)).active
    assert sheet is not None
    rows = list(sheet.iter_rows(values_only=True))
    m1 = next(r for r in rows if r[0] == "M1")
    assert m1[9] == 100 and m1[12] == 100  # theoretical, actual (no stocktake: actual = theoretical)


def test_stocktake_with_bad_rows_stores_nothing_and_says_which(api: Api) -> None:
    _ledger(api)
    pid = _period(api, "2026-01-01", "2026-06-30")
    alice = api("alice")
    bad = (
        "item_no,kind,quantity,unit,counted_on\n"
        "M1,material,10,kg,2026-06-30\n"  # fine
        "M9,material,1,kg,\n"  # not on the ledger
        "M2,finished,1,pcs,\n"  # wrong kind
        "M2,material,1,kg,\n"  # wrong unit (and the second M2)
        "F1,finished,-3,pcs,\n"  # negative
        "S1,semifinished,2,pcs,2026-07-01\n"
    )  # counted after the cutoff: another period
    r = alice.post(
        f"/api/v1/ledgers/{LEDGER}/periods/{pid}/stocktake/csv",
        content=bad.encode(),
        headers={"Content-Type": "text/csv"},
    )
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/problem+json")
    errs = {(e["row"], e["field"]) for e in r.json()["errors"]}
    assert errs == {(2, "item_no"), (3, "kind"), (4, "unit"), (4, "item_no"), (5, "quantity"), (6, "counted_on")}
    assert alice.get(f"/api/v1/ledgers/{LEDGER}/periods").json()[0]["stocktake"] == []
    assert (
        alice.post(
            f"/api/v1/ledgers/{LEDGER}/periods/{pid}/stocktake/xlsx",
            content=b"PK\x03\x04 junk",
            headers={"Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
        )
        .json()["errors"][0]["message"]
        .startswith("not a readable .xlsx")
    )
    from openpyxl import Workbook

    wb = Workbook()
    sheet = wb.active
    assert sheet is not None
    for row in (["item_no", "quantity", "unit"], ["M1", 12.5, "kg"], ["F1", 3, None]):
        sheet.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    ok = alice.post(
        f"/api/v1/ledgers/{LEDGER}/periods/{pid}/stocktake/xlsx",
        content=buf.getvalue(),
        headers={"Content-Type": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
    )
    assert ok.status_code == 200 and ok.json() == {"imported": 2}
    stored = alice.get(f"/api/v1/ledgers/{LEDGER}/periods").json()[0]["stocktake"]
    assert {(s["item_no"], s["kind"], s["quantity"]) for s in stored} == {
        ("M1", "material", 12.5),
        ("F1", "finished", 3),
    }
    # Only materials are adjusted; nothing happens to a period of another ledger.
    assert _adjust(alice, pid, "F1", 1, "x y") == 422
    assert alice.get(f"/api/v1/ledgers/OTHER/periods/{pid}/reconciliation").status_code == 404


def test_cutoff_and_carry_forward_between_periods(api: Api, central: Central) -> None:
    _ledger(api)
    alice, rita = api("alice"), api("rita")
    _official(api, "QD-A", "in", "0615", {"M1": 100})
    _official(api, "QD-B", "in", "0615", {"M1": 40})
    _official(api, "QD-C", "out", "0615", {"F1": 8})  # 20 kg of steel
    _gate(api, central, ["QD-A"], MARCH)
    # Gated the evening of the cutoff day, China time (still 30 June there; 1 July is after it).
    _gate(api, central, ["QD-C"], datetime(2026, 6, 30, 23, 30, tzinfo=CST))
    _gate(api, central, ["QD-B"], datetime(2026, 7, 1, 0, 30, tzinfo=CST))
    p1 = _period(api, "2026-01-01", "2026-06-30")
    assert (
        alice.post(
            f"/api/v1/ledgers/{LEDGER}/periods", json={"starts_on": "2026-07-01", "cutoff": "2026-12-31"}
        ).status_code
        == 409
    )
    first = _lines(alice.post(f"/api/v1/ledgers/{LEDGER}/periods/{p1}/reconciliation").json())
    assert first["M1"]["theoretical"] == 80 and "after_cutoff" in _codes(first["M1"])
    rid = alice.get(f"/api/v1/ledgers/{LEDGER}/reconciliations").json()[0]["id"]
    assert rita.post(f"/api/v1/ledger-reconciliations/{rid}/review", json={"approve": True}).status_code == 200

    gap = alice.post(f"/api/v1/ledgers/{LEDGER}/periods", json={"starts_on": "2026-07-02", "cutoff": "2026-12-31"})
    assert gap.status_code == 422 and "2026-07-01" in gap.json()["title"]
    p2 = _period(api, "2026-07-01", "2026-12-31")
    # A pass from before the first cutoff that reached central only now lands in the open period, flagged.
    _official(api, "QD-D", "in", "0654", {"M1": 5})
    _gate(api, central, ["QD-D"], datetime(2026, 5, 5, tzinfo=CST))
    second = _lines(alice.get(f"/api/v1/ledgers/{LEDGER}/periods/{p2}/reconciliation").json())
    assert second["M1"]["opening"] == 80  # carried forward: last period's closing
    assert second["M1"]["imports"] == {"0615": 40, "0654": 5} and second["M1"]["theoretical"] == 125
    assert "late_movement" in _codes(second["M1"]) and "after_cutoff" not in _codes(second["M1"])


def test_trade_modes_are_data_and_unknown_codes_units_are_refused_per_row(api: Api) -> None:
    _ledger(api)
    alice = api("alice")
    modes = {
        (m["code"], m["item_kind"], m["direction"]): m["effect"]
        for m in alice.get("/api/v1/ledgers/trade-modes").json()
    }
    assert modes[("4600", "finished", "in")] == "consumption_return" and modes[("0644", "material", "out")] == "export"
    doc = {
        "doc_type": "inventory_list",
        "stage": "official",
        "doc_no": "X1",
        "direction": "in",
        "trade_mode": "0110",
        "item_count": 1,
        "total_quantity": 5,
        "total_amount": 1,
        "ledger_no": LEDGER,
        "items": [{"item_no": "M1", "quantity": 5}],
    }
    r = alice.post("/api/v1/declarations", json=doc)
    assert r.status_code == 422 and "trade mode 0110 is not configured" in r.json()["title"]
    rows = [
        doc | {"trade_mode": "0615"},  # fine
        doc | {"doc_no": "X2", "trade_mode": "0615", "items": [{"item_no": "M1", "quantity": 5, "unit": "t"}]},
        doc | {"doc_no": "X3", "trade_mode": "0615", "items": [{"item_no": "M7", "quantity": 5}]},
    ]
    r = alice.post("/api/v1/declarations/import/json", json=rows)
    assert r.status_code == 422
    assert {(e["row"], e["field"]) for e in r.json()["errors"]} == {(2, "items"), (3, "items")}
    assert "kept in kg" in r.json()["errors"][0]["message"]
    assert alice.get("/api/v1/declarations").json()["total"] == 0  # nothing half-posted
    assert (
        alice.put(
            "/api/v1/ledgers/trade-modes",
            json={"code": "0110", "item_kind": "material", "direction": "in", "effect": "import", "name": "一般贸易"},
        ).status_code
        == 204
    )
    assert alice.post("/api/v1/declarations", json=doc).status_code == 201
    assert (
        alice.put(
            "/api/v1/ledgers/trade-modes",
            json={"code": "11", "item_kind": "material", "direction": "in", "effect": "import"},
        ).status_code
        == 422
    )


def _legacy(api: Api) -> dict[str, dict]:
    return {b["item_no"]: b for b in api("alice").post(f"/api/v1/ledgers/{LEDGER}/reconcile", json={}).json()}


def test_a_declaration_and_its_inventory_list_post_one_movement(api: Api, central: Central) -> None:
    _ledger(api)
    # The declaration names its inventory list: only the list posts.
    _official(api, "QD-100", "in", "0615", {"M1": 100}, list_no="QD-100")
    _official(api, "BG-100", "in", "0615", {"M1": 100}, doc_type="declaration", list_no="QD-100")
    assert _legacy(api)["M1"]["pending"] == 100
    # An old-style declaration (no list number) posted first; its list arrives later and takes its place.
    _official(api, "BG-200", "in", "0615", {"M1": 40}, doc_type="declaration", unified_no="U200")
    assert _legacy(api)["M1"]["pending"] == 140
    _official(api, "QD-200", "in", "0615", {"M1": 40}, unified_no="U200")
    assert _legacy(api)["M1"]["pending"] == 140
    _gate(api, central, ["QD-100", "BG-100", "QD-200", "BG-200"], MARCH)
    assert _legacy(api)["M1"]["imports"] == 140


def test_review_before_counting_and_after_the_truck_passed(api: Api, central: Central) -> None:
    _ledger(api)
    doc = _official(api, "清单-9", "in", "0615", {"M1": 60}, approve=False)  # non-ASCII: found in the JSON
    assert doc["review_status"] == "pending"
    _gate(api, central, ["清单-9"], MARCH)
    assert _legacy(api)["M1"]["imports"] == 0  # not reviewed: does not count
    got = api("bob").post(f"/api/v1/declarations/{doc['id']}/review", json={"approve": True}).json()
    assert got["review_status"] == "approved" and got["reviewed_by"] == "bob"
    assert _legacy(api)["M1"]["imports"] == 60  # the pass already on file backs it at once
    assert api("rita").post(f"/api/v1/declarations/{doc['id']}/review", json={"approve": False}).status_code == 409
    rej = _official(api, "QD-10", "in", "0615", {"M1": 1}, approve=False)
    r = api("rita").post(f"/api/v1/declarations/{rej['id']}/review", json={"approve": False, "note": "数量不符"})
    assert r.json()["review_status"] == "rejected" and r.json()["review_note"] == "数量不符"
    assert _legacy(api)["M1"]["pending"] == 0


def test_official_overwrites_its_matched_draft_and_keeps_the_diff(api: Api) -> None:
    alice = api("alice")
    base = {
        "doc_type": "inventory_list",
        "direction": "in",
        "trade_mode": "0615",
        "item_count": 1,
        "total_quantity": 10,
        "list_no": "QD-77",
    }
    draft = alice.post(
        "/api/v1/declarations", json=base | {"stage": "draft", "doc_no": "D-77", "total_amount": 100}
    ).json()
    off = alice.post(
        "/api/v1/declarations",
        json=base | {"stage": "official", "doc_no": "O-77", "total_amount": 120.5, "unified_no": "U-77"},
    ).json()
    assert off["matched_id"] == draft["id"]
    now = alice.get(f"/api/v1/declarations/{draft['id']}").json()
    assert (now["total_amount"], now["unified_no"]) == (120.5, "U-77")
    diff = alice.get(f"/api/v1/declarations/{off['id']}/diff").json()
    assert diff["draft_id"] == draft["id"] and diff["fields"] == {
        "total_amount": {"draft": 100, "official": 120.5},
        "unified_no": {"draft": None, "official": "U-77"},
    }
    assert alice.get(f"/api/v1/declarations/{draft['id']}/diff").json() == diff
    assert alice.post(f"/api/v1/declarations/{draft['id']}/unmatch").status_code == 204
    back = alice.get(f"/api/v1/declarations/{draft['id']}").json()
    assert (back["total_amount"], back["unified_no"], back["overwrite_diff"]) == (100, None, None)
