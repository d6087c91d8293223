from __future__ import annotations

from collections.abc import Sequence

from kakou.protocols.weighbridge_stability import StabilityDetector, StabilityParams


def feed(det: StabilityDetector, samples: Sequence[tuple[float, float | None]]) -> list[bool]:
    return [det.update(t, w) for t, w in samples]


def test_n_readings_within_d_over_t() -> None:
    det = StabilityDetector(StabilityParams(min_readings=5, tolerance_kg=10, window_s=1.0))
    ramp = [(i * 0.1, 30000 + (200 if i % 2 else -200)) for i in range(10)]  # wobbling truck
    assert not any(feed(det, ramp))
    steady = [(1.0 + i * 0.1, 32000 + (5 if i % 2 else -5)) for i in range(12)]
    result = feed(det, steady)
    assert not result[9] and result[10] and result[11]  # stable once a full 1 s window is steady


def test_too_few_readings_is_not_stable() -> None:
    det = StabilityDetector(StabilityParams(min_readings=5, tolerance_kg=10, window_s=1.0))
    assert not any(feed(det, [(0.0, 100.0), (0.5, 100.0), (1.0, 100.0), (1.5, 100.0)]))


def test_gap_or_overload_restarts() -> None:
    det = StabilityDetector(StabilityParams(min_readings=3, tolerance_kg=10, window_s=0.5))
    assert feed(det, [(0.0, 1.0), (0.25, 1.0), (0.5, 1.0)])[-1]
    assert not det.update(0.6, None)
    assert not det.update(0.7, 1.0)
    assert not det.update(5.0, 1.0)  # silent for longer than the window: start again
