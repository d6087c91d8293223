"""Helpers for the edge tests (imported by name: tests/ is not a package): a truck driving off
through the lane's loops. The decision's inputs are in tests/lane_inputs.py."""

from __future__ import annotations

import asyncio


async def drive_off(stack) -> None:
    """The released truck drives through the loops; the barrier must rise first and fall after."""
    io = stack.sims.io
    assert await io.wait_barrier(up=True, timeout=10)
    for loop, occupied in (("under", True), ("before", False), ("after", True), ("under", False), ("after", False)):
        io.set_loop(loop, occupied)
        await asyncio.sleep(0.2)  # the truck's travel between loops (physics of the simulation)
    assert await io.wait_barrier(up=False, timeout=10)
