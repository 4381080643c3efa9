"""What a running attempt knows of its cancellation, and recording an execution cancelled.

An attempt in this process watches a flag (`watch`), which its heartbeat sets once cancelling was
requested in the database; the task reads it with `is_task_cancelled(context)`. Requesting a
cancellation is an operator's action: `tasks_google.control.cancellation`.
"""

import threading

from tasks_google import clock
from tasks_google.exceptions import TaskCancelledError
from tasks_google.execution import attempts
from tasks_google.executions import announce_failure, history_limit, with_error
from tasks_google.framework import TaskContext, TaskResult
from tasks_google.models import TaskExecution

#: {execution id: event set once its cancellation was requested}, for attempts in this process.
_flags: dict[str, threading.Event] = {}
_flags_lock = threading.Lock()


def watch(execution_id: str) -> threading.Event:
    """The cancellation flag of an attempt starting in this process."""
    with _flags_lock:
        return _flags.setdefault(execution_id, threading.Event())


def unwatch(execution_id: str) -> None:
    with _flags_lock:
        _flags.pop(execution_id, None)


def cancel_requested(execution_id: str) -> bool:
    """Ask the database whether cancelling this execution was requested."""
    return TaskExecution.objects.filter(pk=execution_id).cancel_requested().exists()


def is_task_cancelled(context: TaskContext, refresh: bool = False) -> bool:
    """True once cancelling the running execution was requested.

    Cheap: reads a flag kept up to date by the heartbeat's cancellation poll (every
    `cancel_poll_interval_seconds`).
    `refresh=True` asks the database now.
    """
    execution_id = context.task_result.id
    with _flags_lock:
        flag = _flags.get(execution_id)
    if flag is not None and flag.is_set():
        return True
    if refresh or flag is None:
        requested = cancel_requested(execution_id)
        if requested and flag is not None:
            flag.set()
        return requested
    return False


def finish_cancelled(
    row: TaskExecution,
    *,
    started: bool,
    owner: str = "",
    error: BaseException | None = None,
    result: TaskResult | None = None,
    sender: type | None = None,
) -> bool:
    """Record `row` as cancelled (FAILED, cancelled_at, a TaskCancelledError in errors, its running
    attempt `cancelled`) and send `task_finished`. Not started: only while it is READY and
    unleased. Started: only while `owner` holds its lease. Returns whether it was recorded."""
    now = clock.now()
    if error is None:
        error = TaskCancelledError("Cancelled on request.")
    row.errors = with_error(row.errors, error, keep=history_limit(row))
    if started:
        row.attempts = attempts.ended(
            row.attempts, row.attempt_count, attempts.CANCELLED, now, error
        )
    if not row.record_cancellation(now, owner=owner if started else None):
        return False
    announce_failure(row, error, result, sender)
    return True
