"""`kakou demo`: broker + central + one edge node with one lane + device simulators + trucks.

Everything runs on the embedded defaults (SQLite files in a data directory; Mosquitto when
installed, amqtt otherwise) and talks over real sockets: MQTT, Modbus TCP, HTTP.
"""

from __future__ import annotations

import asyncio
import json
import logging
import shutil
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx

from kakou.broker import EmbeddedBroker, MosquittoBroker, pick_broker
from kakou.central.images import NodeTokens
from kakou.central.server import CentralConfig, CentralServer
from kakou.edge.config import CameraSection, EdgeConfig, LaneSection, ModbusEndpoint, NodeSection
from kakou.edge.image_upload import CONFIG_FILE as UPLOAD_CONFIG
from kakou.edge.node import EdgeNode
from kakou.edge.officers import hash_pin
from kakou.protocols.cardreader import CardReaderConfig
from kakou.protocols.display import DisplayConfig
from kakou.protocols.eseal import EsealReaderConfig
from kakou.protocols.serial_link import SerialSettings
from kakou.protocols.weighbridge import WeighbridgeConfig
from kakou.sim.scenario import LaneSims, start_lane_sims
from kakou.sync.messages import ReleaseOrderData
from kakou.sync.mqtt import BrokerConfig
from kakou.waiting import eventually

log = logging.getLogger("kakou.demo")
DEMO_OFFICER, DEMO_PIN = "officer1", "1234"  # the lane screen's demo login; printed at start
# A second lane officer: releasing a truck held on a control order (布控) takes two.
DEMO_OFFICER2, DEMO_PIN2 = "officer2", "5678"


@dataclass
class DemoPorts:
    mqtt: int = 18830
    central: int = 8080
    edge: int = 8090


@dataclass
class Stack:
    broker: MosquittoBroker | EmbeddedBroker
    central: CentralServer
    edge: EdgeNode
    sims: LaneSims


async def start_stack(
    data_dir: Path,
    ports: DemoPorts,
    embedded_broker: bool = False,
    recogniser: object | None = None,
    full_lane: bool = False,
) -> tuple[Stack, list[asyncio.Task]]:
    """Start every part; return them and the tasks that run them (cancel to stop).

    `full_lane` adds a container camera, a weighbridge (Toledo continuous output on a pty), an RFID
    e-plate reader, an IC card reader and the driver's LED sign (serial display) to the lane;
    without it the lane has barrier I/O and a plate camera only (the walking skeleton).
    """
    broker = pick_broker(ports.mqtt, data_dir / "broker", prefer_embedded=embedded_broker)
    await broker.start()
    broker_cfg = BrokerConfig(port=broker.port)
    central = CentralServer(CentralConfig(data_dir=data_dir / "central", http_port=ports.central, broker=broker_cfg))
    if full_lane:
        (data_dir / "dev").mkdir(parents=True, exist_ok=True)  # the serial simulators' pty links
    sims = await start_lane_sims(
        container_camera_port=0 if full_lane else None,
        weighbridge_protocol="toledo" if full_lane else None,
        rfid=full_lane,
        card=full_lane,
        display=full_lane,
        e_seal=full_lane,
        link_dir=str(data_dir / "dev") if full_lane else None,
    )
    lane = LaneSection(
        id="L1",
        direction="in",
        io=ModbusEndpoint(url=sims.io.url),
        plate_camera=CameraSection(url=sims.plate_camera.url),
    )
    if full_lane:
        assert sims.container_camera and sims.weighbridge and sims.rfid and sims.card and sims.display and sims.e_seal
        lane = lane.model_copy(
            update={
                "display": DisplayConfig(serial=SerialSettings(port=sims.display.path)),
                "container_camera": CameraSection(url=sims.container_camera.url),
                "weighbridge": WeighbridgeConfig(serial=SerialSettings(port=sims.weighbridge.path), protocol="toledo"),
                "rfid": CardReaderConfig(serial=SerialSettings(port=sims.rfid.path), kind="rfid"),
                "ic_card": CardReaderConfig(serial=SerialSettings(port=sims.card.path), kind="card"),
                "e_seal": EsealReaderConfig(serial=SerialSettings(port=sims.e_seal.path)),
            }
        )
    edge_cfg = EdgeConfig(
        node=NodeSection(id="gate1-edge1", site="gate1", data_dir=data_dir / "edge"),
        broker=broker_cfg,
        central={"public_key_files": [central.cfg.public_key_path]},
        http={"port": ports.edge},
        officers=[
            {"id": DEMO_OFFICER, "name": "Demo Officer 值班关员", "pin_hash": hash_pin(DEMO_PIN)},
            {"id": DEMO_OFFICER2, "name": "Second Officer 复核关员", "pin_hash": hash_pin(DEMO_PIN2)},
        ],
        lanes=[lane],
    )
    # The node's image-upload token, as `kakou node enrol` would hand it to a site's technician.
    edge_cfg.node.data_dir.mkdir(parents=True, exist_ok=True)
    token = NodeTokens(central.cfg.data_dir / "keys" / "node-tokens.json").issue(edge_cfg.node.id)
    (edge_cfg.node.data_dir / UPLOAD_CONFIG).write_text(json.dumps({"url": central.url, "token": token}))
    edge = EdgeNode(edge_cfg, plate_recogniser=recogniser)  # type: ignore[arg-type]
    tasks = [asyncio.create_task(central.run(), name="central")]
    # Central listens before the lane starts, as at a site where central runs before the lanes: the
    # node's first device report is fire-and-forget (repeated later) and would otherwise race it.
    connected = asyncio.create_task(central.bridge.connected.wait())
    await asyncio.wait({connected, tasks[0]}, timeout=60, return_when=asyncio.FIRST_COMPLETED)
    if not connected.done():
        connected.cancel()
        await stop_stack(Stack(broker, central, edge, sims), tasks)
        raise RuntimeError("central did not connect to the broker within 60 s")
    tasks.append(asyncio.create_task(edge.run(), name="edge"))
    return Stack(broker, central, edge, sims), tasks


