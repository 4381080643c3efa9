"""Schedules made with django-tasks-google, copied into `ScheduledTask` rows of ours.

django-tasks-google keeps its schedules in the table `django_tasks_google_scheduledtask`, which
stays in the database once that app leaves `INSTALLED_APPS`; it is read with plain SQL, so the
package need not be installed. Each row keeps its name (the id of its Cloud Scheduler job there),
cron, time zone, enabled state, task, arguments, backend and queue. Rows are checked as
`schedule_tasks` checks ours; one that would not run here is skipped, with the reason.
"""

import json
from dataclasses import dataclass
from typing import Any

from django.db import DEFAULT_DB_ALIAS, connections, transaction

from tasks_google.executions import TaskNotFound, load_task
from tasks_google.models import ScheduledTask
from tasks_google.scheduling.rules import schedule_problems

#: The table django-tasks-google (0.3 to 0.6) stores its schedules in, and the columns read.
TABLE = "django_tasks_google_scheduledtask"
COLUMNS = (
    "name",
    "description",
    "schedule",
    "time_zone",
    "state",
    "module_path",
    "backend_alias",
    "queue_name",
    "args",
    "kwargs",
)
#: Fields of ours an import sets; the rest keep their defaults (or their values, on update).
IMPORTED_FIELDS = ("task_path", "args", "kwargs", "backend", "queue", "cron", "time_zone")


class SourceMissing(Exception):
    """The database has no django-tasks-google schedule table."""


@dataclass(frozen=True)
class Imported:
    """What became of one schedule: `+` created, `~` updated, `=` unchanged, `!` skipped."""

    action: str
    name: str
    detail: str


def read_source(using: str = DEFAULT_DB_ALIAS) -> list[dict[str, Any]]:
    """django-tasks-google's schedules, oldest name first, as dicts of COLUMNS."""
    connection = connections[using]
    if TABLE not in connection.introspection.table_names():
        raise SourceMissing(
            f"No table {TABLE} in the {using!r} database: there is nothing of django-tasks-google "
            "to import (it creates that table when migrated)."
        )
    quoted = ", ".join(connection.ops.quote_name(column) for column in COLUMNS)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {quoted} FROM {connection.ops.quote_name(TABLE)} ORDER BY 1")
        return [dict(zip(COLUMNS, values, strict=True)) for values in cursor.fetchall()]


def _json(value: Any, empty: Any) -> Any:
    """A JSON column's value: SQLite hands over text, PostgreSQL the decoded value."""
    if value is None or value == "":
        return empty
    return json.loads(value) if isinstance(value, str) else value


def as_schedule(source: dict[str, Any]) -> ScheduledTask:
    """The schedule of ours that a django-tasks-google row stands for (not saved).

    Its blank backend and queue mean the task's own, as they did there.
    """
    row = ScheduledTask(
        name=source["name"],
        description=(source["description"] or "")[:500],
        task_path=source["module_path"],
        args=_json(source["args"], []),
        kwargs=_json(source["kwargs"], {}),
        cron=source["schedule"],
        time_zone=source["time_zone"] or "UTC",
        enabled=source["state"] != "disabled",
    )
    try:
        task = load_task(row.task_path)
    except TaskNotFound:
        task = None  # schedule_problems says why
    row.backend = source["backend_alias"] or (task.backend if task else row.backend)
    row.queue = source["queue_name"] or (task.queue_name if task else row.queue)
    return row


def import_one(source: dict[str, Any], dry_run: bool) -> Imported:
    wanted = as_schedule(source)
    problems = schedule_problems(wanted, "a django-tasks-google schedule")
    if problems:
        return Imported("!", wanted.name, "; ".join(p.msg for p in problems))
    existing = ScheduledTask.objects.filter(name=wanted.name).first()
    if existing is not None and existing.declared_in_code:
        return Imported("!", wanted.name, "a schedule of that name is declared in code")
    summary = f"{wanted.task_path} {wanted.cron} ({wanted.time_zone})"
    if existing is None:
        if not dry_run:
            wanted.save()
        return Imported("+", wanted.name, summary)
    fields = [*IMPORTED_FIELDS, "enabled", "description"]
    changed = [f for f in fields if getattr(existing, f) != getattr(wanted, f)]
    if changed and not dry_run:
        for name in changed:
            setattr(existing, name, getattr(wanted, name))
        existing.save(update_fields=[*changed, "updated_at"])
    return Imported("~" if changed else "=", wanted.name, ", ".join(changed) or summary)


def import_schedules(dry_run: bool = False, using: str = DEFAULT_DB_ALIAS) -> list[Imported]:
    """Copy every django-tasks-google schedule into ours (nothing reaches Cloud Scheduler:
    `manage.py schedule_tasks` does that next). All or nothing: one transaction."""
    with transaction.atomic(using=using):
        return [import_one(source, dry_run) for source in read_source(using)]
