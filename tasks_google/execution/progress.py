"""Progress of long work, stored on the execution for the dashboard and the admin."""

import threading
import time

from tasks_google import clock
from tasks_google.framework import TaskContext
from tasks_google.models import TaskExecution

#: Reports closer together than this are dropped (except the last one, done == total).
MIN_REPORT_INTERVAL_SECONDS = 0.5

_last_write: dict[str, float] = {}
_lock = threading.Lock()


def report_progress(
    context: TaskContext, done: int, total: int | None = None, message: str = ""
) -> bool:
    """Record that `done` of `total` units are done (`total` None: unknown), with a message.

    Cheap to call in a loop: writes at most every MIN_REPORT_INTERVAL_SECONDS per execution
    (a report with done >= total is always written). Returns whether it was written.
    """
    for name, value in (("done", done), ("total", total)):
        if value is not None and (
            not isinstance(value, int) or isinstance(value, bool) or value < 0
        ):
            raise ValueError(f"report_progress({name}={value!r}): expected a whole number >= 0.")
    if not isinstance(message, str):
        raise TypeError(
            f"report_progress(message=...) must be a str, not {type(message).__name__}."
        )
    execution_id = context.task_result.id
    final = total is not None and done >= total
    now = time.monotonic()
    with _lock:
        last = _last_write.get(execution_id)
        if not final and last is not None and now - last < MIN_REPORT_INTERVAL_SECONDS:
            return False
        _last_write[execution_id] = now
        if final:
            _last_write.pop(execution_id, None)
    TaskExecution.objects.filter(pk=execution_id).record_progress(done, total, message, clock.now())
    return True
