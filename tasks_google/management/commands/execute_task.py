"""`manage.py execute_task`: the container entry point of Cloud Run Jobs executions."""

import os
import signal
import time
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from tasks_google import runtime
from tasks_google.exceptions import TaskCancelledError
from tasks_google.transports import EXECUTION_ID_ENV

#: Cloud Run's 0-based attempt number of this task.
ATTEMPT_ENV = "CLOUD_RUN_TASK_ATTEMPT"
#: Longest wait for a dead attempt's lease to expire before giving this attempt up.
MAX_LEASE_WAIT_SECONDS = 600


def _stop_on_sigterm(signum: int, frame: Any) -> None:
    # Once only: the task's cleanup and the runtime's bookkeeping must be allowed to finish.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    if runtime.task_body_running():
        raise TaskCancelledError("Stopped by SIGTERM (the execution was cancelled or timed out).")


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
        try:
            attempts_made = int(os.environ.get(ATTEMPT_ENV, "0"))
        except ValueError:
            raise CommandError(f"{ATTEMPT_ENV} must be a whole number.") from None
        # Only this process (never a web server worker) turns SIGTERM into TaskCancelledError.
        signal.signal(signal.SIGTERM, _stop_on_sigterm)

        deadline = time.monotonic() + MAX_LEASE_WAIT_SECONDS
        while True:
            outcome = runtime.run_attempt(execution_id, attempts_made=attempts_made)
            # A previous attempt died holding the lease: Cloud Run retries at once, so wait for
            # the lease to expire here rather than burn the retries.
            if outcome.kind != "busy" or time.monotonic() > deadline:
                break
            time.sleep(min(outcome.retry_after or 1, max(0.0, deadline - time.monotonic())))
        self.stdout.write(f"execution {execution_id}: {outcome.kind}")
        if not outcome.final:
            raise SystemExit(1)
