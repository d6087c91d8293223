"""kill -9 of an edge node the moment its barrier rises loses nothing: the pass was written before
the barrier moved, and reaches central when the node comes back."""

from __future__ import annotations

import asyncio
import signal
import sys
from pathlib import Path

import httpx

from kakou.central import ingest, orders
from kakou.central.server import CentralConfig, CentralServer
from kakou.demo import demo_order
from kakou.edge.store import EdgeStore
from kakou.netutil import free_port
from kakou.sim.camera_sim import CameraSim
from kakou.sim.io_sim import LaneIoSim
from kakou.sim.render import encode_jpeg, render_plate_scene
from kakou.sync.mqtt import BrokerConfig
from kakou.waiting import eventually


async def _spawn(cfg: Path) -> asyncio.subprocess.Process:
    return await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "kakou.cli",
        "edge",
        "run",
        "--config",
        str(cfg),
        stdout=asyncio.subprocess.DEVNULL,
        stderr=asyncio.subprocess.DEVNULL,
    )


async def _status(url: str) -> dict | None:
    try:
        async with httpx.AsyncClient(timeout=2) as http:
            return (await http.get(f"{url}/api/v1/status")).json()
    except httpx.HTTPError:
        return None


async def test_kill_9_after_barrier_rises_loses_no_pass(tmp_path: Path, mosquitto) -> None:
    central = CentralServer(
        CentralConfig(data_dir=tmp_path / "central", http_port=0, broker=BrokerConfig(port=mosquitto.port))
    )
    central_task = asyncio.create_task(central.run())
    io, cam = LaneIoSim(), CameraSim()
    await io.start()
    await cam.start()
    edge_port = free_port()
    data = tmp_path / "edge"
    cfg = tmp_path / "edge.toml"
    cfg.write_text(f"""
[node]
id = "crash-edge"
data_dir = "{data}"
[broker]
port = {mosquitto.port}
[central]
public_key_files = ["{central.cfg.public_key_path}"]
[http]
port = {edge_port}
[[lanes]]
id = "L1"
direction = "in"
[lanes.io]
url = "{io.url}"
[lanes.plate_camera]
url = "{cam.url}"
""")
    edge_url = f"http://127.0.0.1:{edge_port}"
    proc = await _spawn(cfg)
    try:
        version = await asyncio.to_thread(
            orders.create_release_order, central.central, demo_order("粤B12345", "HF-CRASH")
        )
        await eventually(lambda: _knows(edge_url, version), 60, interval=0.2, what="the edge to get the order")
        cam.show(encode_jpeg(render_plate_scene("粤B12345", kind="blue", seed=9)))
        io.set_loop("before", True)
        assert await io.wait_barrier(up=True, timeout=30)
        proc.send_signal(signal.SIGKILL)  # the instant the barrier is up
        await proc.wait()

        store = EdgeStore(data / "edge.db")
        (rec,) = store.list_passes()
        assert rec.plate == "粤B12345" and rec.opens_barrier and rec.release_order == "HF-CRASH"
        store.close()

        io.set_loop("before", False)  # the truck drives on while the node is down
        proc = await _spawn(cfg)
        await eventually(
            lambda: ingest.list_passes(central.central, 10, 0)[0] == 1,
            60,
            interval=0.2,
            what="the pass at central after restart",
        )
        (row,) = ingest.list_passes(central.central, 10, 0)[1]
        assert row.pass_id == rec.pass_id and row.seq == 1
        # The restarted lane finds its barrier up over an empty lane and lowers it.
        assert await io.wait_barrier(up=False, timeout=30)
    finally:
        if proc.returncode is None:
            proc.terminate()
            try:
                await asyncio.wait_for(proc.wait(), 30)
            except TimeoutError:
                proc.kill()  # a node that cannot stop in 30 s is killed; the test has already decided
                await proc.wait()
        central_task.cancel()
        await asyncio.gather(central_task, return_exceptions=True)
        await io.stop()
        await cam.stop()


async def _knows(url: str, version: int) -> bool:
    status = await _status(url)
    return bool(status and status["knowledge_version"] >= version)
