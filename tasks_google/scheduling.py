"""Recurring tasks on Cloud Scheduler: `schedule_task()` / `delete_scheduled_task()`.

A `ScheduledTask` row says what to run and when; a Cloud Scheduler job (id
`{schedule_job_prefix}{name}{schedule_job_suffix}`) POSTs `{"schedule": name}` to the
`schedule/` endpoint of the Cloud Tasks backend that hosts schedules, which enqueues the task on
its own backend. Every fire is an ordinary execution.
"""

import json
import re
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from croniter import croniter
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured, ValidationError
from django.tasks import Task, task_backends

from tasks_google import clock
from tasks_google.backends.stored import configured_backends
from tasks_google.executions import as_json
from tasks_google.models import ScheduledTask
from tasks_google.options import CLOUD_TASKS
from tasks_google.transports import SchedulerJobSpec, Transport

#: Shorthands expanded here, so Cloud Scheduler always receives 5-field cron.
CRON_MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
SCHEDULE_NAME_RE = re.compile(r"^[A-Za-z0-9_-]{1,200}$")
#: Setting naming the Cloud Tasks backend whose `schedule/` endpoint receives the fires.
HOST_SETTING = "TASKS_GOOGLE_SCHEDULER_BACKEND"


def normalize_cron(expression: str) -> str:
    """5-field cron for `expression` (macros expanded); ValidationError if it is not valid."""
    cron = CRON_MACROS.get(expression.strip().lower(), expression.strip())
    fields = cron.split()
    if len(fields) != 5:
        raise ValidationError(
            f"{expression!r} is not a 5-field cron expression (minute hour day month weekday) "
            "nor one of " + ", ".join(sorted(CRON_MACROS)) + "."
        )
    # JUL is the only month or day name containing an L.
    if "L" in cron.upper().replace("JUL", ""):
        raise ValidationError(f"{expression!r}: Cloud Scheduler does not support 'L'.")
    if not croniter.is_valid(cron):
        raise ValidationError(f"{expression!r} is not a valid cron expression.")
    return cron


def validate_time_zone(name: str) -> str:
    try:
        ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValidationError(
            f"{name!r} is not a time zone of the tz database (e.g. 'UTC', 'Europe/Paris')."
        ) from None
    return name


def next_fire_times(
    cron: str, time_zone: str, count: int = 5, after: datetime | None = None
) -> list[datetime]:
    """The next `count` fire times of a schedule, in its time zone."""
    zone = ZoneInfo(validate_time_zone(time_zone))
    start = (after or clock.now()).astimezone(zone)
    times = croniter(normalize_cron(cron), start)
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
        schedule=normalize_cron(row.cron),
        time_zone=row.time_zone,
        uri=config.base_url + "schedule/",
        body=json.dumps({"schedule": row.name}).encode(),
        enabled=row.enabled,
        description=row.description,
        oidc_service_account=config.oidc_service_account if row.use_oidc else None,
        oidc_audience=config.audience,
        headers=dict(row.headers),
        retry_count=row.retry_count,
        min_backoff_seconds=row.min_backoff_seconds,
        max_backoff_seconds=row.max_backoff_seconds,
        max_doublings=row.max_doublings,
        max_retry_duration_seconds=row.max_retry_duration_seconds,
        attempt_deadline_seconds=row.attempt_deadline_seconds,
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


def schedule_task(
    name: str,
    task: Task,
    cron: str,
    *,
    time_zone: str = "UTC",
    args: Sequence[Any] = (),
    kwargs: Mapping[str, Any] | None = None,
    enabled: bool = True,
    description: str = "",
    retry_count: int = 0,
    attempt_deadline_seconds: float = 180,
) -> ScheduledTask:
    """Create or update the schedule `name` running `task` on `cron`, and its Cloud Scheduler job.

    Raises ValidationError for a bad name, cron or time zone (nothing is saved then).
    """
    if not SCHEDULE_NAME_RE.match(name):
        raise ValidationError(f"Schedule name {name!r}: 1 to 200 letters, digits, '-' or '_'.")
    if not isinstance(task, Task):
        raise ValidationError(f"{task!r} is not a django.tasks.Task (decorate it with @task).")
    normalize_cron(cron)
    validate_time_zone(time_zone)
    if not 0 <= retry_count <= 5:
        raise ValidationError(f"retry_count must be 0 to 5 (Cloud Scheduler), got {retry_count}.")
    if not 15 <= attempt_deadline_seconds <= 1800:
        raise ValidationError("attempt_deadline_seconds must be 15 to 1800 (Cloud Scheduler).")
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


def delete_scheduled_task(name: str) -> bool:
    """Delete the schedule `name` and its Cloud Scheduler job; False if there was none."""
    row = ScheduledTask.objects.filter(name=name).first()
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
