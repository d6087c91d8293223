"""The housekeeper derives alerts from new passes when woken, without anyone calling projections."""

from __future__ import annotations

import asyncio
import contextlib

from central_helpers import ingest

from kakou.central.housekeeping import Housekeeper
from kakou.central.list_queries import AlertQuery
from kakou.central.service import Central
from kakou.waiting import eventually

HIT = {"name": "control", "ok": False, "detail": "control order BK1: hold"}


async def test_woken_housekeeper_turns_a_control_hit_into_an_alert(central: Central) -> None:
    keeper = Housekeeper(central, period=3600)
    task = asyncio.create_task(keeper.run())
    try:
        await eventually(lambda: keeper.done.is_set(), 10, what="the first round")
        await asyncio.to_thread(ingest, central, 1, "粤B12345", outcome="officer", checks=[HIT])
        keeper.wake()
        await eventually(lambda: keeper.totals.passes == 1, 10, what="the pass to be projected")
        from kakou.central import alerts

        total, rows = alerts.list_alerts(central, AlertQuery(limit=10, kind="control_hit"))
        assert total == 1 and rows[0].subject == "粤B12345"
    finally:
        task.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await task
