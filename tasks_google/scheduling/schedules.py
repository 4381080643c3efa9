"""Recurring tasks on Cloud Scheduler: `schedule_task()` / `delete_scheduled_task()`.

A `ScheduledTask` row says what to run and when; a Cloud Scheduler job (id
`{schedule_job_prefix}{name}{schedule_job_suffix}`) POSTs `{"schedule": name}` to the
`schedule/` endpoint of the Cloud Tasks backend that hosts schedules, which enqueues the task on
its own backend. Every fire is an ordinary execution.
"""

import functools
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any

from croniter import croniter
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError

from tasks_google import clock
from tasks_google.backends.stored import configured_backends
from tasks_google.config.options import CLOUD_TASKS
from tasks_google.config.scheduler_jobs import JOB_DEFAULTS, seconds
from tasks_google.executions import as_json
from tasks_google.framework import Task, task_backends
from tasks_google.models import ScheduledTask
from tasks_google.scheduling import rules
from tasks_google.transports import SchedulerJobSpec, Transport

#: Setting naming the Cloud Tasks backend whose `schedule/` endpoint receives the fires.
HOST_SETTING = "TASKS_GOOGLE_SCHEDULER_BACKEND"


def next_fire_times(
    cron: str | timedelta, time_zone: str, count: int = 5, after: datetime | None = None
) -> list[datetime]:
    """The next `count` fire times of a schedule, in its time zone."""
    zone = rules.time_zone(time_zone)
    start = (after or clock.now()).astimezone(zone)
    times = croniter(rules.normalize_cron(cron), start)
    return [times.get_next(datetime) for _ in range(count)]


def host_backend() -> Any:
    """The Cloud Tasks backend whose `schedule/` endpoint receives fires."""
    alias = getattr(settings, HOST_SETTING, None)
    if alias is not None:
        return task_backends[alias]
    hosts = configured_backends(CLOUD_TASKS)
    if not hosts:
        raise ImproperlyConfigured(
            "Schedules need a CloudTasksBackend with valid OPTIONS in TASKS: its schedule/ "
            f"endpoint receives the fires (or name one with settings.{HOST_SETTING})."
        )
    return hosts[0]


def job_name(row: ScheduledTask) -> str:
    config = host_backend().config
    job_id = f"{config.schedule_job_prefix}{row.name}{config.schedule_job_suffix}"
    return f"{config.location_path}/jobs/{job_id}"


def job_spec(row: ScheduledTask) -> SchedulerJobSpec:
    config = host_backend().config
    return SchedulerJobSpec(
        name=job_name(row),
        schedule=rules.normalize_cron(row.cron),
        time_zone=row.time_zone,
        uri=config.schedule_url,
        body=json.dumps({"schedule": row.name}).encode(),
        enabled=row.enabled,
        description=row.description,
        oidc_service_account=config.oidc_service_account if row.use_oidc else None,
        oidc_audience=config.audience,
        headers=dict(row.headers),
        retry_count=row.retry_count,
        min_backoff=timedelta(seconds=row.min_backoff_seconds),
        max_backoff=timedelta(seconds=row.max_backoff_seconds),
        max_doublings=row.max_doublings,
        max_retry_duration=timedelta(seconds=row.max_retry_duration_seconds),
        attempt_deadline=timedelta(seconds=row.attempt_deadline_seconds),
    )


def scheduler_transport() -> Transport:
    return host_backend().transport


def sync(row: ScheduledTask) -> ScheduledTask:
    """Make the Cloud Scheduler job match `row`; record success or the error on the row."""
    try:
        name = scheduler_transport().upsert_scheduler_job(job_spec(row))
    except Exception as exc:
        row.sync_error = f"{type(exc).__name__}: {exc}"
        row.save(update_fields=["sync_error", "updated_at"])
        raise
    row.remote_job_name, row.synced_at, row.sync_error = name, clock.now(), ""
    row.save(update_fields=["remote_job_name", "synced_at", "sync_error", "updated_at"])
    return row


def _also_their_call[**P](ours: Callable[P, ScheduledTask]) -> Callable[P, ScheduledTask]:
    """`ours`, also taking a call in django-tasks-google's shape (a Task first)."""

    @functools.wraps(ours)
    def either(*args: Any, **kwargs: Any) -> ScheduledTask:
        if args and isinstance(args[0], Task):
            name, task, cron, options = _from_their_call(*args, **kwargs)
            return ours(name, task, cron, **options)
        return ours(*args, **kwargs)

    return either  # type: ignore[return-value]


