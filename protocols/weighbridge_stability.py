"""Stability detection: "N readings within ±d over T seconds", independent of the indicator's own flag.

Indicators disagree on what "stable" means (and the "=" format carries no flag at all), so the lane
decides stability itself from the weights it received, with parameters from the site's config.
"""

from __future__ import annotations

from collections import deque

from pydantic import BaseModel, ConfigDict, Field


class StabilityParams(BaseModel):
    model_config = ConfigDict(extra="forbid")

    min_readings: int = Field(5, ge=2, description="N: readings required inside the window")
    tolerance_kg: float = Field(20.0, ge=0, description="d: every reading within ±d of the window mean")
    window_s: float = Field(1.0, gt=0, description="T: the readings must span at least this long")


class StabilityDetector:
    """Pure and clock-free: the caller passes each reading's receive time (monotonic seconds).

    Stable when the readings of the last T seconds are at least N, all lie within ±d of their mean,
    and the detector has been watching an unbroken run for at least T seconds. A missing weight
    (overload) or a gap longer than T restarts the run.
    """

    def __init__(self, params: StabilityParams | None = None) -> None:
        self.params = params or StabilityParams()
        self._window: deque[tuple[float, float]] = deque()
        self._run_start: float | None = None
        self.stable = False

    def reset(self) -> None:
        self._window.clear()
        self._run_start = None
        self.stable = False

    def update(self, t: float, weight_kg: float | None) -> bool:
        p = self.params
        if weight_kg is None:
            self.reset()
            return False
        if self._window and t - self._window[-1][0] > p.window_s:
            self.reset()  # a silent gap means we do not know what happened in between
        if self._run_start is None:
            self._run_start = t
        self._window.append((t, weight_kg))
        while self._window and self._window[0][0] < t - p.window_s:
            self._window.popleft()
        weights = [w for _, w in self._window]
        mean = sum(weights) / len(weights)
        self.stable = (
            len(weights) >= p.min_readings
            and t - self._run_start >= p.window_s
            and all(abs(w - mean) <= p.tolerance_kg for w in weights)
        )
        return self.stable
