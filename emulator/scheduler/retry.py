"""A job's RetryConfig (S5): defaults, checks, and the retry policy it resolves to.

The constants here are the single source of truth for Cloud Scheduler retry defaults. Backoff
and give-up are ``emulator.kit.retry.RetryPolicy``'s (the formula Cloud Tasks uses, T4), with
``max_attempts`` = ``retry_count`` + 1.
"""

from __future__ import annotations

from datetime import timedelta

from google.api_core.exceptions import InvalidArgument
from google.cloud import scheduler_v1

from emulator.kit.retry import RetryPolicy

DEFAULT_RETRY_COUNT = 0
MAX_RETRY_COUNT = 5
DEFAULT_MAX_RETRY_DURATION = timedelta(0)
DEFAULT_MIN_BACKOFF = timedelta(seconds=5)
DEFAULT_MAX_BACKOFF = timedelta(hours=1)
DEFAULT_MAX_DOUBLINGS = 5


def resolve_retry_config(config: scheduler_v1.RetryConfig | None) -> scheduler_v1.RetryConfig:
    """``config`` validated, with unset fields given their defaults (S5).

    Durations left out take their defaults, an explicit ``0s`` is kept; ``max_doublings`` 0
    cannot be told from unset and means the default.
    """
    config = config if config is not None else scheduler_v1.RetryConfig()
    resolved = scheduler_v1.RetryConfig(
        retry_count=config.retry_count,
        max_retry_duration=_duration(config, "max_retry_duration", DEFAULT_MAX_RETRY_DURATION),
        min_backoff_duration=_duration(config, "min_backoff_duration", DEFAULT_MIN_BACKOFF),
        max_backoff_duration=_duration(config, "max_backoff_duration", DEFAULT_MAX_BACKOFF),
        max_doublings=config.max_doublings or DEFAULT_MAX_DOUBLINGS,
    )
    if not 0 <= resolved.retry_count <= MAX_RETRY_COUNT:
        raise InvalidArgument(
            f"RetryConfig.retryCount must be between 0 and {MAX_RETRY_COUNT}, "
            f"got {resolved.retry_count}."
        )
    if resolved.max_doublings < 0:
        raise InvalidArgument("RetryConfig.maxDoublings cannot be negative.")
    for field in ("max_retry_duration", "min_backoff_duration", "max_backoff_duration"):
        if getattr(resolved, field) < timedelta(0):
            camel = "".join(w.title() if i else w for i, w in enumerate(field.split("_")))
            raise InvalidArgument(f"RetryConfig.{camel} cannot be negative.")
    if resolved.min_backoff_duration > resolved.max_backoff_duration:
        raise InvalidArgument(
            "RetryConfig.minBackoffDuration must be less than or equal to "
            "RetryConfig.maxBackoffDuration."
        )
    return resolved


def retry_policy(config: scheduler_v1.RetryConfig) -> RetryPolicy:
    """The backoff and give-up rules of a resolved config (T4 formula; both limits, S5)."""
    return RetryPolicy(
        max_attempts=config.retry_count + 1,
        min_backoff=config.min_backoff_duration,
        max_backoff=config.max_backoff_duration,
        max_doublings=config.max_doublings,
        max_retry_duration=config.max_retry_duration,
    )


def _duration(config: scheduler_v1.RetryConfig, field: str, default: timedelta) -> timedelta:
    return getattr(config, field) if field in config else default