async def stop_stack(stack: Stack, tasks: list[asyncio.Task], timeout: float = 60.0) -> None:
    """Stop everything; a part that will not stop within `timeout` is an error, not a hang."""
    for t in tasks:
        t.cancel()
    try:
        await asyncio.wait_for(asyncio.gather(*tasks, return_exceptions=True), timeout)
    finally:
        await stack.sims.stop()
        await stack.broker.stop()


DEMO_ADMIN, DEMO_PASSWORD = "demo-admin", "kakou-demo-admin-1"


async def authorize(stack: Stack, http: httpx.AsyncClient) -> None:
    """Create the demo admin if missing and log `http` in as them (central's API needs a token)."""
    from kakou.central import auth
    from kakou.central.service import Conflict

    try:
        await asyncio.to_thread(
            auth.add_user, stack.central.central, "demo", DEMO_ADMIN, auth.Role.ADMIN, DEMO_PASSWORD
        )
    except Conflict:
        pass
    resp = await http.post("/api/v1/auth/login", json={"username": DEMO_ADMIN, "password": DEMO_PASSWORD})
    resp.raise_for_status()
    http.headers["Authorization"] = f"Bearer {resp.json()['access_token']}"


DEMO_REVIEWER, DEMO_REVIEWER_PASSWORD = "demo-reviewer", "kakou-demo-reviewer-1"


async def issue_release_order(stack: Stack, http: httpx.AsyncClient, order: dict) -> httpx.Response:
    """File `order` as `http`'s user (a draft), then have the demo reviewer — a second person, as
    the reviewer is never the preparer — approve it for the lanes. Returns the approval response
    (`version`: the knowledge version the lanes will reach), or the refused filing."""
    from kakou.central import auth
    from kakou.central.service import Conflict

    filed = await http.post("/api/v1/release-orders", json=order)
    if filed.status_code != 201:
        return filed
    try:
        await asyncio.to_thread(
            auth.add_user, stack.central.central, "demo", DEMO_REVIEWER, auth.Role.REVIEWER, DEMO_REVIEWER_PASSWORD
        )
    except Conflict:
        pass
    async with httpx.AsyncClient(base_url=http.base_url, timeout=http.timeout) as reviewer:
        resp = await reviewer.post(
            "/api/v1/auth/login", json={"username": DEMO_REVIEWER, "password": DEMO_REVIEWER_PASSWORD}
        )
        resp.raise_for_status()
        return await reviewer.post(
            f"/api/v1/release-orders/{order['order_no']}/review",
            json={"approve": True},
            headers={"Authorization": f"Bearer {resp.json()['access_token']}"},
        )


