"""Alert push latency to a field phone's stream: raise an alert at central (SQLite), time until the
SSE stream delivers it; then an acknowledgement. Run: .venv/bin/python tests/ui/measure_alert_push.py 40"""

from __future__ import annotations

import asyncio
import json
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx
from argon2 import PasswordHasher

from kakou.central import alerts, audit, auth
from kakou.central.api import create_app
from kakou.central.db import create_schema, make_engine, make_sessionmaker
from kakou.central.routes import live
from kakou.central.service import Central
from kakou.http_server import make_server
from kakou.netutil import bind_tcp
from kakou.waiting import eventually

PASSWORD = "measure-password-1"


async def main(n: int) -> None:
    auth._hasher = PasswordHasher(time_cost=1, memory_cost=1024, parallelism=1)  # login cost is not measured
    engine = make_engine(f"sqlite:///{Path(tempfile.mkdtemp()) / 'central.db'}")
    create_schema(engine)
    c = Central(make_sessionmaker(engine))
    auth.add_user(c, "measure", "fred", auth.Role.FIELD_STAFF, PASSWORD)
    app = create_app(c)
    sock = bind_tcp("127.0.0.1", 0, "measure")
    server = make_server(app)
    task = asyncio.create_task(server.serve(sockets=[sock]))
    await eventually(lambda: server.started, 5)
    new, acked = [], []
    async with httpx.AsyncClient(base_url=f"http://127.0.0.1:{sock.getsockname()[1]}", timeout=10) as http:
        login = await http.post("/api/v1/auth/login", json={"username": "fred", "password": PASSWORD})
        headers = {"Authorization": f"Bearer {login.json()['access_token']}"}
        ticket = (await http.post("/api/v1/alerts/stream-ticket", headers=headers)).json()["ticket"]
        async with http.stream("GET", "/api/v1/alerts/stream", params={"ticket": ticket}) as resp:
            lines = resp.aiter_lines()

            async def event() -> Any:
                async for line in lines:
                    if line.startswith("data: "):
                        return json.loads(line[6:])

            await event()  # hello
            for i in range(n):
                t0 = time.perf_counter()
                with audit.write(c, "system") as w:
                    row = alerts.raise_alert(w, "control_hit", f"京A{i:05d}", "measure", f"measure:{i}")
                assert row is not None and (await event())["alert"]["id"] == row.id
                new.append(time.perf_counter() - t0)
                t0 = time.perf_counter()
                await http.post(f"/api/v1/alerts/{row.id}/acknowledge", json={}, headers=headers)
                await event()
                acked.append(time.perf_counter() - t0)
                await asyncio.sleep(0.13)  # spread the raises over the phase of the 0.5 s id poll
    live.close_streams(app)
    server.should_exit = True
    await task
    for name, xs in (("new alert (committed -> event)", new), ("acknowledged (POST -> event)", acked)):
        xs.sort()
        print(
            f"{name}: n={len(xs)} median {statistics.median(xs) * 1000:.0f} ms, "
            f"p95 {xs[int(len(xs) * 0.95) - 1] * 1000:.0f} ms, max {xs[-1] * 1000:.0f} ms"
        )


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]) if len(sys.argv) > 1 else 30))
