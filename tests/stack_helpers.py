"""Helpers for the tests that drive central or a whole stack (central, an edge node, simulators)
over its APIs, in any folder below tests/ (imported by name: tests/ is not a package, and pytest
puts this folder on the path for its conftest.py)."""

from __future__ import annotations

import io
from typing import Any

import httpx

from kakou.demo import issue_release_order
from kakou.demo_day import drive_past_a_hold
from kakou.sim.scenario import Truck, TruckResult
from kakou.waiting import eventually


async def control_order(
    http: httpx.AsyncClient, target_kind: str, target_value: str, action: str, reason: str, emergency: bool = False
) -> dict:
    """A control order from the officer logged in on `http` (an emergency one is in force at once and
    reviewed after; any other awaits review); returns it as central created it."""
    body = {"target_kind": target_kind, "target_value": target_value, "action": action, "reason": reason}
    r = await http.post("/api/v1/control-orders", json={**body, **({"emergency": True} if emergency else {})})
    assert r.status_code == 201, r.text
    return r.json()


async def emergency_control_order(
    http: httpx.AsyncClient, target_kind: str, target_value: str, action: str, reason: str
) -> int:
    """An emergency control order from the officer logged in on `http`; returns central's knowledge
    version with it in, for waiting until the lane has it."""
    await control_order(http, target_kind, target_value, action, reason, emergency=True)
    return (await http.get("/api/v1/health")).json()["knowledge_version"]


async def order_at_lane(stack: Any, http: httpx.AsyncClient, order: dict, what: str = "the order") -> int:
    """A release order issued at central (`http` authorized), and waited for until the lane has it;
    returns the knowledge version it came in."""
    r = await issue_release_order(stack, http, order)
    assert r.status_code == 200, r.text
    version = r.json()["version"]
    await eventually(lambda: stack.edge.store.knowledge_version >= version, 15, what=what)
    return version


def xlsx(rows: list[list[Any]]) -> bytes:
    """An Excel workbook of these rows, as an officer would upload it."""
    from openpyxl import Workbook

    wb = Workbook()
    sheet = wb.active
    assert sheet is not None
    for r in rows:
        sheet.append(r)
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


async def drive_held_truck(
    stack: Any, plate_jpeg: bytes | None = None, *, truck: Truck | None = None, timeout: float = 30.0
) -> TruckResult:
    """A truck the lane should hold: it turns away as soon as the lane has decided (demo_day.drive_past_a_hold)."""
    lane = stack.edge.lanes["L1"]
    before = lane.last_pass
    result = await drive_past_a_hold(stack.sims, lane, plate_jpeg, truck=truck, wait_for_barrier=timeout)
    assert lane.last_pass is not before, f"the lane decided nothing for the truck within {timeout:g} s"
    return result
