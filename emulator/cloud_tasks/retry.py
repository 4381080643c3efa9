"""Queue retry and rate settings: defaults (T5) and checks (T1, T3, T6).

The constants here are the single source of truth for Cloud Tasks queue defaults. Backoff, give-up
and Retry-After are ``emulator.kit.retry``'s.
"""

from __future__ import annotations

from datetime import timedelta

from google.api_core.exceptions import InvalidArgument
from google.cloud import tasks_v2

from emulator.kit.retry import UNLIMITED_ATTEMPTS, RetryPolicy

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

DEFAULT_RETRY_POLICY = RetryPolicy(
    max_attempts=DEFAULT_MAX_ATTEMPTS,
    min_backoff=DEFAULT_MIN_BACKOFF,
    max_backoff=DEFAULT_MAX_BACKOFF,
    max_doublings=DEFAULT_MAX_DOUBLINGS,
    max_retry_duration=DEFAULT_MAX_RETRY_DURATION,
)


def resolve_retry_policy(
    config: tasks_v2.RetryConfig | None, fallback: RetryPolicy = DEFAULT_RETRY_POLICY
) -> RetryPolicy:
    """Resolve ``config``: fields left unset (0 for numbers) take ``fallback``'s values.

    Durations are kept as sent, sub-second included (T3). The result is validated (T1, T6).
    """
    if config is None:
        return fallback
    policy = RetryPolicy(
        max_attempts=config.max_attempts or fallback.max_attempts,
        min_backoff=config.min_backoff if "min_backoff" in config else fallback.min_backoff,
        max_backoff=config.max_backoff if "max_backoff" in config else fallback.max_backoff,
        max_doublings=config.max_doublings or fallback.max_doublings,
        max_retry_duration=(
            config.max_retry_duration
            if "max_retry_duration" in config
            else fallback.max_retry_duration
        ),
    )
    _validate(policy)
    return policy


def retry_config(policy: RetryPolicy) -> tasks_v2.RetryConfig:
    """``policy`` as the API message."""
    return tasks_v2.RetryConfig(
        max_attempts=policy.max_attempts,
        min_backoff=policy.min_backoff,
        max_backoff=policy.max_backoff,
        max_doublings=policy.max_doublings,
        max_retry_duration=policy.max_retry_duration,
    )


def _validate(policy: RetryPolicy) -> None:
    """Raise INVALID_ARGUMENT with Google's message if a value is out of range."""
    if policy.max_attempts < UNLIMITED_ATTEMPTS:
        raise InvalidArgument("RetryConfig.maxAttempts must be greater or equal to -1.")
    if policy.min_backoff < timedelta(0):
        raise InvalidArgument("RetryConfig.minBackoff cannot be negative.")
    if policy.max_backoff < timedelta(0):
        raise InvalidArgument("RetryConfig.maxBackoff cannot be negative.")
    if policy.max_doublings < 0:
        raise InvalidArgument("RetryConfig.maxDoublings cannot be negative.")
    if policy.max_retry_duration < timedelta(0):
        raise InvalidArgument("RetryConfig.maxRetryDuration cannot be negative.")
    if policy.min_backoff > policy.max_backoff:
        raise InvalidArgument(
            "RetryConfig.minBackoff must be less than or equal to RetryConfig.maxBackoff."
        )


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
