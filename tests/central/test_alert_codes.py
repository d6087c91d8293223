"""Alerts are stored as a code with parameters and read in the reader's language (issue 19):
Chinese by default, English by choice, an alert from before codes keeps its text; a truck held
for its documents raises an alert where the routing sends it."""

from __future__ import annotations

from central_helpers import Api, ingest, transit_row
from sqlalchemy import text

from kakou.central import alerts, audit, migrate, projections, transit
from kakou.central.db import Base
from kakou.central.service import Central
from kakou.central.tables import AlertRow
from kakou.sync.checks import CheckCode, check

HEAVY = {
    "code": "weight_over",
    "ok": False,
    "params": {"gross_kg": 41000, "expected_kg": 30000, "diff_kg": 11000, "tolerance_kg": 900},
}
NO_ORDER = {"code": "release_order_missing", "ok": False, "params": {"plate": "粤B77777"}}
HIT = {
    "code": "control_order_hit",
    "ok": False,
    "params": {"order_no": "BK1", "target": "vehicle", "value": "粤B66666", "note": "inspect"},
}
EXPIRED = {"code": "release_order_expired", "ok": False, "params": {"order_no": "HF9", "at": "2026-12-01"}}
CAMERA = {"code": "device_fault", "ok": False, "params": {"fault": "plate camera timeout"}}


def test_alerts_from_passes_read_in_chinese_and_in_english(api: Api, central: Central) -> None:
    ingest(central, 1, "粤B22222", outcome="officer", checks=[HEAVY])
    ingest(central, 2, None, outcome="officer", checks=[CAMERA])
    projections.run_all(central)
    items = api("fred").get("/api/v1/alerts", params={"mine": True}).json()["items"]
    by_kind = {a["kind"]: a for a in items}

    heavy = by_kind["weight_anomaly"]
    assert heavy["code"] == "pass_findings"
    assert heavy["params"]["findings"] == [{"code": "weight_over", "params": HEAVY["params"]}]
    assert (
        heavy["texts"]["zh"]
        == heavy["message"]
        == "n1/L1 粤B22222：超重：毛重 41000 kg，预期 30000 kg（+11000 kg，允差 ±900 kg）"
    )
    assert heavy["texts"]["en"] == ("n1/L1 粤B22222: gross 41000 kg vs expected 30000 kg: +11000 kg, tolerance ±900 kg")
    fault = by_kind["device_fault"]
    assert fault["texts"] == {
        "zh": "n1/L1：设备故障：plate camera timeout",
        "en": "n1/L1: device fault: plate camera timeout",
    }
    # No English sentence is stored for the Chinese reader, and no Chinese one for the English reader.
    assert not any("gross" in a["texts"]["zh"] for a in items)
    assert not any("超重" in a["texts"]["en"] for a in items)


def test_alerts_from_transits_and_offline_nodes_are_codes_too(api: Api, central: Central) -> None:
    from kakou.central import ingest as central_ingest

    central_ingest.set_presence(central, "n7", online=False)
    projections.check_nodes(central)
    offline = api("fred").get("/api/v1/alerts", params={"kind": "lane_offline"}).json()["items"][0]
    assert offline["code"] == "node_offline"
    assert offline["texts"]["zh"].startswith("边缘节点 n7 自 ") and offline["texts"]["en"].startswith("edge node n7 ")

    with audit.write(central, "test") as w:  # a wrong seal at entry, as transit.on_pass finds it
        row = transit_row("TR1", 6, e_seal="S-1")
        w.session.add(row)
        w.session.flush()
        transit._seal(w, row, transit.SealSeen([check(CheckCode.E_SEAL_NONE, True)]), "p1", "entry")
    seal = api("fred").get("/api/v1/alerts", params={"kind": "transit_seal"}).json()["items"][0]
    assert seal["texts"] == {
        "zh": "转关 TR1：起运地电子关锁为 未读到，申报为 S-1",
        "en": "transit TR1: e-seal at entry is not read, declared S-1",
    }


def test_an_alert_stored_before_codes_shows_its_text_in_both_languages(api: Api, central: Central) -> None:
    with audit.write(central, "test") as w:
        alerts.raise_alert(w, "device_fault", "n1/L1", "地磅无响应", "old:1")
    a = api("fred").get("/api/v1/alerts").json()["items"][0]
    assert a["code"] is None and a["texts"] == {"zh": "地磅无响应", "en": "地磅无响应"}


