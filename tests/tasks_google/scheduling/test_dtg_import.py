"""`manage.py import_schedules_from_dtg`: django-tasks-google's schedules, read from the table it
left in the database, become ours; `schedule_tasks` then plans their jobs."""

import io
import json

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from tasks_google.models import ScheduledTask

pytestmark = pytest.mark.django_db

#: The columns of django-tasks-google 0.6's table (types as both SQLite and PostgreSQL read them).
CREATE = """
CREATE TABLE django_tasks_google_scheduledtask (
    id INTEGER PRIMARY KEY, name TEXT UNIQUE NOT NULL, description TEXT NOT NULL,
    schedule TEXT NOT NULL, time_zone TEXT NOT NULL, state TEXT NOT NULL,
    priority INTEGER NULL, module_path TEXT NOT NULL, backend_alias TEXT NOT NULL,
    queue_name TEXT NOT NULL, run_after TIMESTAMP NULL, takes_context BOOLEAN NULL,
    args TEXT NOT NULL, kwargs TEXT NOT NULL, cloud_scheduler_job_name TEXT NULL,
    idempotency_key TEXT NULL
)
"""
ECHO = "tests.tasks_google.tasks.echo"


def their_schedule(pk, name, path=ECHO, schedule="0 3 * * *", state="enabled", **extra):
    row = {
        "id": pk,
        "name": name,
        "description": extra.get("description", ""),
        "schedule": schedule,
        "time_zone": extra.get("time_zone", "UTC"),
        "state": state,
        "module_path": path,
        "backend_alias": extra.get("backend_alias", ""),
        "queue_name": extra.get("queue_name", ""),
        "args": json.dumps(extra.get("args", [])),
        "kwargs": json.dumps(extra.get("kwargs", {})),
        "cloud_scheduler_job_name": f"projects/p/locations/l/jobs/{name}",
    }
    columns = ", ".join(row)
    marks = ", ".join(["%s"] * len(row))
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO django_tasks_google_scheduledtask ({columns}) VALUES ({marks})",
            list(row.values()),
        )


@pytest.fixture
def their_table():
    with connection.cursor() as cursor:
        cursor.execute(CREATE)
    yield
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE django_tasks_google_scheduledtask")


def run_import(*args):
    out, err = io.StringIO(), io.StringIO()
    try:
        call_command("import_schedules_from_dtg", *args, stdout=out, stderr=err)
    finally:
        run_import.output = out.getvalue() + err.getvalue()
    return run_import.output


def test_their_schedules_become_ours(their_table):
    their_schedule(1, "nightly-report", args=[1], kwargs={"to": "ops"}, time_zone="Europe/Paris")
    their_schedule(2, "paused-cleanup", ECHO, "*/15 * * * *", "disabled", queue_name="default")

    output = run_import()

    assert "[+] nightly-report: tests.tasks_google.tasks.echo 0 3 * * * (Europe/Paris)" in output
    assert "Imported 2 of 2 schedule(s)" in output
    nightly = ScheduledTask.objects.get(name="nightly-report")
    assert (nightly.task_path, nightly.args, nightly.kwargs) == (ECHO, [1], {"to": "ops"})
    assert (nightly.cron, nightly.time_zone, nightly.enabled) == ("0 3 * * *", "Europe/Paris", True)
    # A blank backend and queue meant the task's own there; they are written out here.
    assert (nightly.backend, nightly.queue) == ("default", "default")
    assert ScheduledTask.objects.get(name="paused-cleanup").enabled is False


def test_a_second_import_changes_nothing_and_a_changed_row_is_updated(their_table):
    their_schedule(1, "nightly-report")
    run_import()
    assert "[=] nightly-report" in run_import()
    with connection.cursor() as cursor:
        cursor.execute("UPDATE django_tasks_google_scheduledtask SET schedule = '0 4 * * *'")
    assert "[~] nightly-report: cron" in run_import()
    assert ScheduledTask.objects.get(name="nightly-report").cron == "0 4 * * *"


def test_schedules_that_would_not_run_here_are_skipped_with_the_reason(their_table):
    their_schedule(1, "gone", path="myapp.tasks.removed_long_ago")
    their_schedule(2, "bad-cron", schedule="every day")
    their_schedule(3, "fine")

    with pytest.raises(CommandError, match="2 schedule"):
        run_import()

    assert "[!] gone: Schedule 'gone' (a django-tasks-google schedule)" in run_import.output
    assert "myapp.tasks.removed_long_ago" in run_import.output
    assert "[!] bad-cron:" in run_import.output and "cron" in run_import.output
    assert list(ScheduledTask.objects.values_list("name", flat=True)) == ["fine"]


def test_dry_run_saves_nothing(their_table):
    their_schedule(1, "nightly-report")
    assert "Would import 1 of 1" in run_import("--dry-run")
    assert not ScheduledTask.objects.exists()


def test_without_their_table_the_command_says_there_is_nothing_to_import():
    with pytest.raises(CommandError, match="No table django_tasks_google_scheduledtask"):
        run_import()


def test_schedule_tasks_then_plans_a_job_for_each_imported_schedule(their_table, tasks_emulator):
    their_schedule(1, "nightly-report")
    run_import()
    out = io.StringIO()
    call_command("schedule_tasks", "--dry-run", stdout=out)
    assert "[+]" in out.getvalue() and "nightly-report" in out.getvalue()
