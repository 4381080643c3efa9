"""Between `TaskExecution` rows and Django's `TaskResult`: load tasks, convert, record errors."""

import json
import logging
import re
from traceback import format_exception
from typing import Any

from django.utils.module_loading import import_string

from tasks_google.config.options import DEFAULT_MAX_HISTORY_ENTRIES
from tasks_google.framework import (
    Task,
    TaskError,
    TaskResult,
    TaskResultDoesNotExist,
    TaskResultStatus,
    normalize_json,
    task_backends,
    task_finished,
)
from tasks_google.models import EXECUTION_ID_MAX_LENGTH, MAX_TRACEBACK_CHARS, TaskExecution

logger = logging.getLogger(__name__)

_EXECUTION_ID_RE = re.compile(r"^[A-Za-z0-9_-]+$")


class TaskNotFound(Exception):
    """The task path of an execution does not lead to a `django.tasks.Task`."""


def load_task(path: str) -> Task:
    """Import the Task object at `path`, refusing anything that is not a `django.tasks.Task`."""
    try:
        task = import_string(path)
    except ImportError as exc:
        raise TaskNotFound(f"Task {path!r} cannot be imported: {exc}") from exc
    if not isinstance(task, Task):
        raise TaskNotFound(f"{path!r} is not a django.tasks.Task (got {type(task).__name__}).")
    return task


def as_json(value: Any) -> Any:
    """`value` as a JSON store gives it back (tuples become lists, int keys strings).

    Raises TypeError or ValueError, as Django does, for values JSON cannot hold.
    """
    return json.loads(json.dumps(normalize_json(value), allow_nan=False))


def arguments_as_json(task_name: str, args: Any, kwargs: Any) -> tuple[Any, Any]:
    """`args` and `kwargs` through `as_json`; an argument JSON cannot hold is named in the error.

    Raises the TypeError or ValueError Django raises, with the argument and task in its message.
    """
    try:
        return as_json(args), as_json(kwargs)
    except (TypeError, ValueError) as exc:
        named = [(f"args[{i}]", v) for i, v in enumerate(args)]
        named += [(f"kwargs[{k!r}]", v) for k, v in dict(kwargs).items()]
        for where, value in named:
            try:
                as_json(value)
            except (TypeError, ValueError) as culprit:
                raise type(exc)(
                    f"{where} of task {task_name} cannot be stored as JSON ({culprit}); "
                    "task arguments must be JSON values: str, int, float, bool, None, "
                    "and lists and dicts of them."
                ) from exc
        raise


def is_valid_execution_id(value: Any) -> bool:
    return (
        isinstance(value, str)
        and 0 < len(value) <= EXECUTION_ID_MAX_LENGTH
        and bool(_EXECUTION_ID_RE.match(value))
    )


def get_execution(execution_id: Any, backend_alias: str) -> TaskExecution:
    """The row of an execution of `backend_alias`, or TaskResultDoesNotExist (also for bad ids)."""
    if not is_valid_execution_id(execution_id):
        raise TaskResultDoesNotExist(execution_id)
    try:
        return TaskExecution.objects.get(pk=execution_id, backend=backend_alias)
    except TaskExecution.DoesNotExist:
        raise TaskResultDoesNotExist(execution_id) from None


def find_execution(result_or_id: TaskResult | str) -> TaskExecution:
    """The row of a TaskResult or an execution id, of any backend; TaskResultDoesNotExist if
    there is none (also for bad ids)."""
    execution_id = result_or_id.id if isinstance(result_or_id, TaskResult) else result_or_id
    if not is_valid_execution_id(execution_id):
        raise TaskResultDoesNotExist(execution_id)
    row = TaskExecution.objects.filter(pk=execution_id).first()
    if row is None:
        raise TaskResultDoesNotExist(execution_id)
    return row


