"""Cloud Scheduler job settings: the defaults tasks_google gives a job, the limits on them, and
the task a `PeriodicTask` schedule runs.

The model's field defaults, schedules declared in code, `schedule_task`, the admin form (through the
model), the limit checks and the transport's job spec all read these; docs/schedules.md quotes them.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

#: The task that runs `PeriodicTask` subclasses; its first argument is the class path.
PERIODIC_RUNNER_PATH = "tasks_google.periodic_runner.run_periodic_task"


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


#: What a schedule's job gets when the schedule does not say otherwise.
JOB_DEFAULTS = JobSettings()

#: What Cloud Scheduler accepts in a job.
MAX_RETRY_COUNT = 5
ATTEMPT_DEADLINE_RANGE = (timedelta(seconds=15), timedelta(minutes=30))
MAX_DESCRIPTION_LENGTH = 500


def seconds(duration: timedelta) -> float:
    """A duration as the seconds the rows, declarations and job specs hold."""
    return duration.total_seconds()


def execution_task_name(task_path: str, args: Sequence[Any]) -> str:
    """The task an execution is shown under: its task path, or for a `PeriodicTask` the class
    path rather than the runner's. Only `args[0]` is read (a list query may fetch just that)."""
    if task_path == PERIODIC_RUNNER_PATH and args and isinstance(args[0], str):
        return args[0]
    return task_path
