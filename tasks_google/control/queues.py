"""Cloud Tasks queues: read their state, pause, resume and purge them.

`queue_name` is a Django queue name (as in `@task(queue_name=...)`); it maps to the Cloud Tasks
queue `{location}/queues/{queue id}` exactly as the backend does when it creates tasks
(`OPTIONS["queue_aliases"]` apply). Only `CloudTasksBackend`s have queues: a Cloud Run job has
none to pause or purge.
"""

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime

from django.db import router, transaction
from google.api_core import exceptions as api_exceptions

from tasks_google import clock
from tasks_google.backends.cloud_tasks import CloudTasksBackend
from tasks_google.backends.stored import configured_backends
from tasks_google.config.options import CLOUD_TASKS
from tasks_google.control.cancellation import CancelRemoteWork
from tasks_google.exceptions import QueueDoesNotExist, TaskCancelledError
from tasks_google.execution.cancel_signals import finish_cancelled
from tasks_google.framework import (
    DEFAULT_TASK_BACKEND_ALIAS,
    DEFAULT_TASK_QUEUE_NAME,
    InvalidTaskBackend,
    task_backends,
)
from tasks_google.models import TaskExecution

#: What each state means for the tasks of a queue.
STATE_MEANINGS = {
    "RUNNING": "its tasks are delivered",
    "PAUSED": "tasks can be enqueued, but none is delivered until resume_queue()",
    "DISABLED": "tasks can be enqueued, but none is delivered until resume_queue() "
    "(Google disables a queue left out of an uploaded queue.yaml)",
}
#: Executions recorded cancelled by one query batch of `purge_queue`.
PURGE_BATCH_SIZE = 500


@dataclass(frozen=True)
class QueueControlResult:
    """What a queue call found or did.

    `queue` is the queue's resource name, `state` its state afterwards (RUNNING, PAUSED or
    DISABLED), `message` a sentence saying so. `cancelled_executions` counts the waiting
    executions `purge_queue` recorded cancelled (0 for the other calls).
    """

    queue: str
    state: str
    message: str
    cancelled_executions: int = 0


def _backend(alias: str) -> CloudTasksBackend:
    if alias not in task_backends.settings:
        raise InvalidTaskBackend(
            f"backend={alias!r} is not in settings.TASKS. {_cloud_tasks_backends()}"
        )
    backend = task_backends[alias]
    if not isinstance(backend, CloudTasksBackend):
        raise InvalidTaskBackend(
            f"backend={alias!r} is a {type(backend).__name__}, which has no queues to pause, "
            "resume or purge (a Cloud Run job runs each execution on its own; stop one with "
            f"cancel_task()). {_cloud_tasks_backends()}"
        )
    return backend


def _cloud_tasks_backends() -> str:
    aliases = [b.alias for b in task_backends.all() if isinstance(b, CloudTasksBackend)]
    return "Cloud Tasks backends: " + (", ".join(repr(a) for a in aliases) or "none") + "."


def _queue_path(backend: CloudTasksBackend, queue_name: str) -> str:
    if backend.queues and queue_name not in backend.queues:
        allowed = ", ".join(repr(q) for q in sorted(backend.queues))
        raise ValueError(
            f"queue_name={queue_name!r} is not a queue of TASKS[{backend.alias!r}]; "
            f"its QUEUES: {allowed}."
        )
    config = backend.config
    queue_id = config.queue_id(queue_name)
    if not CLOUD_TASKS.target_id_re.match(queue_id):
        raise ValueError(
            f"queue_name={queue_name!r} gives the Cloud Tasks queue id {queue_id!r}, which is not "
            f"valid. {CLOUD_TASKS.target_rule}; map other names with OPTIONS['queue_aliases']."
        )
    return config.queue_path(queue_name)


def _control(queue_name: str, backend_alias: str, call: str) -> tuple[str, str]:
    """Run the transport's `call` on the queue; return (queue path, state after)."""
    backend = _backend(backend_alias)
    path = _queue_path(backend, queue_name)
    try:
        state = getattr(backend.transport, call)(path)
    except api_exceptions.NotFound:
        raise QueueDoesNotExist(
            f"The Cloud Tasks queue {path} (queue_name={queue_name!r} of "
            f"TASKS[{backend_alias!r}]) does not exist. Create it (gcloud tasks queues create); "
            "the emulator creates a queue on its first enqueue."
        ) from None
    return path, state


def _state_sentence(path: str, state: str) -> str:
    meaning = STATE_MEANINGS.get(state)
    return f"{path} is {state}: {meaning}." if meaning else f"{path} is {state}."


def queue_state(
    queue_name: str = DEFAULT_TASK_QUEUE_NAME, *, backend: str = DEFAULT_TASK_BACKEND_ALIAS
) -> QueueControlResult:
    """The state of the Cloud Tasks queue behind a Django queue: RUNNING, PAUSED or DISABLED.

    Raises InvalidTaskBackend for a backend that is not a CloudTasksBackend in TASKS, ValueError
    for a queue name the backend does not allow, QueueDoesNotExist if the queue does not exist,
    EmulatorUnavailableError if the configured emulator does not answer.
    """
    path, state = _control(queue_name, backend, "get_queue_state")
    return QueueControlResult(path, state, _state_sentence(path, state))


