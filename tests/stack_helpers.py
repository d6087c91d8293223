"""Helpers for the tests that drive a whole stack (central, an edge node, simulators) over its
APIs, in any folder below tests/ (imported by name: tests/ is not a package, and pytest puts this
folder on the path for its conftest.py)."""

from __future__ import annotations

import httpx


async def emergency_control_order(
    http: httpx.AsyncClient, target_kind: str, target_value: str, action: str, reason: str
) -> int:
    """An emergency control order (in force at once, reviewed after) from the officer logged in on
    `http`; returns central's knowledge version with it in, for waiting until the lane has it."""
    r = await http.post(
        "/api/v1/control-orders",
        json={
            "target_kind": target_kind,
            "target_value": target_value,
            "action": action,
            "emergency": True,
            "reason": reason,
        },
    )
    assert r.status_code == 201, r.text
    return (await http.get("/api/v1/health")).json()["knowledge_version"]
