"""Cancelling executions: one API for every backend.

- Not started yet: the execution is recorded cancelled at once and its pending remote work (the
  Cloud Task, the Run Jobs execution) is removed after the caller's transaction commits; it will
  never start.
- Running, graceful: `cancel_requested_at` is set; the attempt's watch thread sees it within
  `cancel_poll_interval_seconds` and `is_task_cancelled(context)` turns true. The task finishes
  its own way; the execution is recorded cancelled.
- Running, forced (backends that run tasks in their own process): the backend stops the process
  (Run Jobs: CancelExecution, i.e. SIGTERM, which raises TaskCancelledError inside the task).

A cancelled execution is FAILED (Django has no CANCELLED status) with `cancelled_at` set and a
TaskCancelledError in its errors; `task_finished` is sent.
"""

import logging
from dataclasses import dataclass
from typing import Any

from django.db import router, transaction

from tasks_google import clock
from tasks_google.exceptions import CancellationNotSupported
from tasks_google.execution.cancel_signals import finish_cancelled
from tasks_google.executions import find_execution
from tasks_google.framework import TaskResult, TaskResultStatus, task_backends
from tasks_google.models import TaskExecution
from tasks_google.transports import RemoteStep

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class CancelResult:
    """What `cancel_task` did: `state` is cancelled | requested | forced | finished."""

    state: str
    message: str


def cancel_task(result_or_id: TaskResult | str, force: bool = False) -> CancelResult:
    """Cancel an execution (see the module docstring). Cancelling twice is harmless; cancelling a
    finished execution changes nothing and says so.

    Raises TaskResultDoesNotExist for an unknown id, and CancellationNotSupported for
    `force=True` on a backend that cannot stop a running attempt.
    """
    row = find_execution(result_or_id)
    backend = task_backends[row.backend]
    if force and not getattr(backend, "supports_forced_cancel", False):
        raise CancellationNotSupported(
            f"{type(backend).__name__} cannot force-cancel: a running attempt there is an HTTP "
            "request, which cannot be killed. Use cancel_task(result) for a graceful cancel "
            "(the task sees is_task_cancelled(context) turn true)."
        )
    if row.is_finished:
        return _finished(row)
    TaskExecution.objects.filter(pk=row.pk).request_cancellation(clock.now())
    if row.status == TaskResultStatus.READY and finish_cancelled(row, started=False):
        if hasattr(backend, "cancel_remote"):
            transaction.on_commit(
                CancelRemoteWork(backend, row), using=router.db_for_write(TaskExecution)
            )
        return CancelResult("cancelled", "Cancelled before it started; it will not run.")
    row.refresh_from_db()
    if row.is_finished:
        return _finished(row)
    if force:
        backend.force_cancel(row)
        return CancelResult("forced", "Stopping the running attempt (SIGTERM, then SIGKILL).")
    return CancelResult(
        "requested", "Cancellation requested: the running task sees is_task_cancelled()."
    )


def _finished(row: TaskExecution) -> CancelResult:
    if row.cancelled_at is not None:
        return CancelResult("finished", "Already cancelled; nothing changed.")
    return CancelResult("finished", f"Already finished ({row.status}); nothing changed.")


class CancelRemoteWork(RemoteStep):
    """The on-commit step of a cancel before start: remove the pending remote work."""

    def __init__(self, backend: Any, row: TaskExecution) -> None:
        self.backend = backend
        self.row = row

    def __call__(self) -> None:
        try:
            self.backend.cancel_remote(self.row)
        except Exception:
            # The delivery, if it still comes, finds the execution finished and is acknowledged.
            logger.exception(
                "Removing the remote work of cancelled execution %s failed", self.row.pk
            )
