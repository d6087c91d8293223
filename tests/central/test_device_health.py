"""Device health per kind, lane and site from the lanes' device states (issue 18 item 6): what a
technician or a site manager reads — which device is down now and since when, how often each kind
fails, how long a repair takes — and the alert when a device stays down too long.

SQLite and PostgreSQL; the reports come through a real Mosquitto and central's real bridge.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta

import aiomqtt
from central_helpers import Api
from sqlalchemy import func, select

from kakou.broker import MosquittoBroker
from kakou.central import device_health, registry
from kakou.central.bridge import CentralBridge
from kakou.central.housekeeping import Housekeeper
from kakou.central.service import Central
from kakou.central.tables import AlertRow, DeviceEventRow
from kakou.sync import topics
from kakou.sync.devices import DeviceReport, DeviceState
from kakou.waiting import eventually

T0 = datetime(2026, 12, 1, 0, 0, tzinfo=UTC)
DAY = timedelta(days=1)


def state(lane: str, device: str, kind: str, st: str, at: datetime, code: str = "") -> DeviceState:
    return DeviceState(lane=lane, device=device, kind=kind, state=st, at=at, code=code)


def register_lanes(c: Central) -> None:
    registry.upsert(c, "admin", "site", {"code": "S1", "name": "一号卡口"})
    for node, lane in (("n1", "L1"), ("n1", "L2")):
        registry.upsert(c, "admin", "lane", {"node": node, "lane": lane, "site": "S1", "direction": "in"})


def flaky_camera_day(c: Central) -> None:
    """L1's plate camera fails twice (30 min, then fault → offline → ok: 60 min); its weighbridge
    never; L2's camera fails once at the very end of the day and is still down."""
    device_health.record(
        c,
        DeviceReport(
            node="n1",
            states=[
                state("L1", "cam-1", "plate_camera", "ok", T0 - timedelta(hours=2)),
                state("L1", "wb-1", "weighbridge", "ok", T0 - timedelta(hours=2)),
                state("L1", "cam-1", "plate_camera", "fault", T0 + timedelta(hours=1), "no_frame"),
                state("L1", "cam-1", "plate_camera", "ok", T0 + timedelta(hours=1, minutes=30)),
                state("L1", "cam-1", "plate_camera", "fault", T0 + timedelta(hours=5), "no_frame"),
                state("L1", "cam-1", "plate_camera", "offline", T0 + timedelta(hours=5, minutes=10), "unreachable"),
                state("L1", "cam-1", "plate_camera", "ok", T0 + timedelta(hours=6)),
                state("L2", "cam-2", "plate_camera", "ok", T0),
                state("L2", "cam-2", "plate_camera", "offline", T0 + DAY - timedelta(hours=1), "unreachable"),
            ],
        ),
    )


def test_faults_rate_and_time_to_repair_per_device_kind_lane_and_site(central: Central) -> None:
    register_lanes(central)
    flaky_camera_day(central)
    rep = device_health.report(central, T0, T0 + DAY)
    lanes = {p.place: p for p in rep.lanes}
    cam = next(d for d in lanes["n1/L1"].devices if d.device == "cam-1")
    assert (cam.kind_label, cam.state, cam.state_label, cam.site) == ("车牌相机", "ok", "正常", "S1")
    assert cam.faults == 2 and cam.faults_per_day == 2.0
    assert cam.mttr_s == 45 * 60  # (30 + 60) / 2 minutes
    assert cam.downtime_s == 90 * 60 and cam.availability == round(1 - 5400 / 86400, 4)
    wb = next(d for d in lanes["n1/L1"].devices if d.device == "wb-1")
    assert (wb.faults, wb.mttr_s, wb.availability, wb.kind_label) == (0, None, 1.0, "地磅")
    cam2 = lanes["n1/L2"].devices[0]
    assert (cam2.state, cam2.state_label, cam2.code, cam2.since) == (
        "offline",
        "离线",
        "unreachable",
        T0 + DAY - timedelta(hours=1),
    )
    assert cam2.faults == 1 and cam2.mttr_s is None and cam2.downtime_s == 3600
    site = {k.kind: k for k in next(p for p in rep.sites if p.place == "S1").kinds}
    assert site["plate_camera"].devices == 2 and site["plate_camera"].down_now == 1
    assert site["plate_camera"].faults == 3 and site["plate_camera"].faults_per_day == 3.0
    assert site["plate_camera"].mttr_s == 45 * 60  # only repaired faults count towards the MTTR
    assert site["weighbridge"].faults == 0 and site["weighbridge"].availability == 1.0
    # The next day: the first camera's faults are outside the window; L2's camera is still down.
    rep2 = {p.place: p for p in device_health.report(central, T0 + DAY, T0 + 2 * DAY).lanes}
    assert rep2["n1/L1"].devices[0].faults == 0
    assert rep2["n1/L2"].devices[0].downtime_s == DAY.total_seconds()
    assert rep2["n1/L2"].devices[0].faults == 0  # the episode started the day before


