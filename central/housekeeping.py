"""Central's background duties: derive from new passes (alerts, batch counts, transit clocks,
ledger gating), expire control orders and inspection results, flag overdue transits and offline lanes.

`Housekeeper.run()` works whenever `wake()` is called (e.g. by the MQTT bridge after an ingest)
and at least every `period` seconds, so time-based duties (expiry, overdue) happen on their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Callable
from dataclasses import dataclass, field

from kakou.central import control, device_health, projections, transit
from kakou.central.service import Central

log = logging.getLogger(__name__)


@dataclass
class Rounds:
    passes: int = 0
    expired: int = 0
    overdue: int = 0
    offline: int = 0
    inspections_expired: int = 0  # inspection results withdrawn from the site streams
    devices_down: int = 0


@dataclass
class Housekeeper:
    central: Central
    period: float = 30.0
    totals: Rounds = field(default_factory=Rounds)
    done: asyncio.Event = field(default_factory=asyncio.Event)  # set after each round (tests wait on it)
    after_round: list[Callable[[], None]] = field(default_factory=list)  # e.g. the alert outlets' wake
    _wake: asyncio.Event = field(default_factory=asyncio.Event)
    _loop: asyncio.AbstractEventLoop | None = None

    def wake(self) -> None:
        """Thread-safe: ask for a round now."""
        if self._loop is not None:
            self._loop.call_soon_threadsafe(self._wake.set)

    def round(self) -> Rounds:
        r = Rounds(
            passes=projections.run_all(self.central),
            expired=len(control.expire_due(self.central)),
            overdue=len(transit.check_overdue(self.central)),
            offline=projections.check_nodes(self.central),
            inspections_expired=projections.expire_inspection_results(self.central),
            devices_down=device_health.check_down(self.central),
        )
        for name in ("passes", "expired", "overdue", "offline", "inspections_expired", "devices_down"):
            setattr(self.totals, name, getattr(self.totals, name) + getattr(r, name))
        return r

    async def run(self) -> None:
        self._loop = asyncio.get_running_loop()
        while True:
            try:
                await asyncio.to_thread(self.round)
            except Exception:  # a bad round must not stop later ones; the cause is logged
                log.exception("central housekeeping round failed")
            self.done.set()
            for callback in self.after_round:
                callback()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), self.period)
            self._wake.clear()
            self.done.clear()
