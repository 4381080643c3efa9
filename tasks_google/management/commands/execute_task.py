"""`manage.py execute_task`: the container entry point of Cloud Run Jobs executions."""

import contextlib
import json
import os
import signal
import time
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import connections

from tasks_google.exceptions import TaskCancelledError
from tasks_google.execution import runtime
from tasks_google.observability import tracing
from tasks_google.transports import DATABASE_NAMES_ENV, EXECUTION_ID_ENV, MAX_RETRIES_ENV

#: Cloud Run's 0-based attempt number of this task.
ATTEMPT_ENV = "CLOUD_RUN_TASK_ATTEMPT"
#: Longest wait for a dead attempt's lease to expire before giving this attempt up.
MAX_LEASE_WAIT_SECONDS = 600


class _StopOnSigterm:
    """Turns SIGTERM into TaskCancelledError inside the task's code, once.

    Never in the middle of a database call: an exception raised while the driver waits for the
    server leaves the connection unusable (psycopg: "another command is already in progress"),
    and the outcome could not be recorded. A signal that arrives during a query is held until the
    query returns.
    """

    def __init__(self) -> None:
        self.in_database = 0
        self.pending: TaskCancelledError | None = None

    def on_signal(self, signum: int, frame: Any) -> None:
        # Once only: the task's cleanup and the runtime's bookkeeping must be allowed to finish.
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        if not runtime.task_body_running():
            return
        error = TaskCancelledError("Stopped by SIGTERM (the execution was cancelled or timed out).")
        if self.in_database:
            self.pending = error
        else:
            raise error

    def around_query(self, execute: Any, sql: Any, params: Any, many: bool, context: Any) -> Any:
        self.in_database += 1
        try:
            return execute(sql, params, many, context)
        finally:
            self.in_database -= 1
            if not self.in_database and self.pending is not None and runtime.task_body_running():
                error, self.pending = self.pending, None
                raise error


class Command(BaseCommand):
    help = (
        "Run one attempt of an execution (Cloud Run Jobs' container command). Exits 0 when the "
        "outcome is final and 1 when Cloud Run should retry. SIGTERM raises TaskCancelledError "
        "inside the task, so its cleanup runs."
    )
    requires_system_checks = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "execution_id", nargs="?", help=f"default: the {EXECUTION_ID_ENV} variable"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        execution_id = options["execution_id"] or os.environ.get(EXECUTION_ID_ENV)
        if not execution_id:
            raise CommandError(f"No execution id: pass one or set {EXECUTION_ID_ENV}.")
        attempts_made = _whole_number(ATTEMPT_ENV, "0")
        max_retries = _whole_number(MAX_RETRIES_ENV, None)
        # Without the job's max_retries, the backend asks Cloud Run for it.
        last_attempt = None if max_retries is None else attempts_made >= max_retries
        _use_databases_from_env()
        # Only this process (never a web server worker) turns SIGTERM into TaskCancelledError.
        stopper = _StopOnSigterm()
        signal.signal(signal.SIGTERM, stopper.on_signal)

        deadline = time.monotonic() + MAX_LEASE_WAIT_SECONDS
        with contextlib.ExitStack() as stack:
            for alias in connections:
                stack.enter_context(connections[alias].execute_wrapper(stopper.around_query))
            while True:
                outcome = runtime.run_attempt(
                    execution_id,
                    attempts_made=attempts_made,
                    last_attempt=last_attempt,
                    trace_context=tracing.received_from_env(os.environ),
                )
                # A previous attempt died holding the lease: Cloud Run retries at once, so wait
                # for the lease to expire here rather than burn the retries.
                if outcome.kind != "busy" or time.monotonic() > deadline:
                    break
                time.sleep(min(outcome.retry_after or 1, max(0.0, deadline - time.monotonic())))
        self.stdout.write(f"execution {execution_id}: {outcome.kind}")
        if not outcome.final:
            raise SystemExit(1)


def _whole_number(name: str, default: str | None) -> int | None:
    """The environment variable `name` as a whole number >= 0 (`default` if unset)."""
    value = os.environ.get(name, default)
    if value is None:
        return None
    try:
        number = int(value)
    except ValueError:
        number = -1
    if number < 0:
        raise CommandError(f"{name} must be a whole number >= 0, got {value!r}.")
    return number


def _use_databases_from_env() -> None:
    """Use the databases named in DATABASE_NAMES_ENV (set by the in-process emulator: those
    of the process that enqueued, e.g. its test databases) instead of the settings' NAMEs."""
    value = os.environ.get(DATABASE_NAMES_ENV)
    if not value:
        return
    try:
        names = json.loads(value)
    except ValueError:
        names = None
    if not isinstance(names, dict) or not all(isinstance(n, str) for n in names.values()):
        raise CommandError(f"{DATABASE_NAMES_ENV} must be a JSON object of names, got {value!r}.")
    for alias, name in names.items():
        if alias not in settings.DATABASES:
            continue
        connections[alias].close()
        # As Django's test runner does when it switches to a test database.
        connections[alias].settings_dict["NAME"] = name
        settings.DATABASES[alias]["NAME"] = name
