"""Running a service's parts together, and stopping them all."""

from __future__ import annotations

import asyncio

import pytest

from kakou import tasks
from kakou.tasks import finished, first_of, run_together


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


async def wait_until_cancelled(ended: asyncio.Event, started: asyncio.Event | None = None) -> None:
    """Wait until cancelled; `started` is set on the way in and `ended` on the way out."""
    if started is not None:
        started.set()
    try:
        await asyncio.sleep(3600)
    finally:
        ended.set()


async def test_the_first_part_to_fail_stops_the_others_and_its_error_is_raised() -> None:
    cancelled = asyncio.Event()

    async def fails() -> None:
        raise RuntimeError("broken part")

    with pytest.raises(RuntimeError, match="broken part"):
        await asyncio.wait_for(
            run_together({"waits": wait_until_cancelled(cancelled), "fails": fails()}, on_stop=lambda: None), 5
        )
    assert cancelled.is_set()


async def test_first_of_two_waits_ends_the_other_and_says_which_finished() -> None:
    other_ended = asyncio.Event()

    async def tell() -> str:
        return "told"

    slow, quick = await asyncio.wait_for(first_of(wait_until_cancelled(other_ended), tell()), 5)
    assert finished(quick) and quick.result() == "told"
    assert not finished(slow) and other_ended.is_set()


async def test_first_of_stops_both_waits_when_it_is_cancelled_itself() -> None:
    started = [asyncio.Event(), asyncio.Event()]
    ended = [asyncio.Event(), asyncio.Event()]
    stops: list[str] = []
    waits = (wait_until_cancelled(e, s) for e, s in zip(ended, started, strict=True))
    waiter = asyncio.create_task(first_of(*waits, on_stop=lambda: stops.append("stop")))
    await asyncio.wait_for(asyncio.gather(*(s.wait() for s in started)), 5)
    waiter.cancel()
    with pytest.raises(asyncio.CancelledError):
        await waiter
    assert all(e.is_set() for e in ended) and stops == ["stop"]


async def test_first_of_with_a_timeout_ends_both_waits_and_neither_finished() -> None:
    a, b = await first_of(asyncio.sleep(3600), asyncio.Event().wait(), timeout=0.01)
    assert not finished(a) and not finished(b)
