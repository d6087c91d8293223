"""The README's demo, as a user runs it: URLs first, then the day at the lane — every truck as the
lane decided it and as central recorded it, through an outage of the broker and of central."""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from pathlib import Path

import httpx

from kakou.central.server import CentralServer
from kakou.demo import DemoPorts, authorize, start_stack, stop_stack
from kakou.demo_day import RELEASED, RELEASED_2, DemoDay, seed_day
from kakou.netutil import free_port
from kakou.waiting import eventually


def test_demo_runs_the_day_and_keeps_deciding_while_central_is_unreachable(tmp_path: Path) -> None:
    t0 = time.monotonic()
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "kakou.cli",
            "--log-level",
            "warning",
            "demo",
            "--trucks",
            "10",
            "--interval",
            "0",
            "--data-dir",
            str(tmp_path / "demo"),
            "--mqtt-port",
            str(free_port()),
            "--central-port",
            "0",
            "--edge-port",
            "0",
        ],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    text = out.stdout
    for ui in ("/console", "/field", "/lane", "/api/v1/passes"):
        assert re.search(rf"http://127\.0\.0\.1:\d+{ui}", text), text
    lines = [line for line in text.splitlines() if not line.startswith(" ")]
    trucks = [line for line in lines if line.startswith("truck ")]
    assert len(trucks) == 10, text
    released = "passed; lane decided release"
    assert released in trucks[0] and trucks[0].endswith("central recorded release"), trucks[0]
    assert released in trucks[1] and trucks[1].endswith("central recorded release"), trucks[1]
    # The inspection round trip: sent to inspection, the result recorded, released against it.
    assert "turned_away; lane decided inspection (超重：毛重 21400 kg" in trucks[2], trucks[2]
    assert any(line.startswith("inspection area: officer1 recorded 京AF12345 关员 officer1 查验通过") for line in lines)
    assert "passed; lane decided release (已查验通过（关员 officer1" in trucks[3], trucks[3]
    assert trucks[3].endswith("central recorded release"), trucks[3]
    assert "lane decided officer (无核放单：苏E88888)" in trucks[4], trucks[4]
    # Two containers on one truck under two release orders: released on both.
    assert trucks[5].startswith("truck 浙B66666 MSKU8899114+TGHU8832010") and released in trucks[5], trucks[5]
    assert re.search(r"on HF\d+, HF\d+; central recorded release$", trucks[5]), trucks[5]
    # A control-order hold: one officer is refused, two release it.
    assert any(line.startswith("lane held 闽D55555: 布控") for line in lines), text
    assert "lane: officer1 alone asks to release 闽D55555: refused (403)" in lines
    assert "lane: officer1 with officer2 confirming (own PIN): accepted (202)" in lines
    assert "lane decided release (关员 officer1 人工改判（officer2 复核）" in trucks[6], trucks[6]
    # The broker is down: the lane still decides from its cache and queues; central catches up.
    outage = lines.index(next(line for line in lines if line.startswith("broker stopped")))
    assert lines[outage + 1] == trucks[7] and lines[outage + 2] == trucks[8]
    for line in trucks[7:9]:
        assert released in line and "central unreachable: queued at the lane" in line, line
    assert "central caught up: 2 queued pass(es) recorded (粤B12345, 沪AD12345); 0 still queued" in lines, text
    # A transit (转关) arriving at its destination gate with its e-seal: released on the transit,
    # which central then closes.
    assert (
        "central: transit (转关) of 沪E77777 from SHYS with e-seal ES20261204 is open at this destination gate" in lines
    ), text
    assert "lane decided release (转关 ZG" in trucks[9] and trucks[9].endswith("central recorded release"), trucks[9]
    assert any(re.fullmatch(r"central: transit ZG\d+ closed", line) for line in lines), text
    assert time.monotonic() - t0 < 300


async def test_central_stopped_in_a_running_system_the_lane_decides_and_delivers_later(tmp_path: Path) -> None:
    stack, tasks = await start_stack(tmp_path, DemoPorts(mqtt=free_port(), central=0, edge=0), full_lane=True)
    lines: list[str] = []
    try:
        async with httpx.AsyncClient(base_url=stack.central.url, timeout=10) as http:
            await authorize(stack, http)
            version = await seed_day(stack, http)
            await eventually(lambda: stack.edge.store.knowledge_version >= version, 30, what="the lane's cache")
            day = DemoDay(stack, http, say=lines.append, central_wait=15)
            await day._plain(RELEASED)
            assert lines[-1].endswith("central recorded release"), lines

            # Central stops (its API and its MQTT consumer): nobody acknowledges the lane's passes.
            tasks[0].cancel()
            await asyncio.gather(tasks[0], return_exceptions=True)
            day.central_wait = 1
            await day._plain(RELEASED_2)
            assert "passed; lane decided release" in lines[-1], lines
            assert "central unreachable: queued at the lane (1 waiting)" in lines[-1], lines
            queued = day.queued[0]
            assert stack.edge.store.outbox_counts().get("acknowledged") == 1

            # Central is back on the same port and database: the queued pass is delivered.
            port = int(stack.central.url.rsplit(":", 1)[1])
            stack.central = CentralServer(stack.central.cfg.model_copy(update={"http_port": port}))
            tasks[0] = asyncio.create_task(stack.central.run(), name="central")
            await day._catch_up(wait=60)
            assert lines[-1] == "central caught up: 1 queued pass(es) recorded (沪AD12345); 0 still queued", lines
            assert day.queued == []
            r = await http.get("/api/v1/passes", params={"plate": RELEASED_2.plate})
            assert [p["outcome"] for p in r.json()["items"] if p["pass_id"] == queued.pass_id] == ["release"]
    finally:
        await stop_stack(stack, tasks)
