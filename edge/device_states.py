"""The node's device states, for central's device health (kakou.sync.devices).

The lanes say what each device just did (a camera gave a frame or not, the weighbridge settled or
not, the I/O module answered or not); only a change of state is kept and sent. The link sends the
changes as they happen, and every device's current state again after each reconnect, so central's
view heals from a report lost while the node was offline (central stores a state once).
"""

from __future__ import annotations

import asyncio
from collections import deque
from datetime import UTC, datetime

from kakou.sync.devices import MAX_STATES, DeviceCondition, DeviceKind, DeviceReport, DeviceState

PENDING_MAX = 1000  # changes kept for a node offline for long: the oldest go first (the current stay)


class DeviceStates:
    def __init__(self, node: str) -> None:
        self.node = node
        self.current: dict[tuple[str, str], DeviceState] = {}
        self.pending: deque[DeviceState] = deque(maxlen=PENDING_MAX)
        self.changed = asyncio.Event()

    def set(
        self,
        lane: str,
        device: str,
        kind: DeviceKind,
        state: DeviceCondition,
        code: str = "",
        detail: str = "",
        at: datetime | None = None,
    ) -> bool:
        """Record what a device just did; True if that is a change of its state."""
        last = self.current.get((lane, device))
        if last is not None and last.state == state and last.code == code:
            return False
        st = DeviceState(
            lane=lane, device=device, kind=kind, state=state, at=at or datetime.now(UTC), code=code, detail=detail[:200]
        )
        self.current[(lane, device)] = st
        self.pending.append(st)
        self.changed.set()
        return True

    def take(self, everything: bool = False) -> list[DeviceReport]:
        """The reports to send: the changes since the last take (with `everything`: also every
        device's current state), in messages of at most MAX_STATES states."""
        states = list(self.pending)
        self.pending.clear()
        self.changed.clear()
        if everything:
            states += [s for s in self.current.values() if s not in states]
        return [
            DeviceReport(node=self.node, states=states[i : i + MAX_STATES]) for i in range(0, len(states), MAX_STATES)
        ]
