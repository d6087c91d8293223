"""A weighbridge indicator in continuous-output mode on a pty, in any supported format.

It sends `rate_hz` frames per second, encoded by the same module the driver parses with (so the
bytes are the protocol, not a shortcut). A truck driving on is modelled as a weight that jumps to
the load and wobbles for a number of frames (the indicator shows motion) before it settles.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
from decimal import Decimal
from pathlib import Path

from kakou.protocols.weighbridge_formats import Unit, WeightFrame, encode
from kakou.sim.pty_port import PtyPort
from kakou.tasks import StartStop

_KG_PER_UNIT = {"kg": 1, "t": 1000}


class WeighbridgeSim(StartStop):
    def __init__(
        self,
        protocol: str = "xk3190",
        *,
        rate_hz: float = 20.0,
        unit: Unit = "kg",
        decimals: int = 0,
        capacity_kg: float = 100_000,
        name: str = "weighbridge0",
        link_dir: str | Path | None = None,
        seed: int = 0,
    ) -> None:
        self.protocol = protocol
        self.rate_hz = rate_hz
        self.unit: Unit = unit
        self.decimals = decimals
        self.capacity_kg = capacity_kg
        self.port = PtyPort(name, link_dir)
        self._rng = random.Random(seed)
        self._target_kg = 0.0
        self._motion_left = 0
        self._motion_total = 1
        self._wobble_kg = 0.0
        self._tare_kg = 0.0
        # fault switches
        self.stuck = False  # keep sending the last frame whatever the load does
        self.corrupt_next = 0  # frames to send with a wrong checksum (or a lost digit if no checksum)
        self.frame_delay_s = 0.0  # slow line: extra pause before each frame
        self.dribble = False  # send each frame one byte at a time (tests reassembly)
        self._last: WeightFrame | None = None
        self.frames_sent = 0
        self._sent = asyncio.Condition()
        self._task: asyncio.Task[None] | None = None

    @property
    def path(self) -> str:
        return self.port.path

    # --- control ------------------------------------------------------------------------------

    def set_weight(self, kg: float, *, settle_frames: int = 0, wobble_kg: float = 200.0) -> None:
        """Load the scale with `kg`; it wobbles (motion) for `settle_frames` frames, then is steady."""
        self._target_kg = kg
        self._motion_left = self._motion_total = max(settle_frames, 0)
        self._wobble_kg = wobble_kg

    def vehicle_on(self, kg: float, settle_frames: int = 10) -> None:
        self.set_weight(kg, settle_frames=settle_frames)

    def vehicle_off(self, settle_frames: int = 3) -> None:
        self.set_weight(0.0, settle_frames=settle_frames, wobble_kg=50.0)

    def set_tare(self, kg: float) -> None:
        self._tare_kg = kg

    def disconnect(self) -> None:
        self.port.disconnect()

    def reconnect(self) -> None:
        self.port.open()

    async def wait_frames(self, n: int, timeout: float = 5.0) -> None:
        """Wait until `n` more frames have been sent."""
        goal = self.frames_sent + n
        async with asyncio.timeout(timeout), self._sent:
            await self._sent.wait_for(lambda: self.frames_sent >= goal)

    # --- lifecycle ----------------------------------------------------------------------------

    async def start(self) -> None:
        self.port.open()
        self._task = asyncio.create_task(self._run(), name=f"weighbridge sim {self.path}")

    async def stop(self) -> None:
        if self._task:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        self.port.close()

    # --- output -------------------------------------------------------------------------------

    def next_frame(self) -> WeightFrame:
        if self.stuck and self._last is not None:
            return self._last
        kg = self._target_kg
        motion = self._motion_left > 0
        if motion:
            amp = self._wobble_kg * self._motion_left / self._motion_total
            kg += self._rng.uniform(-amp, amp)
            self._motion_left -= 1
        scale = Decimal(10) ** self.decimals / _KG_PER_UNIT[self.unit]
        overload = kg > self.capacity_kg
        tare = int((Decimal(str(self._tare_kg)) * scale).to_integral_value())
        frame = WeightFrame(
            counts=None if overload else int((Decimal(str(kg)) * scale).to_integral_value()),
            decimals=self.decimals,
            unit=self.unit,
            motion=motion,
            overload=overload,
            tare_counts=tare or None,
        )
        self._last = frame
        return frame

    def encode_frame(self, frame: WeightFrame) -> bytes:
        corrupt = self.corrupt_next > 0
        if corrupt:
            self.corrupt_next -= 1
        if self.protocol in ("xk3190", "ascii", "ascii-ad") and frame.counts is None:
            frame = WeightFrame(counts=None, decimals=frame.decimals, unit=frame.unit, overload=True)
            if self.protocol == "xk3190":  # the "=" format has no overload code; show all nines
                frame = WeightFrame(
                    counts=10 ** (6 - (1 if self.decimals else 0)) - 1, decimals=self.decimals, unit=self.unit
                )
        data = encode(self.protocol, frame, corrupt_checksum=corrupt)
        if corrupt and self.protocol in ("xk3190", "ascii", "ascii-ad"):
            data = data[:3] + data[4:]  # no checksum to break: lose a digit instead
        return data

    async def _run(self) -> None:
        period = 1.0 / self.rate_hz
        while True:
            if self.frame_delay_s:
                await asyncio.sleep(self.frame_delay_s)
            data = self.encode_frame(self.next_frame())
            if self.dribble:
                for i in range(len(data)):
                    self.port.write(data[i : i + 1])
                    await asyncio.sleep(period / len(data))
            else:
                self.port.write(data)
            async with self._sent:
                self.frames_sent += 1
                self._sent.notify_all()
            await asyncio.sleep(period)
