"""Running a service's parts together, and stopping them all."""

from __future__ import annotations

import asyncio

import pytest

from kakou import tasks
from kakou.tasks import run_together


async def test_a_part_that_swallows_its_cancellation_is_cancelled_again(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(tasks, "STOP_GRACE_S", 0.1)
    stopped = asyncio.Event()

    async def stubborn() -> None:
        try:
            await asyncio.sleep(3600)
        except asyncio.CancelledError:
            pass  # swallowed, as a cancel that coincides with an inner timeout can be
        try:
            await asyncio.sleep(3600)
        finally:
            stopped.set()

    async def ends() -> None:
        return

    await asyncio.wait_for(run_together({"stubborn": stubborn(), "ends": ends()}, on_stop=lambda: None), 5)
    assert stopped.is_set()


async def test_the_first_part_to_fail_stops_the_others_and_its_error_is_raised() -> None:
    cancelled = asyncio.Event()

    async def waits() -> None:
        try:
            await asyncio.sleep(3600)
        finally:
            cancelled.set()

    async def fails() -> None:
        raise RuntimeError("broken part")

    with pytest.raises(RuntimeError, match="broken part"):
        await asyncio.wait_for(run_together({"waits": waits(), "fails": fails()}, on_stop=lambda: None), 5)
    assert cancelled.is_set()
