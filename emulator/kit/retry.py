"""Retrying a failed attempt, as Cloud Tasks and Cloud Scheduler share it: Google's backoff
formula (T4, S5), the give-up rule (T2, S5) and the Retry-After lower bound (T10).

Each service resolves its own RetryConfig (defaults, checks) into a ``RetryPolicy``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

UNLIMITED_ATTEMPTS = -1

_MICROSECOND = timedelta(microseconds=1)
_MAX_USEFUL_DOUBLINGS = 64  # 2**64 microseconds is ~585,000 years: beyond any max_backoff


def backoff(
    attempt_k: int, min_backoff: timedelta, max_backoff: timedelta, max_doublings: int
) -> timedelta:
    """Delay before retry ``attempt_k`` (1 = the first retry), Google's formula (T4).

    The interval starts at ``min_backoff``, doubles ``max_doublings`` times, then grows linearly by
    ``min_backoff * 2**max_doublings`` per retry, never exceeding ``max_backoff``.
    """
    if attempt_k < 1:
        raise ValueError(f"attempt_k counts retries from 1, got {attempt_k}.")
    doublings = min(attempt_k - 1, max_doublings, _MAX_USEFUL_DOUBLINGS)
    linear_factor = 1 if attempt_k - 1 <= max_doublings else attempt_k - max_doublings
    max_us = max_backoff // _MICROSECOND
    delay_us = (min_backoff // _MICROSECOND) * 2**doublings * linear_factor
    return timedelta(microseconds=min(max_us, delay_us))


@dataclass(frozen=True)
class RetryPolicy:
    """A fully resolved retry configuration: when to retry a failed attempt, when to give up.

    ``max_attempts`` counts the first attempt; ``UNLIMITED_ATTEMPTS`` means no limit.
    ``max_retry_duration`` 0 means no limit.
    """

    max_attempts: int
    min_backoff: timedelta
    max_backoff: timedelta
    max_doublings: int
    max_retry_duration: timedelta

    def delay_before_retry(self, attempt_k: int) -> timedelta:
        """The backoff before retry ``attempt_k`` (T4)."""
        return backoff(attempt_k, self.min_backoff, self.max_backoff, self.max_doublings)

    def is_exhausted(self, attempts: int, first_attempt: datetime, now: datetime) -> bool:
        """True when a failed task must be given up (T2).

        Both limits must be reached: ``attempts`` >= max_attempts (never, when unlimited) and
        ``max_retry_duration`` (0 = no limit) elapsed since the first attempt.
        """
        attempts_reached = self.max_attempts != UNLIMITED_ATTEMPTS and attempts >= self.max_attempts
        duration_reached = (
            self.max_retry_duration == timedelta(0)
            or now - first_attempt >= self.max_retry_duration
        )
        return attempts_reached and duration_reached


def retry_after(headers: Mapping[str, str], now: datetime) -> timedelta | None:
    """The delay a ``Retry-After`` response header asks for (seconds or HTTP date), if any (T10)."""
    value = next((v for k, v in headers.items() if k.lower() == "retry-after"), None)
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return timedelta(seconds=int(value))
    try:
        when = parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if when.tzinfo is None:
        return None
    return max(timedelta(0), when - now)
