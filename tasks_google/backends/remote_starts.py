"""Starting remote work when the enqueueing transaction commits, many at once.

Each enqueue registers a `StartRemote` step with `transaction.on_commit` (`start_on_commit`),
and notes it in this thread's list of pending starts. When one transaction enqueued several, the
first step Django runs at commit takes the others from that list, keeps those whose row exists
(an enqueue rolled back with a savepoint or a whole transaction left no row, and Django never
runs its step), starts them all, at most MAX_CONCURRENT_STARTS at a time, and notes their names
on their rows in one statement. A start that fails is logged and leaves its row READY with no
`remote_name`, for `manage.py reconcile_tasks` to start later; the others are not affected.
"""

import logging
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

from django.db import router, transaction

from tasks_google.transports import RemoteStep

logger = logging.getLogger(__name__)

#: How many remote starts (CreateTask, RunJob calls) one commit has in flight at once.
MAX_CONCURRENT_STARTS = 16

#: This thread's starts registered and not yet run, per database alias.
_pending = threading.local()


def start_on_commit(step: "StartRemote", using: str) -> None:
    """Run `step` once the current transaction on `using` commits (at once outside one)."""
    _pending_list(using).append(step)
    transaction.on_commit(step, using=using)


def _pending_list(using: str) -> list["StartRemote"]:
    if not hasattr(_pending, "by_alias"):
        _pending.by_alias = {}
    return _pending.by_alias.setdefault(using, [])


class StartRemote(RemoteStep):
    """The on-commit step of an enqueue: start the remote work, then note its name on the row."""

    def __init__(self, start: Callable[[], str], execution_id: str, what: str) -> None:
        self.start = start
        self.execution_id = execution_id
        self.what = what
        self.taken = False  # by a step that starts it with others

    def __call__(self) -> None:
        from tasks_google.models import TaskExecution

        if self.taken:
            return
        batch = [self, *_take_pending(router.db_for_write(TaskExecution), self)]
        for step in batch:
            step.taken = True
        _note_names(_start_all(batch))

    def try_start(self) -> str | None:
        """The remote work's name; None (logged) if starting it failed."""
        try:
            return self.start()
        except Exception:
            logger.exception(
                "%s failed; execution %s stays READY until `manage.py reconcile_tasks` starts it",
                self.what,
                self.execution_id,
            )
            return None


def _take_pending(alias: str, running: "StartRemote") -> list["StartRemote"]:
    """The other starts registered on `alias` in this thread whose rows exist; the list is
    emptied (those left out belong to enqueues that were rolled back)."""
    from tasks_google.models import TaskExecution

    pending = _pending_list(alias)
    others = [step for step in pending if step is not running and not step.taken]
    pending.clear()
    if not others:
        return []
    ids = [step.execution_id for step in others]
    existing = set(TaskExecution.objects.filter(pk__in=ids).values_list("pk", flat=True))
    return [step for step in others if step.execution_id in existing]


def _start_all(batch: list[StartRemote]) -> dict[str, str]:
    """{execution id: remote name} of the steps in `batch` that started."""
    if len(batch) == 1:
        names = [batch[0].try_start()]
    else:
        with ThreadPoolExecutor(min(MAX_CONCURRENT_STARTS, len(batch))) as pool:
            names = list(pool.map(StartRemote.try_start, batch))
    return {step.execution_id: name for step, name in zip(batch, names, strict=True) if name}


def _note_names(started: dict[str, str]) -> None:
    from tasks_google.models import TaskExecution  # not at import: backends load before models

    if len(started) == 1:
        [(execution_id, name)] = started.items()
        TaskExecution.note_remote_name(execution_id, name)
    elif started:
        rows = [TaskExecution(pk=pk, remote_name=name) for pk, name in started.items()]
        TaskExecution.objects.bulk_update(rows, ["remote_name"], batch_size=500)
