"""Test API: run tasks_google against an in-process emulator on a virtual clock.

    from tasks_google.testing import emulated

    with emulated() as cloud:
        result = send_welcome_email.enqueue(user_id=1)
        cloud.run_until_idle()
        result.refresh()

Under `emulated()` every tasks_google backend uses one in-process emulator, whatever its
`transport` option says. Nothing is delivered until the test asks: `run_until_idle()` delivers
everything due, moving the virtual clock through backoffs; `advance()` moves the clock by a given
amount. The pytest plugin offers the same object as the `tasks_emulator` fixture.

Inside a test's transaction (pytest-django's `db`, Django's `TestCase`) nothing ever commits, so
enqueues whose transaction would have committed are sent to the emulator when it next runs.

Times given and returned follow Django's USE_TZ, as `timezone.now()` does: aware under
`USE_TZ = True`, naive local time under `USE_TZ = False`.
"""

from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.conf import settings
from django.db import connections
from google.api_core import exceptions as api_exceptions
from google.cloud import run_v2, tasks_v2
from google.protobuf import field_mask_pb2

from emulator import LocalCloud, VirtualClock
from tasks_google import clock
from tasks_google.backends.run_jobs import project_dir
from tasks_google.backends.stored import configured_backends
from tasks_google.config.options import CLOUD_TASKS
from tasks_google.framework import (
    DEFAULT_TASK_BACKEND_ALIAS,
    DEFAULT_TASK_QUEUE_NAME,
    task_backends,
)
from tasks_google.transports import JobRunSpec, RemoteStep, inprocess
from tasks_google.transports.run_messages import create_job_request

__all__ = ["EmulatedCloud", "PendingTask", "emulated"]

_DURATION_FIELDS = ("max_retry_duration", "min_backoff", "max_backoff")


@dataclass(frozen=True)
class PendingTask:
    """A Cloud Task waiting in an emulated queue."""

    name: str  # the task id (for tasks_google executions: the execution id)
    attempts: int  # deliveries made so far
    schedule_time: datetime  # when it is next delivered


class EmulatedCloud:
    """Drives the in-process emulator: its clock, its queues, its deliveries."""

    def __init__(self, cloud: LocalCloud) -> None:
        self.cloud = cloud

    def now(self) -> datetime:
        """The virtual time, as `timezone.now()` gives it."""
        return clock.for_django(self.cloud.now())

    def run_until_idle(
        self, *, horizon: timedelta = timedelta(days=31), job_timeout: float = 120
    ) -> int:
        """Deliver everything due, jumping the clock through schedule times and backoffs, until
        no task is left or only tasks scheduled beyond `horizon` from now remain; and wait (on
        the wall clock, up to `job_timeout` seconds each) for running Run Jobs executions.

        An execution whose Run Jobs execution ended without it recording an outcome (its
        command could not start, or its process died before the runtime ran) is then recorded
        FAILED, with how it ended. Returns the number of Cloud Tasks deliveries made.
        """
        delivered = 0
        while True:
            delivered += self.cloud.run_until_idle(horizon=horizon)
            running = self.running_job_executions()
            if not running:
                self._record_ended_job_executions()
                return delivered
            for name in running:
                self.cloud.run_jobs.wait_for_execution(name, timeout=job_timeout)

    def running_job_executions(self) -> list[str]:
        """Names of the Run Jobs executions that have not finished."""
        return [name for name, ended in self._job_executions() if not ended]

    def _job_executions(self) -> list[tuple[str, bool]]:
        """Every Run Jobs execution: its name and whether it has ended."""
        engine = self.cloud.run_jobs
        return [
            (execution.name.full, execution.completion_time is not None)
            for job, _ in engine.job_snapshots()
            for execution in engine.execution_snapshots(job.name)
        ]

    def _record_ended_job_executions(self) -> None:
        """Record FAILED, as `reconcile_tasks` would, the unfinished executions whose Run Jobs
        execution has ended (cancelled ones are left to the cancellation)."""
        ended = [name for name, over in self._job_executions() if over]
        if not ended:
            return
        from tasks_google.control.reconcile import record_abandoned
        from tasks_google.models import TaskExecution

        unfinished = TaskExecution.objects.unfinished().filter(
            remote_name__in=ended, cancel_requested_at__isnull=True
        )
        for row in unfinished:
            how = task_backends[row.backend].remote_work_over(row)
            if how:
                record_abandoned(row, how)

    def advance(
        self, seconds: float = 0, *, minutes: float = 0, hours: float = 0, days: float = 0
    ) -> int:
        """Move the clock forward, delivering what falls due on the way, in order."""
        return self.cloud.advance(seconds, minutes=minutes, hours=hours, days=days)

    def pending(
        self,
        queue: str = DEFAULT_TASK_QUEUE_NAME,
        *,
        backend: str = DEFAULT_TASK_BACKEND_ALIAS,
    ) -> list[PendingTask]:
        """The tasks waiting in a Django queue of a backend, soonest first."""
        flush_pending_enqueues()
        parent = task_backends[backend].config.queue_path(queue)
        tasks: list[PendingTask] = []
        token = ""
        while True:
            try:
                page = self.cloud.cloud_tasks.list_tasks(
                    tasks_v2.ListTasksRequest(parent=parent, page_size=1000, page_token=token)
                )
            except api_exceptions.NotFound:
                return []
            tasks.extend(
                PendingTask(
                    name=t.name.rsplit("/", 1)[-1],
                    attempts=t.dispatch_count,
                    schedule_time=clock.for_django(t.schedule_time),
                )
                for t in page.tasks
            )
            token = page.next_page_token
            if not token:
                return sorted(tasks, key=lambda t: t.schedule_time)

    def configure_queue(
        self,
        queue: str = DEFAULT_TASK_QUEUE_NAME,
        *,
        backend: str = DEFAULT_TASK_BACKEND_ALIAS,
        max_attempts: int | None = None,
        max_retry_duration: float | timedelta | None = None,
        min_backoff: float | timedelta | None = None,
        max_backoff: float | timedelta | None = None,
        max_doublings: int | None = None,
    ) -> tasks_v2.Queue:
        """Create or update the emulated queue behind a Django queue (durations in seconds)."""
        values = {
            "max_attempts": max_attempts,
            "max_retry_duration": max_retry_duration,
            "min_backoff": min_backoff,
            "max_backoff": max_backoff,
            "max_doublings": max_doublings,
        }
        given = {}
        for key, value in values.items():
            if value is None:
                continue
            if key in _DURATION_FIELDS and not isinstance(value, timedelta):
                value = timedelta(seconds=value)
            given[key] = value
        name = task_backends[backend].config.queue_path(queue)
        request = tasks_v2.UpdateQueueRequest(
            queue=tasks_v2.Queue(name=name, retry_config=tasks_v2.RetryConfig(**given)),
            update_mask=field_mask_pb2.FieldMask(paths=[f"retry_config.{key}" for key in given]),
        )
        return self.cloud.cloud_tasks.update_queue(request)

    def configure_job(
        self,
        queue: str = DEFAULT_TASK_QUEUE_NAME,
        *,
        backend: str = DEFAULT_TASK_BACKEND_ALIAS,
        max_retries: int | None = None,
        timeout: float | timedelta | None = None,
    ) -> run_v2.Job:
        """Create or update the emulated Cloud Run job behind a Django queue of a Run Jobs
        backend: `max_retries` (0 to 10) and the attempt `timeout` (seconds or `timedelta`)."""
        config = task_backends[backend].config
        engine = self.cloud.run_jobs
        name = config.job_path(queue)
        try:
            job = engine.get_job(run_v2.GetJobRequest(name=name))
        except api_exceptions.NotFound:
            spec = JobRunSpec(name, "", command=config.command, working_dir=project_dir())
            engine.create_job(create_job_request(spec))
            job = engine.get_job(run_v2.GetJobRequest(name=name))
        if max_retries is not None:
            job.template.template.max_retries = max_retries
        if timeout is not None:
            duration = timeout if isinstance(timeout, timedelta) else timedelta(seconds=timeout)
            job.template.template.timeout = duration
        engine.update_job(run_v2.UpdateJobRequest(job=job))
        return engine.get_job(run_v2.GetJobRequest(name=name))


