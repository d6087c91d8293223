"""Helpers for the edge tests (imported by name: tests/ is not a package): the decision's inputs
with plausible defaults, and a truck driving off through the lane's loops."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta

from kakou.edge.decision import Observation
from kakou.sync.messages import ReleaseOrderData

AT = datetime(2026, 11, 25, 8, 0, tzinfo=UTC)
PLATE, BOX = "粤B12345", "CSQU3054383"


def observation(**kw: object) -> Observation:
    """What a lane saw of PLATE at AT, read with confidence; `kw` adds or overrides fields."""
    base: dict[str, object] = dict(
        pass_id="n1-L1-1", lane="L1", direction="in", at=AT, plate=PLATE, plate_confidence=0.99
    )
    return Observation(**{**base, **kw})


def release_order(**kw: object) -> ReleaseOrderData:
    """Release order HF1 for PLATE, valid an hour either side of AT; `kw` adds or overrides fields."""
    base: dict[str, object] = dict(
        order_no="HF1",
        plate=PLATE,
        direction="in",
        valid_from=AT - timedelta(hours=1),
        valid_until=AT + timedelta(hours=1),
    )
    return ReleaseOrderData(**{**base, **kw})


async def drive_off(stack) -> None:
    """The released truck drives through the loops; the barrier must rise first and fall after."""
    io = stack.sims.io
    assert await io.wait_barrier(up=True, timeout=10)
    for loop, occupied in (("under", True), ("before", False), ("after", True), ("under", False), ("after", False)):
        io.set_loop(loop, occupied)
        await asyncio.sleep(0.2)  # the truck's travel between loops (physics of the simulation)
    assert await io.wait_barrier(up=False, timeout=10)