def demo_order(plate: str, order_no: str) -> ReleaseOrderData:
    now = datetime.now(UTC)
    return ReleaseOrderData(
        order_no=order_no,
        plate=plate,
        direction="in",
        valid_from=now - timedelta(hours=1),
        valid_until=now + timedelta(hours=12),
    )


@dataclass(frozen=True)
class DemoTruck:
    plate: str
    kind: str  # plate colour
    tag: str  # RFID e-plate id
    card: str  # driver's IC card
    box: str  # container number
    declared_kg: float | None  # None: central holds no release order for this truck
    weighs_kg: float


DEMO_TRUCKS = [
    DemoTruck("粤B12345", "blue", "E2801160600002051234A001", "04A1B2C3D4E5F1", "CSQU3054383", 30_000, 30_180),
    DemoTruck("沪AD12345", "green", "E2801160600002051234A002", "04A1B2C3D4E5F2", "MSKU1234565", 24_000, 24_090),
    DemoTruck("京AF12345", "green", "E2801160600002051234A003", "04A1B2C3D4E5F3", "TGHU7654320", 18_000, 21_400),
    DemoTruck("苏E88888", "yellow", "E2801160600002051234A004", "04A1B2C3D4E5F4", "OOLU1122335", None, 26_000),
]


async def seed_central(stack: Stack, http: httpx.AsyncClient) -> int:
    """Registrations and release orders for the demo's trucks; returns the knowledge version."""
    now = datetime.now(UTC)
    version = 0
    for i, t in enumerate(DEMO_TRUCKS):
        for kind, data in (
            ("vehicle", {"plate": t.plate, "e_plate": t.tag, "tare_kg": 14_000}),
            ("driver", {"driver_id": f"D{i:03d}", "ic_card": t.card, "name": f"Driver {i}"}),
        ):
            (await http.put(f"/api/v1/registrations/{kind}", json=data)).raise_for_status()
        if t.declared_kg is not None:
            r = await issue_release_order(
                stack,
                http,
                {
                    "order_no": f"HF{now:%Y%m%d}{i:04d}",
                    "plate": t.plate,
                    "containers": [t.box],
                    "direction": "in",
                    "valid_from": (now - timedelta(hours=1)).isoformat(),
                    "valid_until": (now + timedelta(hours=12)).isoformat(),
                    "declared_gross_kg": t.declared_kg,
                },
            )
            r.raise_for_status()
            version = max(version, r.json()["version"])
    return version


async def run_demo(data_dir: Path, ports: DemoPorts, embedded_broker: bool, trucks: int | None, interval: float) -> int:
    from kakou.demo_day import DemoDay, seed_day  # the day's scenario builds on this module

    # The demo starts from a known state every time.
    await asyncio.to_thread(shutil.rmtree, data_dir, ignore_errors=True)
    stack, tasks = await start_stack(data_dir, ports, embedded_broker, full_lane=True)
    try:
        print(f"kakou demo — broker: {stack.broker.kind} on mqtt://127.0.0.1:{stack.broker.port}")
        print(f"  central console {stack.central.url}/console   field staff {stack.central.url}/field")
        print(f"  central login   {DEMO_ADMIN} / {DEMO_PASSWORD} (admin)")
        print(f"  reviewer login  {DEMO_REVIEWER} / {DEMO_REVIEWER_PASSWORD} (approves the demo's release orders)")
        print(f"  central API     {stack.central.url}/api/v1/passes   (OpenAPI: {stack.central.url}/docs)")
        print(
            f"  lane screen     {stack.edge.url}/lane   (officer {DEMO_OFFICER}, PIN {DEMO_PIN}; "
            f"second officer {DEMO_OFFICER2}, PIN {DEMO_PIN2})"
        )
        print(f"  edge lane API   {stack.edge.url}/api/v1/status")
        print("  stop with Ctrl-C", flush=True)
        async with httpx.AsyncClient(base_url=stack.central.url, timeout=10) as http:
            await authorize(stack, http)
            version = await seed_day(stack, http)
            await eventually(
                lambda: stack.edge.store.knowledge_version >= version,
                30,
                what="registrations and release orders to reach the lane",
            )
            # Each truck's line is printed as the lane decided it, then as central recorded it; an
            # outage of central or the broker is reported, never waited out (kakou.demo_day).
            await DemoDay(stack, http, say=lambda line: print(line, flush=True)).run(trucks, interval)
    finally:
        await stop_stack(stack, tasks)
    return 0
