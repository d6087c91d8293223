"""Central's service layer: the unit of work the operations in orders.py, ingest.py… run in.

No HTTP or MQTT here; the API routes and the MQTT bridge call the operations.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from sqlalchemy.orm import sessionmaker


class Conflict(Exception):
    """The request contradicts what is stored (e.g. a duplicate order number)."""


class NotFound(Exception):
    """The referenced record does not exist."""


@dataclass
class Central:
    sessions: sessionmaker
    # Called after a change-log entry is committed, with its version; the MQTT bridge publishes it.
    on_change: list[Callable[[int], None]] = field(default_factory=list)

    def notify(self, version: int) -> None:
        for callback in self.on_change:
            callback(version)
