"""The schema starts with one migration, 0001_schema; a database that applied the six migrations
it replaces (0.1.0) is recognised as up to date, with nothing created twice and no data touched."""

import os
import sqlite3
import subprocess
import sys
from pathlib import Path

from tasks_google.migrations import __path__ as MIGRATIONS_PATH

REPO = Path(__file__).resolve().parents[2]
REPLACED = [
    "0001_initial",
    "0002_cancellation_and_progress",
    "0003_schedules",
    "0004_finished_index",
    "0005_taskexecution_attempts",
    "0006_scheduledtask_fire_error",
]


def manage(database: Path, *args: str) -> str:
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}
    env["TASKS_GOOGLE_TEST_DB_NAME"] = str(database)
    env.pop("TASKS_GOOGLE_TEST_POSTGRES", None)
    done = subprocess.run(
        [sys.executable, "-m", "django", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout


def test_0001_schema_replaces_the_old_migrations_and_every_later_one_builds_on_it():
    from django.db.migrations.loader import MigrationLoader

    files = sorted(p.stem for p in Path(MIGRATIONS_PATH[0]).glob("0*.py"))
    assert files[0] == "0001_schema" and not set(files) & set(REPLACED)
    graph = MigrationLoader(None, ignore_no_migrations=True).graph
    schema = ("tasks_google", "0001_schema")
    assert graph.nodes[schema].replaces == [("tasks_google", name) for name in REPLACED]
    for later in files[1:]:
        assert schema in graph.forwards_plan(("tasks_google", later)), later


def test_a_database_migrated_by_the_replaced_migrations_is_up_to_date(tmp_path):
    database = tmp_path / "old.sqlite3"
    manage(database, "migrate", "tasks_google", "--noinput")
    with sqlite3.connect(database) as db:
        # What 0.1.0 left: the same tables, a row in them, its six migrations recorded.
        db.execute("DELETE FROM django_migrations WHERE app = 'tasks_google'")
        db.executemany(
            "INSERT INTO django_migrations (app, name, applied)"
            " VALUES ('tasks_google', ?, '2026-01-01')",
            [(name,) for name in REPLACED],
        )
        db.execute(
            "INSERT INTO tasks_google_scheduledtask (name, task_path, args, kwargs, backend, queue,"
            " cron, time_zone, enabled, retry_count, min_backoff_seconds, max_backoff_seconds,"
            " max_doublings, max_retry_duration_seconds, attempt_deadline_seconds, headers,"
            " use_oidc, description, declared_in_code, remote_job_name, sync_error, fire_error,"
            " created_at, updated_at) VALUES ('nightly', 'app.tasks.t', '[]', '{}', 'default',"
            " 'default', '@daily', 'UTC', 1, 0, 5, 3600, 5, 0, 180, '{}', 1, '', 0, '', '', '',"
            " '2026-01-01', '2026-01-01')"
        )

    manage(database, "migrate", "tasks_google", "--noinput")  # creating a table twice would fail

    shown = manage(database, "showmigrations", "tasks_google")
    assert "[X] 0001_schema" in shown
    with sqlite3.connect(database) as db:
        assert db.execute("SELECT name FROM tasks_google_scheduledtask").fetchall() == [
            ("nightly",)
        ]
