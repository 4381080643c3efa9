"""A queue's dispatch rate limit (T8): a token bucket on the engine's clock.

The bucket is kept as the time it will be full again ("full_at") in whole microseconds, so the
arithmetic is exact: the time ``available_at()`` reports is exactly the time ``try_take`` first
succeeds. That keeps a virtual-time driver from waking at a time where nothing can be dispatched
(and looping forever), and makes runs deterministic.
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta

_SECOND_US = 1_000_000


def token_interval(max_dispatches_per_second: float) -> timedelta:
    """Time to refill one token, rounded up to a microsecond so the rate is never exceeded."""
    if max_dispatches_per_second <= 0:
        raise ValueError(f"The dispatch rate must be positive, got {max_dispatches_per_second}.")
    return timedelta(microseconds=max(1, math.ceil(_SECOND_US / max_dispatches_per_second)))


class TokenBucket:
    """Up to ``burst`` tokens, refilled one per ``interval``; every dispatch takes one.

    A new bucket is full. Holding ``k`` tokens at time ``t`` means ``full_at = t + (burst-k) *
    interval``; a token is available when ``full_at - t <= (burst-1) * interval``.
    """

    def __init__(self, max_dispatches_per_second: float, burst: int) -> None:
        self._interval = token_interval(max_dispatches_per_second)
        self._burst = max(1, burst)
        self._full_at: datetime | None = None

    def available_at(self) -> datetime | None:
        """When the next token can be taken; None when one is available at any time from now."""
        if self._full_at is None:
            return None
        return self._full_at - (self._burst - 1) * self._interval

    def tokens(self, now: datetime) -> float:
        """Tokens held at ``now`` (fractional while refilling), for display."""
        if self._full_at is None or self._full_at <= now:
            return float(self._burst)
        return self._burst - (self._full_at - now) / self._interval

    def try_take(self, now: datetime) -> bool:
        """Take a token if one is available at ``now``."""
        available = self.available_at()
        if available is not None and now < available:
            return False
        base = now if self._full_at is None or self._full_at < now else self._full_at
        self._full_at = base + self._interval
        return True

    def reconfigure(self, max_dispatches_per_second: float, burst: int, now: datetime) -> None:
        """Apply new limits, keeping the tokens currently held (capped at the new burst)."""
        held = min(self.tokens(now), float(max(1, burst)))
        self._interval = token_interval(max_dispatches_per_second)
        self._burst = max(1, burst)
        missing = self._burst - held
        self._full_at = None if missing <= 0 else now + missing * self._interval
