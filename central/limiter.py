"""Bounds on what one sender can cost central: token buckets and rate-limited logging.

A hostile or broken node can send as fast as the broker lets it. Central's answer to each bad
message must cost less than the message did, and must not fill the log: one line per (node,
reason) per interval, with the count of the ones it kept quiet about.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class TokenBucket:
    """`rate` tokens a second, at most `burst` saved up; take() says whether `cost` fits now."""

    rate: float
    burst: float
    clock: Callable[[], float] = time.monotonic
    tokens: float = field(init=False)
    at: float = field(init=False)

    def __post_init__(self) -> None:
        self.tokens = self.burst
        self.at = self.clock()

    def refill(self) -> float:
        now = self.clock()
        self.tokens = min(self.burst, self.tokens + (now - self.at) * self.rate)
        self.at = now
        return self.tokens

    def take(self, cost: float = 1.0) -> bool:
        if self.refill() < cost:
            return False
        self.tokens -= cost
        return True

    def spend(self, cost: float) -> None:
        """Take `cost` whatever is left: a debt (down to -burst) paid back at `rate`."""
        self.tokens = max(-self.burst, self.refill() - cost)


class PerKey:
    """One token bucket per key (a node), made on first use; `max_keys` bounds the memory."""

    def __init__(
        self, rate: float, burst: float, max_keys: int = 10_000, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate, self.burst, self.max_keys, self.clock = rate, burst, max_keys, clock
        self.buckets: dict[str, TokenBucket] = {}

    def available(self, key: str) -> float:
        """The tokens `key` has now (without taking any)."""
        bucket = self.buckets.get(key)
        return self.burst if bucket is None else bucket.refill()

    def _bucket(self, key: str) -> TokenBucket:
        bucket = self.buckets.get(key)
        if bucket is None:
            if len(self.buckets) >= self.max_keys:
                self.buckets.clear()  # forgetting is safe: a fresh bucket is merely full again
            bucket = self.buckets[key] = TokenBucket(self.rate, self.burst, self.clock)
        return bucket

    def take(self, key: str, cost: float = 1.0) -> bool:
        return self._bucket(key).take(cost)

    def spend(self, key: str, cost: float) -> None:
        self._bucket(key).spend(cost)


class QuietLog:
    """Log at most one line per key every `interval` seconds; the next line says how many were held back."""

    def __init__(
        self,
        logger: logging.Logger,
        interval: float = 10.0,
        max_keys: int = 10_000,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.logger, self.interval, self.max_keys, self.clock = logger, interval, max_keys, clock
        self._last: dict[object, float] = {}
        self._held: dict[object, int] = {}

    def allow(self, key: object) -> int | None:
        """None: stay quiet. Otherwise the number of lines held back since the last one."""
        now = self.clock()
        last = self._last.get(key)
        if last is not None and now - last < self.interval:
            self._held[key] = self._held.get(key, 0) + 1
            return None
        if len(self._last) >= self.max_keys:
            self._last.clear()
            self._held.clear()
        self._last[key] = now
        return self._held.pop(key, 0)

    def log(self, level: int, key: object, msg: str, *args: object) -> bool:
        held = self.allow(key)
        if held is None:
            return False
        if held:
            msg += " (%d more like it not logged)"
            args = (*args, held)
        self.logger.log(level, msg, *args)
        return True