def pause_queue(
    queue_name: str = DEFAULT_TASK_QUEUE_NAME, *, backend: str = DEFAULT_TASK_BACKEND_ALIAS
) -> QueueControlResult:
    """Pause the Cloud Tasks queue behind a Django queue (PauseQueue).

    Enqueues still succeed and their tasks wait in the queue; nothing is delivered until
    `resume_queue`. An attempt already under way finishes. Pausing twice is harmless.
    Errors as for `queue_state`.
    """
    path, state = _control(queue_name, backend, "pause_queue")
    return QueueControlResult(path, state, "Paused. " + _state_sentence(path, state))


def resume_queue(
    queue_name: str = DEFAULT_TASK_QUEUE_NAME, *, backend: str = DEFAULT_TASK_BACKEND_ALIAS
) -> QueueControlResult:
    """Resume a PAUSED or DISABLED queue (ResumeQueue): its waiting tasks are delivered again.
    Resuming a running queue is harmless. Errors as for `queue_state`."""
    path, state = _control(queue_name, backend, "resume_queue")
    return QueueControlResult(path, state, "Resumed. " + _state_sentence(path, state))


def purge_queue(
    queue_name: str = DEFAULT_TASK_QUEUE_NAME, *, backend: str = DEFAULT_TASK_BACKEND_ALIAS
) -> QueueControlResult:
    """Delete every task of the Cloud Tasks queue behind a Django queue (PurgeQueue), and record
    the executions that were waiting for them as cancelled.

    First the purge, then the recording (nothing is recorded if the purge fails): every READY
    execution enqueued before the purge returned, of any configured Cloud Tasks backend whose
    queue maps to the same Cloud Tasks queue, is recorded cancelled (FAILED, `cancelled_at`, a
    TaskCancelledError saying the queue was purged; `task_finished` is sent), so none is left
    waiting for a task that no longer exists. That includes executions whose Cloud Task is not
    created yet (their transaction has not committed, or the creation failed): as with
    `cancel_task`, the task is deleted after the caller's transaction commits, and a delivery
    that still comes finds the execution finished and runs nothing. An execution enqueued after
    the purge returned is delivered as usual.

    RUNNING executions are left alone: their attempt is in flight and records its own outcome.

    The purge cannot be rolled back, so call this outside a transaction: if the caller's
    transaction rolls back, the executions return to READY with no Cloud Task to deliver them
    (purging again records them). Errors as for `queue_state`.
    """
    path, state = _control(queue_name, backend, "purge_queue")
    purged_at = clock.now()
    reason = f"Cancelled: the Cloud Tasks queue {path} was purged."
    cancelled = 0
    for row in _waiting_executions(path, purged_at):
        if finish_cancelled(row, started=False, error=TaskCancelledError(reason)):
            cancelled += 1
            if not row.remote_name:
                # Its Cloud Task may be created after the purge: delete it once created.
                transaction.on_commit(
                    CancelRemoteWork(task_backends[row.backend], row),
                    using=router.db_for_write(TaskExecution),
                )
    if cancelled == 0:
        recorded = "no waiting execution was recorded cancelled"
    elif cancelled == 1:
        recorded = "1 waiting execution was recorded cancelled"
    else:
        recorded = f"{cancelled} waiting executions were recorded cancelled"
    message = (
        f"Purged {path}: its tasks are deleted and {recorded} (running ones finish on their "
        f"own). The queue is {state}."
    )
    return QueueControlResult(path, state, message, cancelled)


def _waiting_executions(path: str, enqueued_by: datetime) -> Iterator[TaskExecution]:
    """The READY, unleased executions enqueued by `enqueued_by` whose Cloud Task lives in the
    queue `path`, in batches (each batch is read after the previous one was recorded)."""
    for backend in configured_backends(CLOUD_TASKS):
        ready = TaskExecution.objects.waiting().filter(
            backend=backend.alias, enqueued_at__lte=enqueued_by
        )
        queues = ready.order_by().values_list("queue", flat=True).distinct()
        names = [name for name in queues if backend.config.queue_path(name) == path]
        if not names:
            continue
        after = ""
        while True:
            batch = ready.filter(queue__in=names, pk__gt=after).order_by("pk")
            batch = list(batch[:PURGE_BATCH_SIZE])
            if not batch:
                break
            yield from batch
            after = batch[-1].pk


def find_queue(resource_name: str) -> tuple[str, str] | None:
    """The (backend alias, Django queue name) whose Cloud Tasks queue is `resource_name`
    (`projects/P/locations/L/queues/Q`), over the Cloud Tasks backends in TASKS with valid
    OPTIONS, in TASKS order; None if none of them owns it.

    Several Django queue names may share one Cloud Tasks queue (`queue_aliases`); any of them
    addresses it. The name spelled like the queue id wins, else the first in sorted order.
    """
    for backend in configured_backends(CLOUD_TASKS):
        config = backend.config
        prefix = f"{config.location_path}/queues/"
        if not resource_name.startswith(prefix):
            continue
        queue_id = resource_name.removeprefix(prefix)
        if not CLOUD_TASKS.target_id_re.match(queue_id):
            continue
        candidates = set(backend.queues) if backend.queues else {queue_id, *config.queue_aliases}
        names = sorted(n for n in candidates if config.queue_id(n) == queue_id)
        if names:
            return backend.alias, queue_id if queue_id in names else names[0]
    return None
