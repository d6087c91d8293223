"""The inspection round trip with real simulators, broker, OCR and central: a truck sent to the
inspection area leaves the lane, its result is recorded, and when it comes back the lane judges it
against that result; results reach central, are counted (seizure rate) and shared with the site."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest

from kakou.demo import (
    DEMO_OFFICER,
    DEMO_PIN,
    DemoPorts,
    authorize,
    demo_order,
    issue_release_order,
    start_stack,
    stop_stack,
)
from kakou.edge.decision import Parameters
from kakou.edge.lane import LaneState
from kakou.netutil import free_port
from kakou.sim.render import encode_jpeg, render_plate_scene
from kakou.sync.checks import CheckCode as C
from kakou.waiting import eventually

PLATE, SMUGGLER = "粤B12345", "苏E88888"


@pytest.fixture
async def stack(tmp_path: Path):
    stack, tasks = await start_stack(tmp_path, DemoPorts(mqtt=free_port(), central=0, edge=0))
    # Set before the node's link first runs: it learns the site of a lane registered later on its
    # next periodic sync request (60 s in production; tests/sync/test_scoping.py does the same).
    stack.edge.link.resync_interval = 1.0
    yield stack
    await stop_stack(stack, tasks)


async def _arrive(stack, plate: str, seed: int, state: LaneState, after: str | None = None) -> str:
    """A truck pulls up to the barrier; returns its pass once the lane has decided it into `state`."""
    lane = stack.edge.lanes["L1"]
    stack.sims.plate_camera.show(encode_jpeg(render_plate_scene(plate, kind="blue", seed=seed)))
    stack.sims.io.set_loop("before", True)
    await eventually(
        lambda: (
            lane.state is state
            and lane.current is not None
            and lane.current.decision is not None
            and lane.current.pass_id != after
        ),
        30,
        what=f"the lane to decide {plate} into {state}",
    )
    return str(lane.current.pass_id)


async def _leave(stack) -> None:
    """The barrier stayed down: the truck backs out (to the inspection area, or away)."""
    stack.sims.io.set_loop("before", False)
    stack.sims.plate_camera.show(None)
    await eventually(lambda: stack.edge.lanes["L1"].state is LaneState.IDLE, 15, what="the lane to be free")


async def test_a_truck_back_from_inspection_is_judged_against_the_result(stack) -> None:
    lane = stack.edge.lanes["L1"]
    lane.params = Parameters(random_inspection_rate=1.0)  # every truck is drawn for inspection
    async with (
        httpx.AsyncClient(base_url=stack.central.url, timeout=10) as central,
        httpx.AsyncClient(base_url=stack.edge.url, timeout=10) as edge,
    ):
        await authorize(stack, central)
        r = await central.put("/api/v1/registrations/site", json={"code": "gate1", "name": "一号卡口"})
        assert r.status_code == 200, r.text
        r = await central.put(
            "/api/v1/registrations/lane", json={"node": stack.edge.id, "lane": "L1", "site": "gate1", "direction": "in"}
        )
        assert r.status_code == 200, r.text
        for plate, no in ((PLATE, "HF0041"), (SMUGGLER, "HF0042")):
            r = await issue_release_order(stack, central, demo_order(plate, no).model_dump(mode="json"))
            assert r.status_code == 200, r.text
        await eventually(lambda: stack.edge.store.knowledge_version >= r.json()["version"], 15, what="the orders")
        r = await edge.post("/api/v1/officer/login", json={"officer": DEMO_OFFICER, "pin": DEMO_PIN})
        auth = {"Authorization": f"Bearer {r.json()['token']}"}

        # Drawn for inspection; the lane is not blocked while it is inspected: the truck leaves.
        sent = await _arrive(stack, PLATE, 1, LaneState.INSPECTION)
        await _leave(stack)
        further = {"result": "further_inspection", "reason": "封志异常，需掏箱"}
        assert (await edge.post(f"/api/v1/inspections/{sent}", json=further)).status_code == 401
        r = await edge.post(f"/api/v1/inspections/{sent}", headers=auth, json={**further, "reason": ""})
        assert r.status_code == 422 and "reason" in r.json()["detail"]
        r = await edge.post(f"/api/v1/inspections/{sent}", headers=auth, json={**further, "result": "failed"})
        assert r.status_code == 422  # only the results the lane knows
        assert (await edge.post("/api/v1/inspections/nope", headers=auth, json=further)).status_code == 404
        r = await edge.post(f"/api/v1/inspections/{sent}", headers=auth, json=further)
        assert r.status_code == 201, r.text
        result = r.json()
        assert result["supersedes"] == sent and result["outcome"] == "inspection" and not result["opens_barrier"]
        assert result["reasons"] == [
            {"code": "inspection_further", "params": {"officer": DEMO_OFFICER, "note": "封志异常，需掏箱"}}
        ]
        r = await edge.post(f"/api/v1/inspections/{result['pass_id']}", headers=auth, json=further)
        assert r.status_code == 409  # a result is not a pass that sent a truck to inspection

        # Back from inspection with "further inspection": sent back, the result shown first.
        again = await _arrive(stack, PLATE, 2, LaneState.INSPECTION, after=sent)
        reasons = lane.current.decision.reasons
        assert reasons[0].code is C.INSPECTED_FURTHER and reasons[0].params["note"] == "封志异常，需掏箱"
        assert "进一步查验" in lane.state_reason
        await _leave(stack)
        r = await edge.post(
            f"/api/v1/inspections/{again}", headers=auth, json={"result": "passed", "reason": "掏箱查验，货证相符"}
        )
        assert r.status_code == 201, r.text

        # Back with "passed": released against the inspection although the draw picks it again.
        barrier_moves = len(stack.sims.io.events)
        await _arrive(stack, PLATE, 3, LaneState.RELEASED, after=again)
        released = lane.current.decision
        assert [f.code for f in released.reasons] == [C.INSPECTED_PASSED, C.RANDOM_INSPECTION]
        assert released.release_orders == ["HF0041"]
        assert await stack.sims.io.wait_barrier(up=True, timeout=10)
        assert len(stack.sims.io.events) > barrier_moves
        stack.sims.io.set_loop("before", False)
        stack.sims.plate_camera.show(None)
        await eventually(lambda: lane.state is LaneState.IDLE, 15, what="the released truck to clear the lane")

        # Seized at the lane (the inspection lane, the truck still there): held, barrier down.
        seized_at = await _arrive(stack, SMUGGLER, 4, LaneState.INSPECTION)
        barrier_moves = len(stack.sims.io.events)
        r = await edge.post("/api/v1/inspections/" + seized_at, headers=auth, json=further)
        assert r.status_code == 409 and "inspection_result" in r.json()["detail"]  # it is still in the lane
        r = await edge.post(
            "/api/v1/lanes/L1/actions",
            headers=auth,
            json={"action": "inspection_result", "result": "seized", "reason": "夹藏违禁品"},
        )
        assert r.status_code == 202, r.text
        await eventually(
            lambda: lane.last_pass is not None and lane.last_pass.supersedes == seized_at,
            10,
            what="the seizure recorded",
        )
        assert lane.last_pass.reasons[0].code is C.INSPECTION_SEIZED and lane.last_pass.outcome == "officer"
        assert lane.state is LaneState.INSPECTION and "查扣" in lane.state_reason
        assert len(stack.sims.io.events) == barrier_moves  # nothing opened
        await _leave(stack)
        # It turns up again: held for the officer with the seizure shown, not judged from scratch.
        await _arrive(stack, SMUGGLER, 5, LaneState.HELD, after=seized_at)
        assert lane.current.decision.reasons[0].code is C.INSPECTED_SEIZED
        assert lane.current.decision.release_orders == []
        await _leave(stack)

        # Central: both results stored and counted (a further inspection is not a final result), and
        # each shared with the nodes of the site as the vehicle's latest result.
        async def counted() -> dict | None:
            (await central.post("/api/v1/projections/run")).raise_for_status()
            rows = (await central.get("/api/v1/stats/lanes")).json()
            row = next((x for x in rows if x["lane"] == f"{stack.edge.id}/L1"), None)
            return row if row and row["inspection_results"] == 2 else None

        row = await eventually(counted, 30, interval=0.2, what="the inspection results counted at central")
        assert (row["seizures"], row["seizure_rate"]) == (1, 0.5)

        def shared() -> dict[str, str]:
            rows = stack.edge.store.query(
                "SELECT key, json_extract(data, '$.result') FROM knowledge "
                "WHERE kind = 'inspection' AND stream = 'site:gate1'"
            )
            return dict(rows) if len(rows) == 2 else {}

        assert await eventually(shared, 20, what="the results on the site stream") == {
            PLATE: "passed",
            SMUGGLER: "seized",
        }
