"""Weighbridge driver: a serial indicator in one of the supported output formats -> weight samples.

Usage::

    async with WeighbridgeDriver(config) as scale:
        async for sample in scale.samples():
            ...

The driver is online while valid frames arrive, and faulted (with the reason) while the port is
gone or only garbage arrives; it never invents a weight.
"""

from __future__ import annotations

import time
from collections.abc import AsyncGenerator, Callable
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from kakou.protocols.serial_link import Backoff, SerialSettings
from kakou.protocols.serial_stream import StreamDevice
from kakou.protocols.weighbridge_formats import ProtocolName, Unit, WeightFrame, WeightParser, make_parser
from kakou.protocols.weighbridge_stability import StabilityDetector, StabilityParams


class WeighbridgeConfig(BaseModel):
    model_config = ConfigDict(extra="forbid")

    serial: SerialSettings
    protocol: ProtocolName
    unit: Unit = Field("kg", description="unit of formats that do not name one (xk3190, xk3190-a9)")
    decimals: int | None = Field(
        None, ge=-2, le=5, description="the indicator's fixed decimal places; frames that differ are rejected"
    )
    stability: StabilityParams = StabilityParams()
    backoff: Backoff = Backoff()
    stale_after_s: float = Field(2.0, gt=0, description="no valid frame this long -> faulted")


@dataclass(frozen=True)
class WeightSample:
    frame: WeightFrame
    stable: bool  # our stability decision, combined with the indicator's motion/overload flags
    t: float  # monotonic receive time

    @property
    def weight_kg(self) -> float | None:
        return self.frame.weight_kg

    @property
    def flags(self) -> list[str]:
        return self.frame.flags

    def as_json(self) -> dict[str, Any]:
        return {"weight_kg": self.weight_kg, "stable": self.stable, "flags": self.flags}


class WeighbridgeDriver(StreamDevice[WeightSample]):
    waiting = "port open, waiting for valid frames"
    parser: WeightParser

    def __init__(self, config: WeighbridgeConfig, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.config = config
        self.parser = make_parser(config.protocol, config.unit, config.decimals)
        self.detector = StabilityDetector(config.stability)
        super().__init__(
            f"weighbridge {config.serial.port}", config.serial, config.backoff, config.stale_after_s, clock
        )

    def samples(self, maxsize: int = 256) -> AsyncGenerator[WeightSample, None]:
        return self.items(maxsize)

    async def wait_for(self, predicate: Callable[[WeightSample], bool], timeout: float) -> WeightSample:
        """The first sample from now on that satisfies `predicate`."""
        return await self.first(timeout, predicate)

    # --- link callbacks -----------------------------------------------------------------------

    def port_closed(self) -> None:
        self.detector.reset()

    def _on_bytes(self, data: bytes) -> None:
        for frame in self.parser.feed(data):
            t = self._clock()
            stable = self.detector.update(t, frame.weight_kg) and frame.motion is not True and not frame.overload
            sample = WeightSample(frame, stable, t)
            self.latest = sample
            self.status.set("online", "valid frames", 0)
            self._arm()
            self._fanout.publish(sample)

    def went_silent(self) -> None:
        self.detector.reset()
        self.status.set(
            "faulted",
            f"no valid frame for {self.config.stale_after_s:g}s "
            f"({self.stats.framing_errors} framing errors; wrong baud or protocol?)",
            self.stats.framing_errors,
        )