def test_a_truck_held_for_no_release_order_raises_a_field_alert(api: Api, central: Central) -> None:
    ingest(central, 1, "粤B77777", outcome="officer", checks=[NO_ORDER])
    ingest(central, 2, "粤B77777", outcome="release", reasons=["ok"])  # released later: no alert of its own
    ingest(central, 3, "粤B88888", outcome="officer", checks=[EXPIRED])
    ingest(central, 4, "粤B66666", outcome="inspection", checks=[HIT, NO_ORDER])  # the hit's alert leads
    projections.run_all(central)
    projections.run_all(central)  # once per pass
    mine = api("fred").get("/api/v1/alerts", params={"mine": True, "kind": "document_hold"}).json()["items"]
    assert sorted(a["source"] for a in mine) == ["n1-L1-1", "n1-L1-3"]
    held = next(a for a in mine if a["source"] == "n1-L1-1")
    assert held["route_role"] == "field_staff" and held["subject"] == "粤B77777"
    assert held["texts"] == {
        "zh": "n1/L1 粤B77777：无核放单：粤B77777",
        "en": "n1/L1 粤B77777: no release order for 粤B77777",
    }
    kinds = {a["kind"] for a in api("fred").get("/api/v1/alerts", params={"subject": "粤B66666"}).json()["items"]}
    assert kinds == {"control_hit"}
    # Not for the central officers' queue by default.
    assert api("alice").get("/api/v1/alerts", params={"mine": True}).json()["items"] == []


def test_the_routing_rules_send_document_holds_where_they_say(api: Api, central: Central) -> None:
    r = api("admin").post(
        "/api/v1/alert-routes",
        json={"kind": "document_hold", "subject_prefix": "粤B9", "role": "central_officer", "severity": "high"},
    )
    assert r.status_code == 201, r.text
    ingest(central, 1, "粤B99999", outcome="officer", checks=[NO_ORDER])
    ingest(central, 2, "粤B11111", outcome="officer", checks=[NO_ORDER])
    projections.run_all(central)
    alice = api("alice").get("/api/v1/alerts", params={"mine": True}).json()["items"]
    fred = api("fred").get("/api/v1/alerts", params={"mine": True}).json()["items"]
    assert [(a["subject"], a["severity"]) for a in alice] == [("粤B99999", "high")]
    assert [a["subject"] for a in fred] == ["粤B11111"]


def test_the_migration_keeps_old_alerts_and_adds_the_code_columns(central: Central) -> None:
    engine = central.sessions.kw["bind"]
    url = engine.url.render_as_string(hide_password=False)
    with engine.begin() as conn:
        Base.metadata.drop_all(conn)
    migrate.upgrade(url, "0011")
    with engine.begin() as conn:
        conn.execute(
            text(
                "INSERT INTO alerts (kind, severity, subject, message, route_role, status, dedupe_key, "
                "created_at, disposal, notes) VALUES ('device_fault', 'medium', 'n1/L1', "
                "'n1/L1：地磅无响应', 'field_staff', 'open', 'old:1', CURRENT_TIMESTAMP, '', '[]')"
            )
        )
    migrate.upgrade(url, "0016")
    with central.sessions() as s:
        row = s.get(AlertRow, 1)
        assert row is not None and row.message == "n1/L1：地磅无响应" and row.code is None and row.params is None


def test_every_alert_code_reads_in_english_without_chinese() -> None:
    """Each alert text, route deviation, stop, device down and transit check included: the English
    reading of a code carries no Chinese of its own (only what the parameters hold)."""
    import string

    from kakou.central.alert_texts import TEXTS, AlertCode, render

    for code in AlertCode:
        zh, en = TEXTS[code]
        fields = {f for _, f, _, _ in string.Formatter().parse(zh + en) if f}
        params = {
            f: 1 if f in ("off_m", "corridor_m", "minutes", "limit_min", "over", "remain", "time_limit_h") else f"P{i}"
            for i, f in enumerate(sorted(fields))
        }
        params.pop("findings", None)
        text = render(code, params, "en")
        assert text and not any("\u4e00" <= ch <= "\u9fff" for ch in text), (code, text)
        assert render(code, params, "zh") != text
