"""The gate manuals' queries and figures (issue 18 item 5, seed 004 查询统计): by yard (site), by
document type, combined filters, transit statistics, the intervention record by officer and time;
and one definition of each rate: the lane, central's lane statistics and its combined statistics
give the same numbers for the same passes. SQLite and PostgreSQL."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from central_helpers import Api, issue_order, lane_pass, transit_row

from kakou.central import ingest
from kakou.central.service import Central
from kakou.central.tables import TransitRow
from kakou.edge.records import LaneRecords
from kakou.edge.store import EdgeStore
from kakou.sync.checks import CheckCode, check
from kakou.sync.messages import Envelope, PassRecord

NOW = datetime.now(UTC).replace(microsecond=0)
RATES = (
    "passes",
    "recognition_rate",
    "manual_intervention_rate",
    "held_rate",
    "inspection_rate",
    "hit_rate",
    "device_availability",
)


def rec(
    seq: int,
    *,
    node: str = "n1",
    lane: str = "L1",
    plate: str | None = "粤B10000",
    outcome: str = "release",
    at: datetime = NOW,
    supersedes: str | None = None,
    entered_by: str | None = None,
    checks: list[Any] | None = None,
    orders: list[str] | None = None,
    direction: str = "in",
    containers: list[str] | None = None,
) -> PassRecord:
    return lane_pass(
        seq,
        plate,
        at,
        node=node,
        lane=lane,
        confidence=0.9,
        direction=direction,
        outcome=outcome,
        checks=checks or [],
        supersedes=supersedes,
        entered_by=entered_by,
        release_orders=orders or [],
        release_order=orders[0] if orders else None,
        containers=containers or [],
    )


def store(central: Central, records: list[PassRecord]) -> None:
    for i, r in enumerate(records, start=1):
        ingest.ingest_pass(central, Envelope(node=r.node, seq=i, kind="pass", sent_at=NOW, body=r))


def a_lane_day() -> list[PassRecord]:
    override = check(CheckCode.OFFICER_OVERRIDE, True, officer="o1", note="证件齐全")
    return [
        rec(1),  # read and released
        rec(
            2,
            plate=None,
            outcome="officer",
            checks=[check(CheckCode.PLATE_NOT_READ, False), check(CheckCode.DEVICE_FAULT, False, fault="camera")],
        ),
        rec(3, supersedes="n1-L1-2", entered_by="o1", checks=[override]),  # the officer's decision on pass 2
        rec(
            4,
            outcome="inspection",
            checks=[
                check(
                    CheckCode.CONTROL_ORDER_HIT, False, order_no="BK1", target="vehicle", value="粤B10000", note="线报"
                )
            ],
        ),
        rec(5, entered_by="o2", checks=[check(CheckCode.PLATE_ENTERED, True, plate="粤B10000", officer="o2")]),
    ]


def test_lane_central_and_combined_statistics_count_by_the_one_definition(
    api: Api, central: Central, tmp_path: Path
) -> None:
    day = a_lane_day()
    store(central, day)
    edge = EdgeStore(tmp_path / "edge.db")
    try:
        for r in day:
            edge.record_pass(r, {})
        at_lane = LaneRecords(edge, tmp_path / "img").lane_stats("L1", since=NOW - timedelta(hours=1))
    finally:
        edge.close()
    lane = api("lena").get("/api/v1/stats/lanes").json()[0]
    combined = api("lena").get("/api/v1/stats/passes").json()["totals"]
    expected = {
        "passes": 4,
        "recognition_rate": 0.5,
        "manual_intervention_rate": 0.5,
        "held_rate": 0.5,
        "inspection_rate": 0.25,
        "hit_rate": 0.25,
        "device_availability": 0.75,
    }
    assert {k: at_lane[k] for k in RATES} == expected
    assert {k: lane[k] for k in RATES} == expected
    assert {k: combined[k] for k in RATES} == expected
    defs = api("lena").get("/api/v1/stats/definitions").json()
    assert defs["manual_intervention_rate"]["zh"] == "人工干预率" and "÷ 通行数" in defs["held_rate"]["definition_zh"]
    script = api.anonymous().get("/ui/check-texts.js").text
    assert "rate_def.manual_intervention_rate" in script  # the console's footnotes, from the same place


def _sites_and_documents(api: Api) -> None:
    alice = api("alice")
    for code in ("YARD-A", "YARD-B"):
        assert alice.put("/api/v1/registrations/site", json={"code": code, "name": code}).status_code == 200
    for node, site in (("na", "YARD-A"), ("nb", "YARD-B")):
        assert (
            alice.put(
                "/api/v1/registrations/lane", json={"node": node, "lane": "L1", "site": site, "direction": "in"}
            ).status_code
            == 200
        )
    for doc_no, doc_type in (("D-DEC", "declaration"), ("D-INV", "inventory_list")):
        r = alice.post(
            "/api/v1/declarations",
            json={
                "doc_type": doc_type,
                "stage": "official",
                "doc_no": doc_no,
                "direction": "in",
                "trade_mode": "0110",
                "item_count": 0,
                "total_quantity": 1,
                "total_amount": 1,
            },
        )
        assert r.status_code == 201, r.text
    window = {
        "direction": "in",
        "valid_from": (NOW - timedelta(hours=2)).isoformat(),
        "valid_until": (NOW + timedelta(hours=2)).isoformat(),
    }
    issue_order(api, {"order_no": "HF-DEC", "plate": "粤B1", "declarations": ["D-DEC"], **window})
    issue_order(api, {"order_no": "HF-INV", "plate": "粤B2", "declarations": ["D-INV"], **window})
    issue_order(api, {"order_no": "HF-BARE", "plate": "粤B3", **window})


def test_by_yard_by_document_type_and_combined(api: Api, central: Central) -> None:
    _sites_and_documents(api)
    store(
        central,
        [
            rec(1, node="na", plate="粤B1", orders=["HF-DEC"]),
            rec(2, node="na", plate="粤B2", orders=["HF-INV"], containers=["CSQU3054383"]),
            rec(3, node="na", plate="粤B9", outcome="officer"),  # no order
            rec(4, node="nb", plate="粤B3", orders=["HF-BARE"]),
            rec(5, node="nb", plate="粤B1", orders=["HF-DEC"], outcome="inspection", at=NOW - timedelta(days=2)),
        ],
    )
    lena = api("lena")

    def grouped(**params: Any) -> dict[str, int]:
        r = lena.get("/api/v1/stats/passes", params=params)
        assert r.status_code == 200, r.text
        return {g["key"]: g["passes"] for g in r.json()["groups"]}

    assert grouped(group_by="site") == {"YARD-A": 3, "YARD-B": 2}
    assert grouped(group_by="doc_type") == {"declaration": 2, "inventory_list": 1, "none": 1, "release_order": 1}
    # 综合: a yard, a document type, a time window, an outcome — together.
    since = (NOW - timedelta(hours=1)).isoformat()
    assert grouped(group_by="site", doc_type="declaration") == {"YARD-A": 1, "YARD-B": 1}
    assert grouped(group_by="site", doc_type="declaration", since=since) == {"YARD-A": 1}
    assert grouped(group_by="outcome", site="YARD-A") == {"officer": 1, "release": 2}
    assert grouped(group_by="lane", doc_no="D-INV") == {"na/L1": 1}  # by a declaration's number
    assert grouped(group_by="day", doc_no="HF-DEC")[NOW.strftime("%Y-%m-%d")] == 1  # by the order's number
    assert grouped(group_by="site", container="CSQU3054383") == {"YARD-A": 1}
    totals = lena.get("/api/v1/stats/passes", params={"site": "YARD-B"}).json()["totals"]
    assert totals["passes"] == 2 and totals["inspection_rate"] == 0.5
    assert lena.get("/api/v1/stats/passes", params={"site": "NOWHERE"}).json()["totals"]["passes"] == 0
    assert lena.get("/api/v1/stats/passes", params={"group_by": "weather"}).status_code == 422
    bad = lena.get("/api/v1/stats/passes", params={"since": NOW.isoformat(), "until": NOW.isoformat()})
    assert bad.status_code == 422


def test_intervention_record_by_officer_and_time(api: Api, central: Central) -> None:
    confirmed = check(CheckCode.OFFICER_OVERRIDE_CONFIRMED, True, officer="o2", confirmed_by="o3", note="布控已核实")
    store(
        central,
        [
            *a_lane_day(),
            rec(6, outcome="officer", at=NOW - timedelta(days=3)),
            rec(
                7,
                supersedes="n1-L1-6",
                at=NOW - timedelta(days=3),
                checks=[check(CheckCode.OFFICER_OVERRIDE, True, officer="o1", note="旧记录")],
            ),
            rec(8, supersedes="n1-L1-4", checks=[confirmed]),
        ],
    )
    lena = api("lena")

    def search(**params: Any) -> list[tuple[str, str]]:
        r = lena.get("/api/v1/stats/interventions", params=params)
        assert r.status_code == 200, r.text
        return [(i["pass_id"], i["action"]) for i in r.json()["items"]]

    assert sorted(search(officer="o1")) == [("n1-L1-3", "officer_override"), ("n1-L1-7", "officer_override")]
    assert search(officer="o1", since=(NOW - timedelta(days=1)).isoformat()) == [("n1-L1-3", "officer_override")]
    assert search(officer="o3") == [("n1-L1-8", "officer_override_confirmed")]  # the confirming officer
    assert sorted(search(officer="o2")) == [("n1-L1-5", "plate_entered"), ("n1-L1-8", "officer_override_confirmed")]
    item = lena.get("/api/v1/stats/interventions", params={"officer": "o3"}).json()["items"][0]
    assert item["text"] == "关员 o2 人工改判（o3 复核）：布控已核实" and item["supersedes"] == "n1-L1-4"
    assert len(search()) == 4 and search(officer="nobody") == []


def test_transit_statistics(api: Api, central: Central) -> None:
    def t(no: str, status: str, hours: float | None, seal_ok: bool | None = True, dest: str = "B") -> TransitRow:
        start = NOW - timedelta(hours=30)
        return transit_row(
            no,
            24,
            destination_site=dest,
            status=status,
            started_at=start if status != "declared" else None,
            closed_at=start + timedelta(hours=hours) if hours is not None else None,
            seal_ok=seal_ok,
        )

    with central.sessions.begin() as s:
        s.add_all(
            [
                t("T1", "closed", 10),
                t("T2", "closed", 20),
                t("T3", "closed_late", 27, seal_ok=False),
                t("T4", "en_route", None),
                t("T5", "overdue", None),
                t("T6", "declared", None),
                t("T7", "closed", 5, dest="C"),
            ]
        )
    got = api("lena").get("/api/v1/stats/transits").json()
    ab = next(g for g in got if g["destination_site"] == "B")
    assert (ab["transits"], ab["declared"], ab["en_route"], ab["overdue"]) == (6, 1, 1, 1)
    assert (ab["closed_on_time"], ab["closed_late"], ab["on_time_rate"], ab["mean_hours"]) == (2, 1, 0.6667, 19.0)
    assert ab["seal_mismatches"] == 1
    windowed = (
        api("lena")
        .get("/api/v1/stats/transits", params={"since": (NOW - timedelta(hours=31)).isoformat(), "site": "C"})
        .json()
    )
    assert [(g["destination_site"], g["transits"]) for g in windowed] == [("C", 1)]
