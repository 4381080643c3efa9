"""Queue retry and rate settings: defaults (T5), checks (T1, T3, T6), backoff (T4), give-up (T2).

Also the Retry-After lower bound (T10). The constants here are the single source of truth for
Cloud Tasks queue defaults.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime

from google.api_core.exceptions import InvalidArgument
from google.cloud import tasks_v2

DEFAULT_MAX_ATTEMPTS = 100
DEFAULT_MIN_BACKOFF = timedelta(seconds=0.1)
DEFAULT_MAX_BACKOFF = timedelta(seconds=3600)
DEFAULT_MAX_DOUBLINGS = 16
DEFAULT_MAX_RETRY_DURATION = timedelta(0)
DEFAULT_MAX_DISPATCHES_PER_SECOND = 500.0
MAX_DISPATCHES_PER_SECOND = 500.0
DEFAULT_MAX_CONCURRENT_DISPATCHES = 1000
MAX_CONCURRENT_DISPATCHES = 5000
DEFAULT_MAX_BURST_SIZE = 100
TASK_RETENTION = timedelta(days=31)
"""A task still retrying this long after it was created is given up."""

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
    """A fully resolved RetryConfig: every field has a value."""

    max_attempts: int = DEFAULT_MAX_ATTEMPTS
    min_backoff: timedelta = DEFAULT_MIN_BACKOFF
    max_backoff: timedelta = DEFAULT_MAX_BACKOFF
    max_doublings: int = DEFAULT_MAX_DOUBLINGS
    max_retry_duration: timedelta = DEFAULT_MAX_RETRY_DURATION

    @classmethod
    def from_proto(
        cls, config: tasks_v2.RetryConfig | None, fallback: RetryPolicy | None = None
    ) -> RetryPolicy:
        """Resolve ``config``: fields left unset (0 for numbers) take ``fallback``'s values.

        Durations are kept as sent, sub-second included (T3). The result is validated (T1, T6).
        """
        base = fallback or cls()
        if config is None:
            return base
        policy = cls(
            max_attempts=config.max_attempts or base.max_attempts,
            min_backoff=config.min_backoff if "min_backoff" in config else base.min_backoff,
            max_backoff=config.max_backoff if "max_backoff" in config else base.max_backoff,
            max_doublings=config.max_doublings or base.max_doublings,
            max_retry_duration=(
                config.max_retry_duration
                if "max_retry_duration" in config
                else base.max_retry_duration
            ),
        )
        policy.validate()
        return policy

    def validate(self) -> None:
        """Raise INVALID_ARGUMENT with Google's message if a value is out of range."""
        if self.max_attempts < UNLIMITED_ATTEMPTS:
            raise InvalidArgument("RetryConfig.maxAttempts must be greater or equal to -1.")
        if self.min_backoff < timedelta(0):
            raise InvalidArgument("RetryConfig.minBackoff cannot be negative.")
        if self.max_backoff < timedelta(0):
            raise InvalidArgument("RetryConfig.maxBackoff cannot be negative.")
        if self.max_doublings < 0:
            raise InvalidArgument("RetryConfig.maxDoublings cannot be negative.")
        if self.max_retry_duration < timedelta(0):
            raise InvalidArgument("RetryConfig.maxRetryDuration cannot be negative.")
        if self.min_backoff > self.max_backoff:
            raise InvalidArgument(
                "RetryConfig.minBackoff must be less than or equal to RetryConfig.maxBackoff."
            )

    def to_proto(self) -> tasks_v2.RetryConfig:
        """This policy as the API message."""
        return tasks_v2.RetryConfig(
            max_attempts=self.max_attempts,
            min_backoff=self.min_backoff,
            max_backoff=self.max_backoff,
            max_doublings=self.max_doublings,
            max_retry_duration=self.max_retry_duration,
        )

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


def resolve_rate_limits(limits: tasks_v2.RateLimits | None) -> tasks_v2.RateLimits:
    """Validate rate limits (T6) and fill unset ones with the defaults (T5).

    ``max_burst_size`` is output only: whatever was sent, it reports the default.
    """
    rate = limits.max_dispatches_per_second if limits is not None else 0.0
    concurrency = limits.max_concurrent_dispatches if limits is not None else 0
    if rate < 0:
        raise InvalidArgument("RateLimits.maxDispatchesPerSecond cannot be negative.")
    if rate > MAX_DISPATCHES_PER_SECOND:
        raise InvalidArgument(
            "RateLimits.maxDispatchesPerSecond must be less than or equal to "
            f"{MAX_DISPATCHES_PER_SECOND:g}."
        )
    if concurrency < 0:
        raise InvalidArgument("RateLimits.maxConcurrentDispatches cannot be negative.")
    if concurrency > MAX_CONCURRENT_DISPATCHES:
        raise InvalidArgument(
            "RateLimits.maxConcurrentDispatches must be less than or equal to "
            f"{MAX_CONCURRENT_DISPATCHES}."
        )
    return tasks_v2.RateLimits(
        max_dispatches_per_second=rate or DEFAULT_MAX_DISPATCHES_PER_SECOND,
        max_burst_size=DEFAULT_MAX_BURST_SIZE,
        max_concurrent_dispatches=concurrency or DEFAULT_MAX_CONCURRENT_DISPATCHES,
    )


def retry_after(headers: dict[str, str], now: datetime) -> timedelta | None:
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
