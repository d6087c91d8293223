"""The lane with real simulators, broker and OCR: holds, officer flows, replay, images, stats."""

from __future__ import annotations

import asyncio
import contextlib
import subprocess
import sys
from pathlib import Path

import httpx
import pytest
from edge_helpers import drive_off
from stack_helpers import emergency_control_order, order_at_lane

from kakou.demo import (
    DEMO_ADMIN,
    DEMO_OFFICER,
    DEMO_OFFICER2,
    DEMO_PIN,
    DEMO_PIN2,
    DemoPorts,
    authorize,
    demo_order,
    start_stack,
    stop_stack,
)
from kakou.edge.lane import LaneState
from kakou.netutil import free_port
from kakou.sim.render import encode_jpeg, render_plate_scene
from kakou.waiting import eventually


@pytest.fixture
async def stack(tmp_path: Path):
    stack, tasks = await start_stack(tmp_path, DemoPorts(mqtt=free_port(), central=0, edge=0))
    yield stack
    await stop_stack(stack, tasks)


async def _arrive(stack, plate: str, seed: int) -> None:
    """A truck pulls up to the barrier and stays there (the lane decides; the test acts as officer)."""
    stack.sims.plate_camera.show(encode_jpeg(render_plate_scene(plate, kind="blue", seed=seed)))
    stack.sims.io.set_loop("before", True)


async def _login(edge: httpx.AsyncClient) -> dict[str, str]:
    r = await edge.post("/api/v1/officer/login", json={"officer": DEMO_OFFICER, "pin": DEMO_PIN})
    assert r.status_code == 200
    return {"Authorization": f"Bearer {r.json()['token']}"}


async def test_held_truck_released_by_officer_override_with_reason(stack) -> None:
    lane = stack.edge.lanes["L1"]
    async with httpx.AsyncClient(base_url=stack.edge.url, timeout=10) as edge:
        await _arrive(stack, "苏E88888", seed=1)
        await eventually(lambda: lane.state is LaneState.HELD, 20, what="the lane to hold the truck")
        assert stack.sims.io.events == []  # the barrier never moved on its own
        held_id = lane.current.pass_id

        r = await edge.post(
            "/api/v1/lanes/L1/actions", json={"action": "override", "outcome": "release", "reason": "x"}
        )
        assert r.status_code == 401, r.text  # no login, no barrier
        auth = await _login(edge)
        r = await edge.post("/api/v1/lanes/L1/actions", json={"action": "override", "outcome": "release"}, headers=auth)
        assert r.status_code == 422 and "reason" in r.json()["detail"]
        r = await edge.post(
            "/api/v1/lanes/L1/actions",
            headers=auth,
            json={"action": "override", "outcome": "release", "reason": "order delayed, checked"},
        )
        assert r.status_code == 202
        await drive_off(stack)

        detail = (await edge.get(f"/api/v1/passes/{held_id}")).json()
        assert detail["record"]["outcome"] == "officer"
        (iv,) = detail["interventions"]
        assert (iv["officer"], iv["action"], iv["reason"]) == (DEMO_OFFICER, "override", "order delayed, checked")
        passes = (await edge.get("/api/v1/passes")).json()
        follow_up = next(p for p in passes if p["supersedes"] == held_id)
        assert follow_up["outcome"] == "release" and follow_up["entered_by"] == DEMO_OFFICER
        stats = (await edge.get("/api/v1/lanes/L1/stats")).json()
        assert stats["passes"] == 1 and stats["manual_intervention_rate"] == 1.0


async def test_the_officers_command_is_carried_out_when_the_loop_poll_misses_its_cancel(stack) -> None:
    # On Python 3.11 asyncio.wait_for returns a read that completes as its cancel lands (the cancel is
    # lost). The held lane cancels its poll of the loops when a command comes: a poll that carried on
    # kept the lane waiting for it while the truck stood there, the command taken and never done.
    lane = stack.edge.lanes["L1"]
    read = lane.io.read_inputs

    async def read_deaf_to_cancel():
        inputs = await read()
        with contextlib.suppress(asyncio.CancelledError):
            await asyncio.sleep(0.2)  # a read still under way when the officer acts
        return inputs

    lane.io.read_inputs = read_deaf_to_cancel
    async with httpx.AsyncClient(base_url=stack.edge.url, timeout=10) as edge:
        await _arrive(stack, "苏E88888", seed=1)
        await eventually(lambda: lane.state is LaneState.HELD, 20, what="the lane to hold the truck")
        r = await edge.post(
            "/api/v1/lanes/L1/actions",
            headers=await _login(edge),
            json={"action": "override", "outcome": "release", "reason": "order delayed, checked"},
        )
        assert r.status_code == 202
        await drive_off(stack)


