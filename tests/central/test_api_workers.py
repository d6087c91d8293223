"""Serving the API from several processes: the token cache across processes, the primary following
changes written by the other processes, and `kakou central serve --workers N` itself."""

from __future__ import annotations

import asyncio
import os
import re
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import pytest
from central_helpers import PASSWORD

from kakou.central import auth, orders
from kakou.central.auth import Role
from kakou.central.server import CentralConfig, CentralServer
from kakou.central.service import Central
from kakou.netutil import free_port
from kakou.waiting import eventually


def _twin(central: Central) -> Central:
    """Another process's view of the same database: its own sessions, its own token cache."""
    return Central(central.sessions)


def test_a_logout_is_immediate_where_it_happened_and_within_the_cache_ttl_elsewhere(
    central: Central, monkeypatch: pytest.MonkeyPatch
) -> None:
    auth.add_user(central, "setup", "alice", Role.CENTRAL_OFFICER, PASSWORD)
    token, _, _ = auth.login(central, "alice", PASSWORD)
    other = _twin(central)
    assert auth.authenticate(other, token).username == "alice"  # now cached in the other process
    auth.logout(central, auth.Principal("alice", Role.CENTRAL_OFFICER), token)
    with pytest.raises(auth.AuthError):
        auth.authenticate(central, token)
    assert auth.authenticate(other, token).username == "alice"  # still trusted there, briefly
    later = auth.time.monotonic() + auth.TOKEN_CACHE_TTL_S + 0.1
    monkeypatch.setattr(auth.time, "monotonic", lambda: later)
    with pytest.raises(auth.AuthError):
        auth.authenticate(other, token)


def test_a_disabled_user_is_refused_at_once_by_the_process_that_disabled_them(central: Central) -> None:
    auth.add_user(central, "setup", "bob", Role.CENTRAL_OFFICER, PASSWORD)
    token, _, _ = auth.login(central, "bob", PASSWORD)
    assert auth.authenticate(central, token).username == "bob"
    auth.set_disabled(central, "admin", "bob", True)
    with pytest.raises(auth.AuthError):
        auth.authenticate(central, token)


async def test_the_primary_announces_changes_written_by_other_processes(central: Central, tmp_path: Path) -> None:
    server = CentralServer.__new__(CentralServer)  # only the change follower, not the whole server
    server.central = Central(central.sessions)
    announced: list[int] = []
    server.central.on_change.append(announced.append)
    follower = asyncio.create_task(server._follow_changes(every_s=0.05))
    try:
        await asyncio.sleep(0.1)  # the follower has read where the change log stands
        now = datetime.now(UTC)
        version = await asyncio.to_thread(
            orders.create_release_order,
            _twin(central),
            orders.ReleaseOrderIn(
                order_no="HF1", plate="粤B12345", direction="in", valid_from=now, valid_until=now + timedelta(hours=1)
            ),
        )
        await eventually(lambda: version in announced, 5, what="the change announced to the bridge")
    finally:
        follower.cancel()


def test_sqlite_keeps_one_api_process(tmp_path: Path) -> None:
    cfg = CentralConfig(data_dir=tmp_path, http_port=0, workers=4)
    server = CentralServer(cfg)
    try:
        assert server.api_processes() == 1
    finally:
        server._sock.close()


@pytest.mark.parametrize("central", ["postgresql"], indirect=True)  # several API processes are for PostgreSQL
async def test_serve_with_two_workers_answers_from_both_processes_and_stops_them(
    central: Central, tmp_path: Path
) -> None:
    engine = central.sessions.kw["bind"]
    auth.add_user(central, "setup", "admin", Role.ADMIN, PASSWORD)
    port = free_port()
    cmd = [
        sys.executable,
        "-m",
        "kakou.cli",
        "central",
        "serve",
        "--data-dir",
        str(tmp_path),
        "--db-url",
        engine.url.render_as_string(hide_password=False),
        "--port",
        str(port),
        "--mqtt-port",
        str(free_port()),
        "--workers",
        "2",
    ]
    proc = await asyncio.to_thread(
        subprocess.Popen,
        cmd,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        env={**os.environ, "PYTHONUNBUFFERED": "1"},
    )
    clients: list[httpx.AsyncClient] = []
    try:
        assert proc.stdout is not None
        assert re.search(r"central API on http://", await asyncio.to_thread(proc.stdout.readline))
        (worker,) = await eventually(lambda: _children(proc.pid), 30, what="the second API process")
        base = f"http://127.0.0.1:{port}"
        async with httpx.AsyncClient(base_url=base, timeout=30) as http:
            token = (await http.post("/api/v1/auth/login", json={"username": "admin", "password": PASSWORD})).json()[
                "access_token"
            ]
        idle = _sockets(worker)

        async def worker_holds_some() -> bool:
            # Keep-alive connections stay with the process that accepted them: open more until
            # the worker holds some (the kernel hands each new connection to one of the two).
            for _ in range(10):
                http = httpx.AsyncClient(base_url=base, timeout=30, headers={"Authorization": f"Bearer {token}"})
                clients.append(http)
                assert (await http.get("/api/v1/release-orders")).status_code == 200
            return _sockets(worker) > idle

        await eventually(worker_holds_some, 60, what="connections accepted by the second process")
        # A node resync needs the MQTT bridge, which only the primary runs: asked through the worker
        # too, it is the primary's answer (here: not connected to a broker) — never "no bridge".
        answers = {(await c.post("/api/v1/nodes/n1/resync")).json()["title"] for c in clients}
        assert answers == {"central is not connected to the broker"}, answers
    finally:
        for c in clients:
            await c.aclose()
        proc.send_signal(signal.SIGINT)
        await asyncio.to_thread(proc.wait, 30)
    await eventually(lambda: not Path(f"/proc/{worker}").exists(), 15, what="the worker to stop with the primary")


def _children(pid: int) -> list[int]:
    return [
        int(c)
        for t in Path(f"/proc/{pid}/task").iterdir()
        for c in (t / "children").read_text().split()
        if b"spawn_main" in Path(f"/proc/{c}/cmdline").read_bytes()
    ]


def _sockets(pid: int) -> int:
    count = 0
    for fd in Path(f"/proc/{pid}/fd").iterdir():
        try:
            count += os.readlink(fd).startswith("socket:")
        except FileNotFoundError:
            continue  # closed while we were counting
    return count
