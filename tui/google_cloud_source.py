"""Queues, Scheduler jobs and Run Jobs read through the backends' transports (official clients).

This is the cloud view's source when no backend targets an emulator: it asks Google (or
whatever the transports point at) the way the backends do, and turns the answers into the
control API's JSON shapes, so one view renders both. Google's APIs do not say everything the
emulator's control API says (Cloud Tasks v2 has no queue depth or in-flight count), so those
keys are absent and the view shows `—`. There is no clock and there are no fault rules.
"""

from datetime import datetime, timedelta
from typing import Any

from tasks_google.backends.stored import configured_backends
from tasks_google.options import CLOUD_TASKS, RUN_JOBS
from tui.cloud_state import EXECUTIONS_PER_JOB, JSON, CloudState, RunJobState, resource_id

#: Google's APIs have quotas: the view reads them at most this often.
REFRESH_SECONDS = 10.0


def _iso(moment: datetime | None) -> str | None:
    if not moment:
        return None
    return moment.isoformat().replace("+00:00", "Z")


def _seconds(value: timedelta | None) -> float | None:
    return None if value is None else value.total_seconds()


def _enum_name(value: Any) -> str:
    return getattr(value, "name", str(value))


def queue_json(queue: Any) -> JSON:
    """A `tasks_v2.Queue` in the control API's shape (without depth, in flight, next dispatch)."""
    retry, rate = queue.retry_config, queue.rate_limits
    return {
        "name": queue.name,
        "queue_id": resource_id(queue.name),
        "state": _enum_name(queue.state),
        "retry_config": {
            "max_attempts": retry.max_attempts,
            "min_backoff": _seconds(retry.min_backoff),
            "max_backoff": _seconds(retry.max_backoff),
            "max_doublings": retry.max_doublings,
            "max_retry_duration": _seconds(retry.max_retry_duration),
        },
        "rate_limits": {
            "max_dispatches_per_second": rate.max_dispatches_per_second,
            "max_burst_size": rate.max_burst_size,
            "max_concurrent_dispatches": rate.max_concurrent_dispatches,
        },
        "purge_time": _iso(queue.purge_time),
    }


def scheduler_job_json(job: Any) -> JSON:
    """A `scheduler_v1.Job` in the control API's shape."""
    status = None
    if job.status and job.status.code:
        status = {"code": job.status.code, "message": job.status.message}
    return {
        "name": job.name,
        "job_id": resource_id(job.name),
        "description": job.description,
        "schedule": job.schedule,
        "time_zone": job.time_zone,
        "state": _enum_name(job.state),
        "next_fire_time": _iso(job.schedule_time),
        "last_attempt_time": _iso(job.last_attempt_time),
        "status": status,
    }


def run_job_json(job: Any) -> JSON:
    """A `run_v2.Job` in the control API's shape."""
    return {
        "name": job.name,
        "job_id": resource_id(job.name),
        "task_count": job.template.task_count,
        "parallelism": job.template.parallelism,
        "max_retries": job.template.template.max_retries,
        "execution_count": job.execution_count,
    }


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


def execution_json(execution: Any, tasks: list[Any]) -> JSON:
    """A `run_v2.Execution` and its `run_v2.Task`s in the control API's shape."""
    return {
        "name": execution.name,
        "execution_id": resource_id(execution.name),
        "status": execution_status(execution),
        "create_time": _iso(execution.create_time),
        "start_time": _iso(execution.start_time),
        "completion_time": _iso(execution.completion_time),
        "succeeded_count": execution.succeeded_count,
        "failed_count": execution.failed_count,
        "running_count": execution.running_count,
        "cancelled_count": execution.cancelled_count,
        "tasks": [
            {
                "index": task.index,
                "status": run_task_status(task),
                "attempt": task.retried,
                "exit_code": task.last_attempt_result.exit_code
                if task.completion_time and task.last_attempt_result
                else None,
                "start_time": _iso(task.start_time),
                "end_time": _iso(task.completion_time),
            }
            for task in sorted(tasks, key=lambda t: t.index)
        ],
    }


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

    def _queues(self) -> list[JSON]:
        seen: dict[str, JSON] = {}
        for backend in configured_backends(CLOUD_TASKS):
            parent = backend.config.location_path
            for queue in backend.transport.list_queues(parent):
                seen.setdefault(queue.name, queue_json(queue))
        return [seen[name] for name in sorted(seen)]

    def _scheduler_jobs(self) -> list[JSON]:
        from tasks_google.scheduling import host_backend

        try:
            host = host_backend()
        except Exception:  # no backend hosts schedules: nothing to list
            return []
        jobs = host.transport.list_scheduler_jobs(host.config.location_path)
        return sorted((scheduler_job_json(job) for job in jobs), key=lambda j: j["name"])

    def _run_jobs(self) -> list[RunJobState]:
        states: dict[str, RunJobState] = {}
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
                    executions.append(execution_json(execution, tasks))
                states[job.name] = RunJobState(run_job_json(job), executions)
        return [states[name] for name in sorted(states)]