async def test_a_control_order_hold_takes_two_officers_or_central_disposal(stack) -> None:
    lane = stack.edge.lanes["L1"]
    async with (
        httpx.AsyncClient(base_url=stack.central.url, timeout=10) as central,
        httpx.AsyncClient(base_url=stack.edge.url, timeout=10) as edge,
    ):
        await authorize(stack, central)
        await emergency_control_order(central, "vehicle", "苏E88888", "hold", "情报线索 intelligence tip")
        await eventually(
            lambda: stack.edge.store.query("SELECT 1 FROM knowledge WHERE kind = 'control_order'"),
            15,
            what="the control order in the lane's cache",
        )
        auth = await _login(edge)

        # First truck: a lane officer alone is refused, whatever the action; two officers release it.
        await _arrive(stack, "苏E88888", seed=1)
        await eventually(lambda: lane.state is LaneState.HELD, 20, what="the lane to hold the truck")
        held_id = lane.current.pass_id
        for action in (
            {"action": "override", "outcome": "release", "reason": "known driver"},
            {"action": "release_on_documents", "reason": "papers in order"},
            {"action": "manual_entry", "plate": "粤B12345"},
        ):
            r = await edge.post("/api/v1/lanes/L1/actions", headers=auth, json=action)
            assert r.status_code == 403 and "布控" in r.json()["detail"] and "second officer" in r.json()["detail"]
        release = {"action": "override", "outcome": "release", "reason": "核查无误 checked with the intelligence unit"}
        r = await edge.post(
            "/api/v1/lanes/L1/actions",
            headers=auth,
            json={**release, "second_officer": DEMO_OFFICER2, "second_pin": "0000"},
        )
        assert r.status_code == 403 and "wrong PIN" in r.json()["detail"]
        r = await edge.post(
            "/api/v1/lanes/L1/actions",
            headers=auth,
            json={**release, "second_officer": DEMO_OFFICER, "second_pin": DEMO_PIN},
        )
        assert r.status_code == 403 and "another officer" in r.json()["detail"]
        assert lane.state is LaneState.HELD and stack.sims.io.events == []
        r = await edge.post(
            "/api/v1/lanes/L1/actions",
            headers=auth,
            json={**release, "second_officer": DEMO_OFFICER2, "second_pin": DEMO_PIN2},
        )
        assert r.status_code == 202, r.text
        await drive_off(stack)
        (iv,) = (await edge.get(f"/api/v1/passes/{held_id}")).json()["interventions"]
        assert (iv["officer"], iv["data"]["confirmed_by"], iv["reason"]) == (
            DEMO_OFFICER,
            DEMO_OFFICER2,
            release["reason"],
        )
        follow_up = next(p for p in (await edge.get("/api/v1/passes")).json() if p["supersedes"] == held_id)
        assert follow_up["outcome"] == "release"
        assert follow_up["reasons"] == [
            {
                "code": "officer_override_confirmed",
                "params": {"officer": DEMO_OFFICER, "confirmed_by": DEMO_OFFICER2, "note": release["reason"]},
            }
        ]

        # Second truck: central disposes of the hit and releases it; the lane opens with no officer.
        await _arrive(stack, "苏E88888", seed=2)
        await eventually(
            lambda: lane.state is LaneState.HELD and lane.current.pass_id != held_id,
            20,
            what="the lane to hold the second truck",
        )
        second_id = lane.current.pass_id

        async def the_hit() -> dict | None:
            (await central.post("/api/v1/projections/run")).raise_for_status()
            items = (await central.get("/api/v1/alerts", params={"kind": "control_hit"})).json()["items"]
            return next((a for a in items if a["source"] == second_id), None)

        hit = await eventually(the_hit, 20, interval=0.2, what="the control hit at central")
        r = await central.post(
            f"/api/v1/alerts/{hit['id']}/dispose",
            json={"disposal": "人工核查放行 released after checking", "release_vehicle": True},
        )
        assert r.status_code == 200, r.text
        await drive_off(stack)
        follow_up = next(p for p in (await edge.get("/api/v1/passes")).json() if p["supersedes"] == second_id)
        assert follow_up["outcome"] == "release" and follow_up["reasons"] == [
            {
                "code": "control_disposal_released",
                "params": {"officer": f"central:{DEMO_ADMIN}", "note": "人工核查放行 released after checking"},
            }
        ]


