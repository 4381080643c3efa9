"""Cloud Scheduler job settings: the defaults tasks_google gives a job, and the limits on them.

The model's field defaults, schedules declared in code, `schedule_task`, the admin form (through the
model) and the transport's job spec all read these; docs/schedules.md quotes them.
"""

from dataclasses import dataclass
from datetime import timedelta


@dataclass(frozen=True)
class JobSettings:
    """The retry and deadline settings of one Cloud Scheduler job."""

    retry_count: int = 0
    min_backoff: timedelta = timedelta(seconds=5)
    max_backoff: timedelta = timedelta(hours=1)
    max_doublings: int = 5
    #: 0: no limit (retries stop at retry_count).
    max_retry_duration: timedelta = timedelta(0)
    attempt_deadline: timedelta = timedelta(minutes=3)


@dataclass(frozen=True)
class JobLimits:
    """What Cloud Scheduler accepts in a job."""

    max_retry_count: int = 5
    min_attempt_deadline: timedelta = timedelta(seconds=15)
    max_attempt_deadline: timedelta = timedelta(minutes=30)
    max_description_length: int = 500


#: What a schedule gets when it does not say otherwise.
JOB_DEFAULTS = JobSettings()
JOB_LIMITS = JobLimits()


def seconds(duration: timedelta) -> float:
    """A duration as the seconds the rows, declarations and job specs hold."""
    return duration.total_seconds()
