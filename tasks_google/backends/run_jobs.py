"""`CloudRunJobsBackend`: each enqueue becomes a row and, on commit, a Cloud Run Jobs execution.

Each Django queue maps to a Cloud Run job (`queue_aliases` apply); the job's container runs
`manage.py execute_task`, which reads the execution id from the TASKS_GOOGLE_EXECUTION_ID
override, the job's max_retries from TASKS_GOOGLE_MAX_RETRIES and the attempt from
CLOUD_RUN_TASK_ATTEMPT.
"""

import json
import logging
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections

from tasks_google.backends.remote_starts import StartRemote
from tasks_google.backends.stored import StoredExecutionBackend, task_timeout
from tasks_google.config.options import RUN_JOBS
from tasks_google.config.targets import TargetKind
from tasks_google.framework import TaskResult
from tasks_google.observability import tracing
from tasks_google.task import Task
from tasks_google.transports import (
    DATABASE_NAMES_ENV,
    JobRunSpec,
    RemoteStep,
    Transport,
)

logger = logging.getLogger(__name__)


class CloudRunJobsBackend(StoredExecutionBackend):
    """Runs each task as a Cloud Run Jobs execution: its own process, stoppable by force."""

    # Cloud Run Jobs has no schedule time for an execution.
    supports_defer = False
    supports_forced_cancel = True
    kind = RUN_JOBS
    timeout_range = (timedelta(seconds=1), timedelta(hours=168))
    platform = "Cloud Run Jobs (the task attempt timeout)"

    def enqueue(self, task: Task, args: Any, kwargs: Any) -> TaskResult:
        if self.target.kind is TargetKind.IN_PROCESS:
            in_process_database_env()  # refuses, before anything is stored, what cannot work
        return super().enqueue(task, args, kwargs)

    def start_remote(self, transport: Transport, row: Any, task: Task) -> RemoteStep:
        spec = self.job_run_spec(row, task)
        return StartRemote(lambda: transport.run_job(spec), row.pk, f"Running job {spec.job_path}")

    def job_run_spec(self, row: Any, task: Task | None = None) -> JobRunSpec:
        config = self.config
        in_process = self.target.kind is TargetKind.IN_PROCESS
        env = tracing.trace_env(row.trace_parent, row.trace_state)
        if in_process:
            env.update(in_process_database_env())
        return JobRunSpec(
            job_path=config.job_path(row.queue),
            execution_id=row.pk,
            timeout=task_timeout(row, task),
            command=config.command,
            working_dir=project_dir(),
            extra_env=env,
        )

    def recreate_remote(self, row: Any) -> str:
        """Run the job for a READY execution whose RunJob never happened; return its name."""
        return self.transport.run_job(self.job_run_spec(row))

    def remote_work_over(self, row: Any) -> str | None:
        """None while the Run Jobs execution of an unfinished execution may still run it; once
        it has ended, how (in words)."""
        end = self.transport.execution_end(row.remote_name)
        if end is None:
            return None
        name = row.remote_name
        match end.outcome:
            case "GONE":
                return f"its Run Jobs execution {name} no longer exists"
            case "CANCELLED":
                return f"its Run Jobs execution {name} was cancelled"
            case "SUCCEEDED":
                return (
                    f"its Run Jobs execution {name} succeeded without running it: the "
                    "process found no such execution in its database (under the in-process "
                    "emulator: a test without transactional_db, or a process using another "
                    "database)"
                )
        return f"its Run Jobs execution {name} failed: {end.message or 'no reason given'}"

    def cancel_remote(self, row: Any) -> None:
        """Cancel the execution of a task cancelled before it started."""
        if row.remote_name:
            self.transport.cancel_execution(row.remote_name)

    def force_cancel(self, row: Any) -> None:
        """Stop the running attempt: CancelExecution (SIGTERM, then SIGKILL after the grace)."""
        if row.remote_name:
            self.transport.cancel_execution(row.remote_name)
        else:
            logger.warning("Execution %s has no Run Jobs execution to stop yet", row.pk)

    def service_gives_up(self, row: Any, attempts_made: int, now: datetime) -> bool:
        """Cloud Run makes 1 + max_retries attempts of a task."""
        return attempts_made >= 1 + self.transport.job_max_retries(self.config.job_path(row.queue))


def project_dir() -> str:
    """Where the jobs tasks_google creates in the emulator run: BASE_DIR (else the current
    directory), where `manage.py` is."""
    return str(getattr(settings, "BASE_DIR", None) or Path.cwd())


def in_process_database_env() -> dict[str, str]:
    """The env override that points a Run Jobs subprocess of the in-process emulator at this
    process's databases (the test databases, under a test runner), by alias.

    ImproperlyConfigured for an in-memory SQLite database, which no other process can open.
    """
    names = {}
    for alias in connections:
        connection = connections[alias]
        if connection.vendor == "sqlite" and connection.is_in_memory_db():
            raise ImproperlyConfigured(
                f"Run Jobs executions under the in-process emulator are separate processes, "
                f"and the database {alias!r} is an in-memory SQLite database they cannot "
                f"open. Give its tests a file: DATABASES[{alias!r}]['TEST']['NAME'] = "
                "BASE_DIR / 'test_db.sqlite3' (see docs/testing.md)."
            )
        names[alias] = str(connection.settings_dict["NAME"])
    return {DATABASE_NAMES_ENV: json.dumps(names)}