async def _ordered_truck_held_unread(stack, central: httpx.AsyncClient, order_no: str) -> None:
    """A release order for 粤B12345 with container CSQU3054383 at the lane, and that truck held at
    the barrier with its plate unread: the camera has no frame."""
    await authorize(stack, central)
    order = demo_order("粤B12345", order_no).model_copy(update={"containers": ["CSQU3054383"]})
    await order_at_lane(stack, central, order.model_dump(mode="json"))
    stack.sims.plate_camera.show(None)
    stack.sims.io.set_loop("before", True)
    await eventually(lambda: stack.edge.lanes["L1"].state is LaneState.HELD, 20, what="the lane to hold the truck")


async def test_backfill_after_release_on_documents_reaches_central_and_counts_the_order(stack) -> None:
    async with (
        httpx.AsyncClient(base_url=stack.central.url, timeout=10) as central,
        httpx.AsyncClient(base_url=stack.edge.url, timeout=10) as edge,
    ):
        await _ordered_truck_held_unread(stack, central, "HF0031")  # congestion: released on documents
        auth = await _login(edge)
        r = await edge.post(
            "/api/v1/lanes/L1/actions",
            headers=auth,
            json={"action": "release_on_documents", "reason": "queue to the road, papers seen"},
        )
        assert r.status_code == 202, r.text
        await drive_off(stack)
        (open_entry,) = (await edge.get("/api/v1/backfill")).json()
        released_id = open_entry["pass_id"]

        bad = await edge.post(
            f"/api/v1/backfill/{released_id}", headers=auth, json={"plate": "粤B12345", "containers": ["CSQU3054384"]}
        )
        assert bad.status_code == 422 and "check digit" in bad.json()["detail"]
        r = await edge.post(
            f"/api/v1/backfill/{released_id}", headers=auth, json={"plate": "粤B12345", "containers": ["CSQU3054383"]}
        )
        assert r.status_code == 200, r.text
        assert r.json()["release_orders"] == ["HF0031"]
        backfilled = r.json()["superseded_by"]
        assert (await edge.get("/api/v1/backfill")).json() == []
        again = await edge.post(f"/api/v1/backfill/{released_id}", headers=auth, json={"plate": "粤B12345"})
        assert again.status_code == 404

        # At central: the superseding pass, in the plate's and the container's trace, counted on the order.
        async def at_central() -> bool:
            (await central.post("/api/v1/projections/run")).raise_for_status()
            return any(
                p["pass_id"] == backfilled
                for p in (await central.get("/api/v1/release-orders/HF0031")).json()["passes"]
            )

        await eventually(at_central, 20, interval=0.2, what="the backfilled pass counted at central")
        rec = next(
            p["record"]
            for p in (await central.get("/api/v1/passes")).json()["items"]
            if p["record"]["pass_id"] == backfilled
        )
        assert rec["supersedes"] == released_id and rec["plate"] == "粤B12345"
        assert rec["containers"] == ["CSQU3054383"] and rec["entered_by"] == DEMO_OFFICER
        assert rec["outcome"] == "release" and rec["opens_barrier"] is False
        for kind, value in (("plate", "粤B12345"), ("container", "CSQU3054383")):
            trace = (await central.get(f"/api/v1/trace/{kind}/{value}")).json()
            assert backfilled in {e["ref"] for e in trace if e["kind"] == "pass"}, (kind, trace)
        ivs = (await edge.get(f"/api/v1/passes/{released_id}")).json()["interventions"]
        assert [iv["action"] for iv in ivs] == ["backfill"]
        assert (await edge.get(f"/api/v1/passes/{backfilled}/replay")).status_code == 404  # not a lane decision


