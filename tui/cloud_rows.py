"""The rows of the cloud view, typed: queues, Scheduler jobs, Run Jobs with their executions,
fault rules.

Every source builds these: `tui.emulator_sources` from the emulator control API's JSON,
`tui.google_cloud_source` from the official clients' messages. Times are aware datetimes (None
when unknown); counts a source does not know (Google's APIs have no queue depth) are None.
"""

from dataclasses import dataclass
from datetime import datetime


@dataclass(frozen=True)
class QueueRow:
    """A Cloud Tasks queue, its settings and (on the emulator) its dispatch state."""

    name: str
    queue_id: str
    state: str
    max_attempts: int
    min_backoff: float | None  # seconds
    max_backoff: float | None  # seconds
    max_dispatches_per_second: float
    max_burst_size: int
    max_concurrent_dispatches: int
    depth: int | None = None
    in_flight: int | None = None
    next_dispatch_time: datetime | None = None


@dataclass(frozen=True)
class SchedulerJobRow:
    """A Cloud Scheduler job, its schedule and its last attempt."""

    name: str
    job_id: str
    schedule: str
    time_zone: str
    state: str
    next_fire_time: datetime | None = None
    last_attempt_time: datetime | None = None
    status_code: int | None = None  # the last attempt's error, if any
    status_message: str = ""
    last_response_status: int | None = None  # HTTP status (the emulator knows it)


@dataclass(frozen=True)
class RunTaskRow:
    """One task of a Run Jobs execution, as its last attempt left it."""

    index: int
    status: str
    attempt: int | None = None
    exit_code: int | None = None
    term_signal: int | None = None
    start_time: datetime | None = None
    end_time: datetime | None = None


@dataclass(frozen=True)
class RunExecutionRow:
    """A Run Jobs execution, its task counts and (when read) its tasks."""

    name: str
    execution_id: str
    status: str
    succeeded_count: int = 0
    failed_count: int = 0
    running_count: int = 0
    start_time: datetime | None = None
    completion_time: datetime | None = None
    tasks: tuple[RunTaskRow, ...] = ()


@dataclass(frozen=True)
class RunJobRow:
    """A Run Jobs job and its newest executions."""

    name: str
    job_id: str
    task_count: int
    parallelism: int
    max_retries: int
    execution_count: int = 0
    executions: tuple[RunExecutionRow, ...] = ()


@dataclass(frozen=True)
class FaultRow:
    """An emulator fault rule: what it matches, its effect, how often it fired."""

    id: str
    enabled: bool
    service: str
    operation: str
    effect: str  # `type(field=value, …)`
    queue: str | None = None
    job: str | None = None
    probability: float = 1.0
    count: int | None = None
    fired: int = 0


def parse_time(moment: str | None) -> datetime | None:
    """An ISO time (`…Z` or with an offset) as an aware datetime; None if absent or unreadable."""
    if not moment:
        return None
    try:
        return datetime.fromisoformat(moment.replace("Z", "+00:00"))
    except ValueError:
        return None