def flush_pending_enqueues() -> None:
    """Run the remote steps (create, cancel) waiting for a commit a test transaction never makes."""
    for conn in connections.all(initialized_only=True):
        if not conn.in_atomic_block:
            continue
        ours = [entry for entry in conn.run_on_commit if isinstance(entry[1], RemoteStep)]
        if ours:
            conn.run_on_commit = [e for e in conn.run_on_commit if e not in ours]
            for _, create, _ in ours:
                create()


def create_configured_queues() -> None:
    """Create, in the emulator in use, each queue of every Cloud Tasks backend's
    `OPTIONS["queue_config"]`, with its settings: it retries as the queue in production will."""
    for backend in configured_backends(CLOUD_TASKS):
        config = backend.config
        for name, queue_settings in sorted(config.queue_config.items()):
            with suppress(api_exceptions.AlreadyExists):  # queues aliased to one queue id
                backend.transport.create_queue(config.queue_path(name), queue_settings)


@contextmanager
def emulated(
    *, start: datetime | None = None, job_kill_grace: float | None = None
) -> Iterator[EmulatedCloud]:
    """Run every tasks_google backend on a fresh in-process emulator for the duration.

    The virtual clock starts at `start` (aware; under USE_TZ = False a naive `start` is local
    time) and stays there until advanced; without `start` it starts now and never falls behind
    the wall clock (so `timezone.now() + delta` computed in a test is reached by advancing
    `delta`). Run Jobs executions are real subprocesses on the wall clock; `job_kill_grace`
    (seconds, default Cloud Run's 10) is how long a cancelled or timed out attempt gets between
    SIGTERM and SIGKILL. Each queue of a Cloud Tasks backend's `OPTIONS["queue_config"]` is
    created with its settings. Leaving the block stops every such process.
    """
    if start is not None and start.tzinfo is None and not settings.USE_TZ:
        start = clock.as_utc(start)
    cloud = inprocess.new_cloud(
        VirtualClock(start), before_step=flush_pending_enqueues, job_kill_grace=job_kill_grace
    )
    inprocess.install(cloud)
    previous = clock.use_source(cloud.now)
    try:
        create_configured_queues()
        yield EmulatedCloud(cloud)
    finally:
        clock.use_source(previous)
        inprocess.uninstall(cloud)
        cloud.close()
