"""The transport: the one place tasks_google talks to Cloud Tasks (real or emulated).

Backends never call a Google client directly; they call a transport with this small interface.
`gcp` uses the official clients; `inprocess` an emulator living in this process (tests).
Transports are created lazily and shared per process.
"""

import threading
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from tasks_google.config.scheduler_jobs import JOB_DEFAULTS

if TYPE_CHECKING:
    from google.cloud import run_v2, scheduler_v1, tasks_v2

    from tasks_google.config.queue_config import QueueSettings
    from tasks_google.config.targets import Target


@dataclass(frozen=True)
class CloudTaskSpec:
    """Everything needed to create one Cloud Task (an HTTP POST to the execute endpoint)."""

    queue_path: str
    task_id: str
    url: str
    body: bytes
    headers: dict[str, str] = field(default_factory=dict)
    schedule_time: datetime | None = None
    oidc_service_account: str | None = None
    oidc_audience: str | None = None
    dispatch_deadline: timedelta | None = None

    @property
    def task_name(self) -> str:
        return f"{self.queue_path}/tasks/{self.task_id}"


#: Environment variable through which a Run Jobs execution learns its execution id.
EXECUTION_ID_ENV = "TASKS_GOOGLE_EXECUTION_ID"
#: Environment variable carrying the job's `max_retries`, read from the job when RunJob is
#: called: with CLOUD_RUN_TASK_ATTEMPT, an attempt knows whether it is the last one.
MAX_RETRIES_ENV = "TASKS_GOOGLE_MAX_RETRIES"
#: Environment variable naming, as JSON {alias: NAME}, the databases a Run Jobs subprocess of
#: the in-process emulator uses: those of the process that enqueued (e.g. the test databases).
DATABASE_NAMES_ENV = "TASKS_GOOGLE_DATABASE_NAMES"


@dataclass(frozen=True)
class JobRunSpec:
    """One RunJob call: which job, the execution id (passed as an env override), its timeout.

    `command` and `working_dir` are used only against the emulator, to create a job that does
    not exist yet (on Google, jobs are infrastructure and are never created for you).
    `extra_env` is added to the env overrides.
    """

    job_path: str
    execution_id: str
    timeout: timedelta | None = None
    command: tuple[str, ...] = ()
    working_dir: str = ""
    extra_env: Mapping[str, str] = field(default_factory=dict)

    @property
    def env(self) -> dict[str, str]:
        return {**self.extra_env, EXECUTION_ID_ENV: self.execution_id}


@dataclass(frozen=True)
class ExecutionEnd:
    """How a Run Jobs execution ended."""

    #: SUCCEEDED, FAILED, CANCELLED, or GONE (it no longer exists).
    outcome: str
    #: Cloud Run's message (the execution's Completed condition), e.g. why a task failed.
    message: str = ""


@dataclass(frozen=True)
class SchedulerJobSpec:
    """A Cloud Scheduler job as tasks_google manages it: an HTTP POST to `schedule/`."""

    name: str  # projects/P/locations/L/jobs/ID
    schedule: str
    time_zone: str
    uri: str
    body: bytes
    enabled: bool = True
    description: str = ""
    oidc_service_account: str | None = None
    oidc_audience: str | None = None
    retry_count: int = JOB_DEFAULTS.retry_count
    min_backoff: timedelta = JOB_DEFAULTS.min_backoff
    max_backoff: timedelta = JOB_DEFAULTS.max_backoff
    max_doublings: int = JOB_DEFAULTS.max_doublings
    #: Zero: no time limit.
    max_retry_duration: timedelta = JOB_DEFAULTS.max_retry_duration
    attempt_deadline: timedelta = JOB_DEFAULTS.attempt_deadline
    headers: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class RetryPolicy:
    """The part of a queue's RetryConfig that decides when Cloud Tasks gives a task up."""

    max_attempts: int
    max_retry_duration: timedelta

    def gives_up_after(self, attempts_made: int, first_attempt_at: datetime, now: datetime) -> bool:
        """True if Cloud Tasks will not retry once `attempts_made` attempts have failed.

        Cloud Tasks stops only when both limits are reached: `max_attempts` (-1 = unlimited) and
        `max_retry_duration` since the first attempt (0 = no time limit).
        """
        if self.max_attempts < 0 or attempts_made < self.max_attempts:
            return False
        if not self.max_retry_duration:
            return True
        return now - first_attempt_at >= self.max_retry_duration


class RemoteStep(ABC):
    """Base of the callables that change remote state once a transaction commits (create a
    Cloud Task, cancel remote work). The test API recognises them in pending on-commit hooks."""

    @abstractmethod
    def __call__(self) -> None: ...


