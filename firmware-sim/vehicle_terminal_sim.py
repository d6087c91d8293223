"""A vehicle terminal (车载终端) on a transit truck: publishes its GPS fix over MQTT as the real
ones do (`kakou.sync.messages.VehiclePosition` on topics.up(terminal, POSITION)).

The fix time is the simulated clock, which a test advances (`at`), so "stopped for 40 minutes"
takes no 40 minutes. Faults: `send_raw(payload)` publishes any bytes (garbage, out-of-range
coordinates, another terminal's id) on this terminal's topic.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime, timedelta

from kakou.sync import topics
from kakou.sync.messages import VehiclePosition
from kakou.sync.mqtt import BrokerConfig, make_client

EARTH_M = 6_371_000.0


def moved(point: tuple[float, float], north_m: float, east_m: float) -> tuple[float, float]:
    """`point` moved by metres north and east (flat-earth, fine over kilometres)."""
    lat, lon = point
    return (lat + math.degrees(north_m / EARTH_M), lon + math.degrees(east_m / (EARTH_M * math.cos(math.radians(lat)))))


class VehicleTerminalSim:
    def __init__(
        self, broker: BrokerConfig, terminal: str, start: tuple[float, float], at: datetime | None = None
    ) -> None:
        self.broker = broker
        self.terminal = terminal
        self.position = start
        self.at = at or datetime.now(UTC)
        self.sent = 0
        self._client = make_client(broker, f"terminal-{terminal}")

    async def __aenter__(self) -> VehicleTerminalSim:
        await self._client.__aenter__()
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self._client.__aexit__(None, None, None)

    async def report(self, *, speed_kmh: float | None = None) -> VehiclePosition:
        """Publish the current fix (QoS 1: the broker has it when this returns)."""
        msg = VehiclePosition(
            terminal=self.terminal, at=self.at, lat=self.position[0], lon=self.position[1], speed_kmh=speed_kmh
        )
        await self.send_raw(msg.model_dump_json().encode())
        return msg

    async def drive(self, north_m: float, east_m: float, minutes: float, speed_kmh: float = 60.0) -> VehiclePosition:
        """Move, let `minutes` pass, and report."""
        self.position = moved(self.position, north_m, east_m)
        self.at += timedelta(minutes=minutes)
        return await self.report(speed_kmh=speed_kmh)

    async def stand(self, minutes: float) -> VehiclePosition:
        """Stay where it is for `minutes`, and report."""
        self.at += timedelta(minutes=minutes)
        return await self.report(speed_kmh=0.0)

    async def send_raw(self, payload: bytes) -> None:
        await self._client.publish(topics.up(self.terminal, topics.POSITION), payload, qos=1)
        self.sent += 1