def _from_their_call(
    task: Task,
    schedule: str,
    *,
    name: str = "",
    description: str = "",
    time_zone: str = "UTC",
    enabled: bool = True,
    backend: str = "",
    queue_name: str = "",
    takes_context: bool | None = None,
    args: Sequence[Any] | None = None,
    kwargs: Mapping[str, Any] | None = None,
) -> tuple[str, Task, str, dict[str, Any]]:
    """`_schedule_task`'s name, task, cron and options for a call in django-tasks-google's shape."""
    if takes_context is not None and takes_context != task.takes_context:
        raise TypeError(
            "schedule_task(takes_context=...) is not taken here: a task declares it, with "
            "@task(takes_context=True)."
        )
    if backend or queue_name:
        task = task.using(backend=backend or task.backend, queue_name=queue_name or task.queue_name)
    options = {
        "time_zone": time_zone,
        "args": args or (),
        "kwargs": kwargs,
        "enabled": enabled,
        "description": description,
    }
    return name or task.name, task, schedule, options


@_also_their_call
def schedule_task(
    name: str,
    task: Task,
    cron: str | timedelta,
    *,
    time_zone: str = "UTC",
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    enabled: bool = True,
    description: str = "",
    retry_count: int = JOB_DEFAULTS.retry_count,
    attempt_deadline_seconds: float = seconds(JOB_DEFAULTS.attempt_deadline),
) -> ScheduledTask:
    """Create or update the schedule `name` running `task` on `cron`, and its Cloud Scheduler job.

    `cron` is a cron string or an interval (`timedelta`) that cron expresses exactly, stored as
    its cron. django-tasks-google's call, `schedule_task(task, schedule, *, name, description,
    time_zone, enabled, backend, queue_name, args, kwargs)`, does the same: `name` defaults to the
    task's name, and `backend` / `queue_name` choose where its fires enqueue (default: the
    task's own).

    Raises ValidationError for a bad name, cron, interval, time zone or limit, or arguments
    `task` does not accept (nothing is saved then).
    """
    if not isinstance(task, Task):
        raise ValidationError(f"{task!r} is not a django.tasks.Task (decorate it with @task).")
    cron = rules.stored_cron(cron, f"the interval of schedule {name!r}")
    rules.normalize_cron(cron)
    rules.validate_time_zone(time_zone)
    limits = {
        "name": name,
        "description": description,
        "retry_count": retry_count,
        "attempt_deadline_seconds": attempt_deadline_seconds,
    }
    problems = list(rules.limit_problems(limits).values())
    rejected = rules.task_problem(task.module_path, list(args), dict(kwargs or {}))
    if rejected is not None:
        problems.append(rejected.msg)
    if problems:
        raise ValidationError(problems)
    row, _ = ScheduledTask.objects.update_or_create(
        name=name,
        defaults={
            "task_path": task.module_path,
            "args": as_json(list(args)),
            "kwargs": as_json(dict(kwargs or {})),
            "backend": task.backend,
            "queue": task.queue_name,
            "cron": cron,
            "time_zone": time_zone,
            "enabled": enabled,
            "description": description,
            "retry_count": retry_count,
            "attempt_deadline_seconds": attempt_deadline_seconds,
        },
    )
    return sync(row)


def delete_scheduled_task(name: str | int) -> bool:
    """Delete the schedule `name` and its Cloud Scheduler job; False if there was none.

    An int is the schedule's primary key (`ScheduledTask.pk`, as django-tasks-google's
    `delete_scheduled_task(scheduled_task.id)` passes it).
    """
    lookup = {"pk": name} if isinstance(name, int) else {"name": name}
    row = ScheduledTask.objects.filter(**lookup).first()
    if row is None:
        return False
    scheduler_transport().delete_scheduler_job(row.remote_job_name or job_name(row))
    row.delete()
    return True


def _schedule(name: str) -> ScheduledTask:
    row = ScheduledTask.objects.filter(name=name).first()
    if row is None:
        known = ", ".join(ScheduledTask.objects.values_list("name", flat=True)) or "none"
        raise ScheduledTask.DoesNotExist(f"No schedule named {name!r} (known: {known}).")
    return row


def run_schedule(name: str) -> None:
    """Fire the schedule `name` now (Cloud Scheduler RunJob), whatever its state."""
    row = _schedule(name)
    scheduler_transport().run_scheduler_job(row.remote_job_name or job_name(row))


def pause_schedule(name: str) -> None:
    """Pause the schedule `name`: its job stops firing, and a later sync keeps it paused."""
    row = _schedule(name)
    scheduler_transport().pause_scheduler_job(row.remote_job_name or job_name(row))
    ScheduledTask.objects.filter(pk=row.pk).update(enabled=False)


def resume_schedule(name: str) -> None:
    """Resume the schedule `name` after `pause_schedule`."""
    row = _schedule(name)
    scheduler_transport().resume_scheduler_job(row.remote_job_name or job_name(row))
    ScheduledTask.objects.filter(pk=row.pk).update(enabled=True)
