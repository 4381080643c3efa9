"""Queues, Scheduler jobs and Run Jobs read through the backends' transports (official clients).

This is the cloud view's source when no backend targets an emulator: it asks Google (or
whatever the transports point at) the way the backends do, and turns the messages into the
cloud view's typed rows (`tui.cloud_rows`), as the emulator sources do, so one view renders
both. Google's APIs do not say everything the
emulator's control API says (Cloud Tasks v2 has no queue depth or in-flight count), so those
fields are None and the view shows `—`. There is no clock and there are no fault rules.
"""

from datetime import datetime, timedelta
from typing import Any

from tasks_google.backends.stored import configured_backends
from tasks_google.config.options import CLOUD_TASKS, RUN_JOBS
from tui.cloud_rows import (
    QueueRow,
    RunExecutionRow,
    RunJobRow,
    RunTaskRow,
    SchedulerJobRow,
)
from tui.cloud_state import EXECUTIONS_PER_JOB, CloudState, resource_id

#: Google's APIs have quotas: the view reads them at most this often.
REFRESH_SECONDS = 10.0


def _time(moment: datetime | None) -> datetime | None:
    return moment or None  # an unset Timestamp reads as None or as a false value


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def _enum_name(value: Any) -> str:
    return getattr(value, "name", str(value))


def queue_row(queue: Any) -> QueueRow:
    """A `tasks_v2.Queue` (Google says nothing of its depth, in flight or next dispatch)."""
    retry, rate = queue.retry_config, queue.rate_limits
    return QueueRow(
        name=queue.name,
        queue_id=resource_id(queue.name),
        state=_enum_name(queue.state),
        max_attempts=retry.max_attempts,
        min_backoff=_seconds(retry.min_backoff),
        max_backoff=_seconds(retry.max_backoff),
        max_dispatches_per_second=rate.max_dispatches_per_second,
        max_burst_size=rate.max_burst_size,
        max_concurrent_dispatches=rate.max_concurrent_dispatches,
    )


def scheduler_job_row(job: Any) -> SchedulerJobRow:
    """A `scheduler_v1.Job`."""
    failed = bool(job.status and job.status.code)
    return SchedulerJobRow(
        name=job.name,
        job_id=resource_id(job.name),
        schedule=job.schedule,
        time_zone=job.time_zone,
        state=_enum_name(job.state),
        next_fire_time=_time(job.schedule_time),
        last_attempt_time=_time(job.last_attempt_time),
        status_code=job.status.code if failed else None,
        status_message=job.status.message if failed else "",
    )


def execution_status(execution: Any) -> str:
    """What an execution's counts say it is: PENDING, RUNNING, SUCCEEDED, FAILED, CANCELLED."""
    if not execution.completion_time:
        return "RUNNING" if execution.start_time else "PENDING"
    if execution.cancelled_count:
        return "CANCELLED"
    if execution.failed_count:
        return "FAILED"
    return "SUCCEEDED"


def run_task_status(task: Any) -> str:
    """What a `run_v2.Task` says it is: PENDING, RUNNING, SUCCEEDED or FAILED."""
    if not task.completion_time:
        return "RUNNING" if task.start_time else "PENDING"
    result = task.last_attempt_result
    failed = result and (result.exit_code or (result.status and result.status.code))
    return "FAILED" if failed else "SUCCEEDED"


def run_task_row(task: Any) -> RunTaskRow:
    """A `run_v2.Task`."""
    finished = task.completion_time and task.last_attempt_result
    return RunTaskRow(
        index=task.index,
        status=run_task_status(task),
        attempt=task.retried,
        exit_code=task.last_attempt_result.exit_code if finished else None,
        start_time=_time(task.start_time),
        end_time=_time(task.completion_time),
    )


def execution_row(execution: Any, tasks: list[Any]) -> RunExecutionRow:
    """A `run_v2.Execution` and its `run_v2.Task`s."""
    return RunExecutionRow(
        name=execution.name,
        execution_id=resource_id(execution.name),
        status=execution_status(execution),
        succeeded_count=execution.succeeded_count,
        failed_count=execution.failed_count,
        running_count=execution.running_count,
        start_time=_time(execution.start_time),
        completion_time=_time(execution.completion_time),
        tasks=tuple(run_task_row(task) for task in sorted(tasks, key=lambda t: t.index)),
    )


def run_job_row(job: Any, executions: tuple[RunExecutionRow, ...]) -> RunJobRow:
    """A `run_v2.Job` and its newest `executions`."""
    return RunJobRow(
        name=job.name,
        job_id=resource_id(job.name),
        task_count=job.template.task_count,
        parallelism=job.template.parallelism,
        max_retries=job.template.template.max_retries,
        execution_count=job.execution_count,
        executions=executions,
    )


class GoogleCloudSource:
    """Reads what the configured backends use, through their transports."""

    refresh_seconds = REFRESH_SECONDS
    emulated = False

    def __init__(self) -> None:
        places = sorted({b.config.location_path for b in configured_backends()})
        self.where = ", ".join(places) or "no tasks_google backend"

    def read(self) -> CloudState:
        try:
            return CloudState(
                where=self.where,
                emulated=False,
                queues=self._queues(),
                scheduler_jobs=self._scheduler_jobs(),
                run_jobs=self._run_jobs(),
            )
        except Exception as error:  # permissions, quota, network: say it and retry later
            reason = f"reading Google Cloud failed: {type(error).__name__}: {error}"
            return CloudState(where=self.where, emulated=False, error=reason)

    def _queues(self) -> tuple[QueueRow, ...]:
        seen: dict[str, QueueRow] = {}
        for backend in configured_backends(CLOUD_TASKS):
            parent = backend.config.location_path
            for queue in backend.transport.list_queues(parent):
                if queue.name not in seen:
                    seen[queue.name] = queue_row(queue)
        return tuple(seen[name] for name in sorted(seen))

    def _scheduler_jobs(self) -> tuple[SchedulerJobRow, ...]:
        from tasks_google.scheduling.schedules import host_backend

        try:
            host = host_backend()
        except Exception:  # no backend hosts schedules: nothing to list
            return ()
        jobs = host.transport.list_scheduler_jobs(host.config.location_path)
        return tuple(sorted((scheduler_job_row(job) for job in jobs), key=lambda j: j.name))

    def _run_jobs(self) -> tuple[RunJobRow, ...]:
        states: dict[str, RunJobRow] = {}
        for backend in configured_backends(RUN_JOBS):
            transport = backend.transport
            for job in transport.list_run_jobs(backend.config.location_path):
                if job.name in states:
                    continue
                executions = []
                for number, execution in enumerate(
                    transport.list_run_executions(job.name, EXECUTIONS_PER_JOB)
                ):
                    # Tasks of the newest execution, and of any still running, only: each
                    # list is one more call against the quota at every refresh.
                    wanted = number == 0 or not execution.completion_time
                    tasks = transport.list_run_tasks(execution.name) if wanted else []
                    executions.append(execution_row(execution, tasks))
                states[job.name] = run_job_row(job, tuple(executions))
        return tuple(states[name] for name in sorted(states))
