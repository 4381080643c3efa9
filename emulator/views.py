"""The emulator's state as JSON: what the control API serves and the in-process dashboard reads.

Each view is built here, once, from the snapshots the engines take under their locks
(``queue_snapshots``, ``task_snapshots``, ``job_snapshots``, ``execution_snapshots``); the engines
hold no JSON. docs/emulator.md ("Control API") documents every shape. Times are UTC with a ``Z``.
"""

from __future__ import annotations

from datetime import UTC
from typing import Any

from google.cloud import run_v2, scheduler_v1, tasks_v2

from emulator.cloud import LocalCloud
from emulator.cloud_tasks.model import QueueSnapshot, TaskState
from emulator.kit.timestamps import iso_utc
from emulator.run_jobs.model import ExecutionState
from emulator.run_jobs.model import TaskState as RunTaskState
from emulator.scheduler.model import JobState, State

JSON = dict[str, Any]

AUTHORIZATION_PLACEHOLDER = "Bearer <ID token minted at dispatch>"
"""The ``Authorization`` a task's next request shows: its OIDC token is minted at dispatch."""


def clock(cloud: LocalCloud) -> str:
    """The cloud's current time, to the millisecond (``/health``'s ``time``)."""
    now = cloud.now().astimezone(UTC)
    return now.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# ---------------------------------------------------------------------------- Cloud Tasks


def queues(cloud: LocalCloud) -> list[JSON]:
    """Every queue with its settings and dispatch state, by name."""
    return [_queue(queue) for queue in cloud.cloud_tasks.queue_snapshots()]


def tasks(cloud: LocalCloud, queue: str) -> list[JSON]:
    """The tasks of ``queue`` (a full name), soonest first, with their attempts and what their
    next request will carry. NOT_FOUND if there is no such queue."""
    return [_task(task) for task in cloud.cloud_tasks.task_snapshots(queue)]


def deliveries(cloud: LocalCloud, limit: int) -> list[JSON]:
    """The last ``limit`` delivery attempts of Cloud Tasks, oldest first."""
    return [
        {
            "queue_id": record.queue_id,
            "task_id": record.task_id,
            "dispatch_time": iso_utc(record.dispatch_time),
            "response_status": record.response_status,
            "retry_count": record.retry_count,
            "duplicate": record.duplicate,
            "fault": record.fault,
        }
        for record in cloud.deliveries[-limit:]
    ]


def _queue(queue: QueueSnapshot) -> JSON:
    policy = queue.retry_policy
    limits = queue.config.rate_limits
    return {
        "name": queue.name.full,
        "queue_id": queue.name.queue_id,
        "state": tasks_v2.Queue.State(queue.state).name,
        "retry_config": {
            "max_attempts": policy.max_attempts,
            "min_backoff": policy.min_backoff.total_seconds(),
            "max_backoff": policy.max_backoff.total_seconds(),
            "max_doublings": policy.max_doublings,
            "max_retry_duration": policy.max_retry_duration.total_seconds(),
        },
        "rate_limits": {
            "max_dispatches_per_second": limits.max_dispatches_per_second,
            "max_burst_size": limits.max_burst_size,
            "max_concurrent_dispatches": limits.max_concurrent_dispatches,
            "tokens": round(queue.tokens, 3),
        },
        "depth": queue.depth,
        "in_flight": queue.in_flight,
        "next_dispatch_time": iso_utc(queue.next_dispatch_time),
        "purge_time": iso_utc(queue.purge_time),
    }


def _task(task: TaskState) -> JSON:
    return {
        "name": task.name.full,
        "task_id": task.name.task_id,
        "create_time": iso_utc(task.create_time),
        "schedule_time": iso_utc(task.schedule_time),
        "dispatch_deadline": task.deadline.total_seconds(),
        "dispatch_count": task.dispatch_count,
        "response_count": task.response_count,
        "in_flight": task.in_flight > 0,
        "attempts": [
            {
                "schedule_time": iso_utc(a.schedule_time),
                "dispatch_time": iso_utc(a.dispatch_time),
                "response_time": iso_utc(a.response_time),
                "status": a.status,
            }
            for a in task.attempts
        ],
        "next_request": _next_request(task),
    }


def _next_request(task: TaskState) -> JSON:
    """What the task's next delivery will carry (the headers its dispatch will send)."""
    target = task.oidc_target
    headers = task.next_headers(AUTHORIZATION_PLACEHOLDER if target is not None else None)
    oidc = None
    if target is not None:
        oidc = {"service_account_email": target[0], "audience": target[1]}
    return {
        "url": task.url,
        "method": task.method,
        "headers": headers,
        "body_bytes": len(task.body),
        "oidc": oidc,
    }


# ------------------------------------------------------------------------- Cloud Scheduler