class CloudTasksPort(Protocol):
    """Cloud Tasks, as backends, the runtime and the queue calls use it."""

    def create_task(self, spec: CloudTaskSpec) -> str:
        """Create the task; return its resource name. A task that already exists counts as done."""

    def delete_task(self, name: str) -> None:
        """Delete a pending task; a task that is already gone counts as done."""

    def task_exists(self, name: str) -> bool:
        """Whether the Cloud Task still exists (False once it ran, was deleted or purged, or
        Cloud Tasks gave up on it)."""

    def retry_policy(self, queue_path: str) -> RetryPolicy:
        """The retry limits of a queue."""

    def get_queue_state(self, queue_path: str) -> str:
        """A queue's state: RUNNING, PAUSED or DISABLED. google.api_core NotFound if the queue
        does not exist (as for the three calls below)."""

    def pause_queue(self, queue_path: str) -> str:
        """PauseQueue: tasks are kept and none is dispatched; return the state afterwards."""

    def resume_queue(self, queue_path: str) -> str:
        """ResumeQueue (a PAUSED or DISABLED queue runs again); return the state afterwards."""

    def purge_queue(self, queue_path: str) -> str:
        """PurgeQueue: delete every task created before the call; return the queue's state."""

    def list_queues(self, parent: str) -> "list[tasks_v2.Queue]":
        """Every Cloud Tasks queue of a location."""

    def get_queue(self, queue_path: str) -> "tasks_v2.Queue":
        """GetQueue: the queue with its settings (NotFound if it does not exist)."""

    def create_queue(self, queue_path: str, settings: "QueueSettings") -> "tasks_v2.Queue":
        """CreateQueue with these settings (durations in seconds); Cloud Tasks' defaults for
        the rest. AlreadyExists if it exists."""

    def update_queue(self, queue_path: str, settings: "QueueSettings") -> "tasks_v2.Queue":
        """UpdateQueue of exactly these settings (the field mask names only them); the queue's
        other settings are left as they are."""

    def queue_permissions(self, queue_path: str, permissions: list[str]) -> list[str]:
        """Which of `permissions` the caller holds on a queue (TestIamPermissions).
        google.api_core NotFound if the queue does not exist."""


class RunJobsPort(Protocol):
    """Cloud Run Jobs, as the Run Jobs backend and the dashboard use it."""

    def run_job(self, spec: JobRunSpec) -> str:
        """Start an execution of a Cloud Run job; return the execution's resource name.

        The job's `max_retries` (read from the job, cached per job) goes with it as the
        MAX_RETRIES_ENV override, unless the job cannot be read.
        """

    def list_run_jobs(self, parent: str) -> "list[run_v2.Job]":
        """Every Cloud Run job of a location."""

    def list_run_executions(self, job_path: str, limit: int) -> "list[run_v2.Execution]":
        """A job's newest `limit` executions, newest first."""

    def list_run_tasks(self, execution_path: str) -> "list[run_v2.Task]":
        """An execution's tasks."""

    def cancel_execution(self, name: str) -> None:
        """Cancel a Run Jobs execution (SIGTERM, then SIGKILL); one that is over counts as done."""

    def execution_end(self, name: str) -> ExecutionEnd | None:
        """How a Run Jobs execution ended; None while it runs."""

    def job_max_retries(self, job_path: str) -> int:
        """How many times Cloud Run retries a failed task of this job."""

    def job_exists(self, job_path: str) -> bool:
        """Whether the Cloud Run job exists (read now, never created)."""

    def job_permissions(self, job_path: str, permissions: list[str]) -> list[str]:
        """Which of `permissions` the caller holds on a job (TestIamPermissions).
        google.api_core NotFound if the job does not exist."""


class SchedulerPort(Protocol):
    """Cloud Scheduler, as declared schedules are synced and fired."""

    def upsert_scheduler_job(self, spec: SchedulerJobSpec) -> str:
        """Create or update a Cloud Scheduler job (paused unless enabled); return its name."""

    def delete_scheduler_job(self, name: str) -> None:
        """Delete a Cloud Scheduler job; one that is already gone counts as done."""

    def run_scheduler_job(self, name: str) -> None:
        """Fire a Cloud Scheduler job now (RunJob)."""

    def list_scheduler_jobs(self, parent: str) -> "list[scheduler_v1.Job]":
        """Every Cloud Scheduler job of a location."""

    def pause_scheduler_job(self, name: str) -> None: ...

    def resume_scheduler_job(self, name: str) -> None: ...


class Transport(CloudTasksPort, RunJobsPort, SchedulerPort, Protocol):
    """The three ports over one channel (`cloud.CloudTransport`)."""


#: The methods of the transport interface.
TRANSPORT_METHODS = frozenset(
    name
    for port in (CloudTasksPort, RunJobsPort, SchedulerPort)
    for name in vars(port)
    if not name.startswith("_")
)


_lock = threading.Lock()
_shared: dict[tuple, Transport] = {}


def get_transport(alias: str, target: "Target") -> Transport:
    """The transport that reaches backend `alias`'s `target` (shared per emulator host).

    Raises ImproperlyConfigured rather than send a `demo-` project to Google. For an emulator
    host that nothing listens on, a transport whose every call raises EmulatorUnavailableError,
    returned without loading Google's client libraries (see `unreachable_emulator`).
    """
    from django.core.exceptions import ImproperlyConfigured

    from tasks_google.config.targets import TargetKind

    if target.kind is TargetKind.IN_PROCESS:
        from tasks_google.transports import inprocess

        return inprocess.transport()
    problem = target.demo_project_problem(alias)
    if problem is not None:
        raise ImproperlyConfigured(f"{problem.msg} {problem.hint}")
    key = ("gcp", target.emulator_host)
    with _lock:
        if key in _shared:
            return _shared[key]
    if target.emulator_host:
        from tasks_google.transports.unreachable_emulator import (
            UnreachableEmulator,
            connect_problem,
        )

        reason = connect_problem(target.emulator_host)
        if reason is not None:
            return UnreachableEmulator(target.emulator_host, reason)
    with _lock:
        if key not in _shared:
            from tasks_google.transports.gcp import gcp_transport

            _shared[key] = gcp_transport(target.emulator_host)
        return _shared[key]