async def test_manual_entry_checks_the_container_digit_and_reruns_the_decision(stack) -> None:
    lane = stack.edge.lanes["L1"]
    async with (
        httpx.AsyncClient(base_url=stack.central.url, timeout=10) as central,
        httpx.AsyncClient(base_url=stack.edge.url, timeout=10) as edge,
    ):
        await _ordered_truck_held_unread(stack, central, "HF0009")
        assert "camera" in lane.state_reason
        auth = await _login(edge)
        bad = await edge.post(
            "/api/v1/lanes/L1/actions",
            headers=auth,
            json={"action": "manual_entry", "plate": "粤B12345", "containers": ["CSQU3054384"]},
        )
        assert bad.status_code == 422 and "check digit" in bad.json()["detail"]
        ok = await edge.post(
            "/api/v1/lanes/L1/actions",
            headers=auth,
            json={"action": "manual_entry", "plate": "粤B12345", "containers": ["CSQU 305438 3"]},
        )
        assert ok.status_code == 202
        await drive_off(stack)
        released = next(p for p in (await edge.get("/api/v1/passes")).json() if p["outcome"] == "release")
        assert released["release_order"] == "HF0009" and released["entered_by"] == DEMO_OFFICER

        # The automatic (held) decision replays identically from what was recorded with it.
        held = next(p for p in (await edge.get("/api/v1/passes")).json() if p["outcome"] == "officer")
        replayed = (await edge.get(f"/api/v1/passes/{held['pass_id']}/replay")).json()
        assert replayed["same"] is True and replayed["replayed"]["outcome"] == "officer"


async def test_release_records_the_frame_and_replays_from_the_cli(stack, tmp_path: Path) -> None:
    lane = stack.edge.lanes["L1"]
    async with (
        httpx.AsyncClient(base_url=stack.central.url, timeout=10) as central,
        httpx.AsyncClient(base_url=stack.edge.url, timeout=10) as edge,
    ):
        await authorize(stack, central)
        await order_at_lane(stack, central, demo_order("粤B12345", "HF0010").model_dump(mode="json"))
        await _arrive(stack, "粤B12345", seed=5)
        await drive_off(stack)
        await eventually(lambda: lane.state is LaneState.IDLE, 10, what="the lane to be idle")
        rec = lane.last_pass
        assert rec is not None and rec.outcome.value == "release" and len(rec.images) == 1
        img = await edge.get(f"/api/v1/images/{rec.images[0]}")
        assert img.status_code == 200 and img.content[:2] == b"\xff\xd8"

        async def acked() -> bool:
            msgs = (await edge.get("/api/v1/network/messages")).json()["messages"]
            return [m["status"] for m in msgs] == ["acknowledged"]

        await eventually(acked, 15, what="the pass acknowledged by central")
        assert (await edge.post("/api/v1/network/resend", params={"from_seq": 1})).status_code == 401
        resent = await edge.post("/api/v1/network/resend", params={"from_seq": 1}, headers=await _login(edge))
        assert resent.status_code == 202 and resent.json()["requeued"] == 1
        await eventually(acked, 15, what="the resent pass acknowledged again")
        assert (await central.get("/api/v1/passes")).json()["total"] == 1  # a resend never duplicates

    cfg = tmp_path / "edge.toml"
    cfg.write_text(
        f'[node]\nid = "{stack.edge.id}"\ndata_dir = "{stack.edge.cfg.node.data_dir}"\n'
        '[[lanes]]\nid = "L1"\ndirection = "in"\n[lanes.io]\nurl = "tcp://127.0.0.1:1"\n'
    )
    argv = [sys.executable, "-m", "kakou.cli", "edge", "replay", rec.pass_id, "--config", str(cfg)]
    out = await asyncio.to_thread(subprocess.run, argv, capture_output=True, text=True, timeout=60)
    assert out.returncode == 0, out.stderr
    assert '"same": true' in out.stdout