def scheduler_jobs(cloud: LocalCloud) -> list[JSON]:
    """Every Cloud Scheduler job with its schedule and firing state, by name."""
    return [_scheduler_job(job) for job in cloud.scheduler.job_snapshots()]


def _scheduler_job(job: JobState) -> JSON:
    settings = job.config.job
    target = settings.http_target
    retry = settings.retry_config
    status = None
    if job.status is not None:
        status = {"code": job.status.code, "message": job.status.message}
    return {
        "name": job.name.full,
        "job_id": job.job_id,
        "description": settings.description,
        "schedule": settings.schedule,
        "time_zone": settings.time_zone,
        "state": State(job.state).name,
        "next_fire_time": iso_utc(job.next_fire_time()),
        "last_fired_slot": iso_utc(job.last_fired_slot),
        "last_attempt_time": iso_utc(job.last_attempt_time),
        "last_response_status": job.last_response_status,
        "status": status,
        "runs_outstanding": len(job.runs),
        "target": {
            "uri": target.uri,
            "http_method": scheduler_v1.HttpMethod(target.http_method).name,
            "oidc": "oidc_token" in target,
        },
        "retry_config": {
            "retry_count": retry.retry_count,
            "max_retry_duration": retry.max_retry_duration.total_seconds(),
            "min_backoff": retry.min_backoff_duration.total_seconds(),
            "max_backoff": retry.max_backoff_duration.total_seconds(),
            "max_doublings": retry.max_doublings,
        },
        "attempt_deadline": settings.attempt_deadline.total_seconds(),
    }


# ---------------------------------------------------------------------------- Run Jobs


def run_jobs(cloud: LocalCloud) -> list[JSON]:
    """Every Cloud Run job with its settings (the command that runs) and latest execution."""
    engine = cloud.run_jobs
    described = []
    for job, latest in engine.job_snapshots():
        task = job.template.template
        container = task.containers[0] if task.containers else run_v2.Container()
        described.append(
            {
                "name": job.name,
                "job_id": job.name.rsplit("/", 1)[1],
                "task_count": job.template.task_count,
                "parallelism": job.template.parallelism,
                "max_retries": task.max_retries,
                "timeout": task.timeout.total_seconds(),
                "command": list(container.command or engine.default_job_command or []),
                "args": list(container.args),
                "working_dir": container.working_dir or engine.default_job_workdir,
                "env": {e.name: e.value for e in container.env},
                "execution_count": job.execution_count,
                "latest_execution": _execution_summary(latest) if latest else None,
                "create_time": iso_utc(job.create_time),
                "update_time": iso_utc(job.update_time),
            }
        )
    return described


def executions(cloud: LocalCloud, job: str) -> list[JSON]:
    """The executions of ``job`` (a full name), newest first, each with its tasks and their
    attempts. NOT_FOUND if there is no such job."""
    return [
        {**_execution_summary(e), "tasks": [_run_task(t) for t in e.tasks]}
        for e in cloud.run_jobs.execution_snapshots(job)
    ]


def _execution_summary(execution: ExecutionState) -> JSON:
    counts = execution.counts()
    return {
        "name": execution.name.full,
        "execution_id": execution.name.execution_id,
        "job": execution.name.job.full,
        "status": execution.status.value,
        "message": execution.message,
        "create_time": iso_utc(execution.create_time),
        "start_time": iso_utc(execution.start_time),
        "completion_time": iso_utc(execution.completion_time),
        "task_count": execution.plan.task_count,
        "parallelism": execution.plan.parallelism,
        **{f"{key}_count": value for key, value in counts.items()},
    }


def _run_task(task: RunTaskState) -> JSON:
    last = task.attempts[-1] if task.attempts else None
    return {
        "index": task.index,
        "name": task.name,
        "status": task.status.value,
        "attempt": last.attempt if last else None,
        "exit_code": last.exit_code if last else None,
        "term_signal": last.term_signal if last else None,
        "start_time": iso_utc(last.start_time) if last else None,
        "end_time": iso_utc(last.end_time) if last else None,
        "attempts": [
            {
                "attempt": a.attempt,
                "outcome": a.outcome.value if a.outcome else "running",
                "exit_code": a.exit_code,
                "term_signal": a.term_signal,
                "start_time": iso_utc(a.start_time),
                "end_time": iso_utc(a.end_time),
                "message": a.message,
                "pid": a.pid,
            }
            for a in task.attempts
        ],
    }


# ---------------------------------------------------------------------------- faults


def faults(cloud: LocalCloud) -> list[JSON]:
    """The fault rules, in the order they are tried, with their ids and how often they fired."""
    return [fault.to_json() for fault in cloud.faults.list()]


def fault(cloud: LocalCloud, fault_id: str) -> JSON:
    """One fault rule (KeyError if there is no rule ``fault_id``)."""
    return cloud.faults.get(fault_id).to_json()