def to_result(row: TaskExecution, task: Task | None = None) -> TaskResult:
    """A fresh TaskResult for `row` (rehydrating its task unless given)."""
    if task is None:
        task = load_task(row.task_path).using(
            priority=row.priority,
            queue_name=row.queue,
            run_after=row.run_after,
            backend=row.backend,
        )
    result = TaskResult(
        task=task,
        id=row.id,
        status=TaskResultStatus(row.status),
        enqueued_at=row.enqueued_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        last_attempted_at=row.last_attempted_at,
        args=row.args,
        kwargs=row.kwargs,
        backend=row.backend,
        errors=[
            TaskError(exception_class_path=e["exception_class_path"], traceback=e["traceback"])
            for e in row.errors
        ],
        worker_ids=_worker_ids(row),
    )
    object.__setattr__(result, "_return_value", row.return_value)
    return result


#: Stands in a TaskResult's `worker_ids` for each id that `max_history_entries` dropped.
DROPPED_WORKER_ID = "(not kept)"


def _worker_ids(row: TaskExecution) -> list[str]:
    """The `worker_ids` of `row`'s TaskResult. Django counts attempts by them (`attempts`,
    `context.attempt`), so once the row keeps only the most recent ones, each dropped one is
    stood in for by DROPPED_WORKER_ID, up to `attempt_count`."""
    kept = list(row.worker_ids)
    if len(kept) < history_limit(row):
        return kept
    return [DROPPED_WORKER_ID] * max(0, row.attempt_count - len(kept)) + kept


#: What an attempt's own TaskResult learns from its row once the outcome is written.
_REFRESHED = ("status", "finished_at", "errors", "_return_value", "worker_ids")


def refresh_result(result: TaskResult, row: TaskExecution) -> None:
    """Bring `result` (an attempt's own TaskResult of `row`) up to date with `row`."""
    fresh = to_result(row, result.task)
    for attr in _REFRESHED:
        object.__setattr__(result, attr, getattr(fresh, attr))


def exception_class_path(exc: BaseException) -> str:
    """The dotted path of an exception's class, as `errors` and `attempts` record it."""
    kind = type(exc)
    return f"{kind.__module__}.{kind.__qualname__}"


def error_entry(exc: BaseException) -> dict[str, str]:
    """How an exception is stored in `TaskExecution.errors` (a capped traceback)."""
    trace = "".join(format_exception(exc))
    if len(trace) > MAX_TRACEBACK_CHARS:
        half = MAX_TRACEBACK_CHARS // 2
        trace = trace[:half] + "\n[... traceback truncated ...]\n" + trace[-half:]
    return {"exception_class_path": exception_class_path(exc), "traceback": trace}


def with_error(
    errors: list[dict[str, str]], exc: BaseException, *, keep: int
) -> list[dict[str, str]]:
    """`errors` plus one for `exc`, keeping the `keep` most recent."""
    return [*errors, error_entry(exc)][-keep:]


def history_limit(row: TaskExecution) -> int:
    """How many entries of `attempts`, `errors` and `worker_ids` `row` keeps: its backend's
    `max_history_entries` (the default if that backend is gone or misconfigured)."""
    try:
        return task_backends[row.backend].config.max_history_entries
    except Exception:
        return DEFAULT_MAX_HISTORY_ENTRIES


def announce_failure(
    row: TaskExecution,
    error: BaseException,
    result: TaskResult | None = None,
    sender: type | None = None,
) -> None:
    """Send `task_finished` for `row`, just recorded FAILED with `error`, while `error` is
    being handled (Django's log handler reads exc_info), as for any failure.

    `result` (the attempt's own TaskResult) is refreshed from `row`; without it one is made.
    A row whose task cannot be loaded any more sends nothing (there is no Task to report).
    """
    try:
        if result is None:
            result = to_result(row)
        else:
            refresh_result(result, row)
    except Exception:
        logger.warning("Execution %s failed; its task cannot be loaded to report it", row.pk)
        return
    backend_type = sender or type(task_backends[row.backend])
    try:
        raise error
    except BaseException:
        task_finished.send(backend_type, task_result=result)