def test_a_device_down_longer_than_the_parameter_raises_one_alert(central: Central) -> None:
    central.device_down_alert_after = timedelta(minutes=10)
    now = datetime.now(UTC)
    device_health.record(
        central,
        DeviceReport(
            node="n1",
            states=[
                state("L1", "wb-1", "weighbridge", "fault", now - timedelta(minutes=15), "unstable"),
                state("L1", "bar-1", "barrier", "fault", now - timedelta(minutes=5), "no_feedback"),
            ],
        ),
    )
    assert Housekeeper(central).round().devices_down == 1
    assert device_health.check_down(central) == 0  # the same episode: not alerted twice
    with central.sessions() as s:
        alerts = list(s.scalars(select(AlertRow)))
    assert len(alerts) == 1 and alerts[0].kind == "device_fault" and alerts[0].subject == "n1/L1"
    assert "地磅（wb-1）故障已 15 分钟" in alerts[0].message and "超过 10 分钟" in alerts[0].message
    # Repaired, then down again: a new episode, a new alert once it too lasts.
    device_health.record(
        central,
        DeviceReport(
            node="n1",
            states=[
                state("L1", "wb-1", "weighbridge", "ok", now - timedelta(minutes=14)),
                state("L1", "wb-1", "weighbridge", "offline", now - timedelta(minutes=12)),
            ],
        ),
    )
    assert device_health.check_down(central) == 1


def test_device_health_api_for_the_console(api: Api) -> None:
    register_lanes(api.central)
    flaky_camera_day(api.central)
    r = api("lena").get("/api/v1/device-health", params={"since": T0.isoformat(), "until": (T0 + DAY).isoformat()})
    assert r.status_code == 200, r.text
    body = r.json()
    assert [p["place"] for p in body["lanes"]] == ["n1/L1", "n1/L2"] and body["down_alert_after_s"] == 600
    assert body["sites"][0]["place"] == "S1"
    bad = api("lena").get("/api/v1/device-health", params={"since": T0.isoformat(), "until": T0.isoformat()})
    assert bad.status_code == 422 and "起始时间须早于结束时间" in bad.json()["title"]
    assert api.anonymous().get("/api/v1/device-health").status_code == 401


def _events(central: Central) -> int:
    with central.sessions() as s:
        return s.scalar(select(func.count()).select_from(DeviceEventRow)) or 0


async def test_lanes_report_device_states_over_mqtt_and_central_trusts_no_node(
    central: Central, bridge: CentralBridge, mosquitto: MosquittoBroker
) -> None:
    rep = DeviceReport(node="n1", states=[state("L1", "cam-1", "plate_camera", "fault", T0, "no_frame")])
    async with aiomqtt.Client("127.0.0.1", mosquitto.port, identifier="n1") as node:
        for _ in range(2):  # redelivered: stored once
            await node.publish(topics.up("n1", topics.DEVICES), rep.model_dump_json(), qos=1)
        # another node's states, a state unknown to the contract, a detail over its bound
        await node.publish(
            topics.up("n1", topics.DEVICES), rep.model_copy(update={"node": "n2"}).model_dump_json(), qos=1
        )
        bad = json.loads(rep.model_dump_json())
        bad["states"][0]["state"] = "melted"
        await node.publish(topics.up("n1", topics.DEVICES), json.dumps(bad), qos=1)
        bad["states"][0].update(state="ok", detail="x" * 5000)
        await node.publish(topics.up("n1", topics.DEVICES), json.dumps(bad), qos=1)
        await eventually(
            lambda: bridge.rejected["node mismatch"] == 1 and bridge.rejected["malformed"] == 2,
            10,
            what="the bad reports refused",
        )
    assert _events(central) == 1
    cam = device_health.devices(central, T0 - DAY, T0 + DAY)[0]
    assert (cam.node, cam.lane, cam.state, cam.code) == ("n1", "L1", "fault", "no_frame")
