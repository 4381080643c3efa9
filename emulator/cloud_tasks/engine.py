"""The Cloud Tasks v2 engine: queues and HTTP tasks over a clock, a dispatcher and a store.

Each public RPC method takes the official client's request message and returns what the RPC
returns, raising the same ``google.api_core.exceptions`` the client raises, so a gRPC front door
maps RPC name to method one to one. Two drivers deliver due tasks: ``LocalCloud`` in virtual time
(``next_due_time``/``dispatch_due``, one delivery at a time) and the real-time driver of the
server (``next_due_time``/``claim_due``/``deliver``, deliveries in parallel). Both go through the
queue's rate limits (T8) and the fault rules.
"""

from __future__ import annotations

import heapq
import logging
import re
from dataclasses import dataclass
from datetime import datetime, timedelta
from http import HTTPStatus

from google.api_core.exceptions import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    NotFound,
)
from google.cloud import tasks_v2
from google.iam.v1 import iam_policy_pb2

from emulator.cloud_tasks.model import (
    QUEUE_KIND,
    QUEUE_TOMBSTONE_KIND,
    TASK_KIND,
    TASK_TOMBSTONE_KIND,
    Attempt,
    QueueSnapshot,
    QueueState,
    TaskState,
)
from emulator.cloud_tasks.names import (
    TaskName,
    new_task_id,
    parse_parent,
    parse_queue_name,
    parse_task_name,
)
from emulator.cloud_tasks.retry import (
    TASK_RETENTION,
    resolve_rate_limits,
    resolve_retry_policy,
    retry_config,
)
from emulator.cloud_tasks.task_specs import validate_http_task
from emulator.kit import paging
from emulator.kit.clock import Clock
from emulator.kit.delivery import (
    Delivery,
    DeliveryRecord,
    Dispatcher,
    IdTokenMinter,
)
from emulator.kit.dispatch import ClaimedAttempt, EngineParts, Outcome, TimedEngine
from emulator.kit.faults import CLOUD_TASKS, Faults
from emulator.kit.field_masks import apply_update
from emulator.kit.iam import QUEUE_PERMISSIONS, tested_permissions
from emulator.kit.retry import retry_after
from emulator.kit.store import (
    Change,
    Delete,
    DeleteKind,
    DeletePrefix,
    Put,
    Record,
    Store,
)

logger = logging.getLogger(__name__)

DEFAULT_TASK_TOMBSTONE_TTL = timedelta(hours=1)
DEFAULT_QUEUE_TOMBSTONE_TTL = timedelta(days=3)
MAX_TASKS_PAGE_SIZE = 1000
MAX_QUEUES_PAGE_SIZE = 9800
PRUNE_INTERVAL = timedelta(minutes=1)
"""How often (engine time) expired tombstones are removed from the store."""

QUEUE_NOT_FOUND = (
    "Queue does not exist. If you just created the queue, wait at least a minute for the queue "
    "to initialize."
)
ENTITY_NOT_FOUND = "Requested entity was not found."
TASK_GONE = (
    "The task no longer exists, though a task with this name existed recently. The task either "
    "successfully completed or was deleted."
)
TASK_EXISTS = "Requested entity already exists"
QUEUE_EXISTS = "Queue already exists"
QUEUE_TOO_RECENT = (
    "The queue cannot be created because a queue with this name existed too recently."
)

_CONFIG_FIELDS = (
    "rate_limits",
    "retry_config",
    "http_target",
    "stackdriver_logging_config",
    "app_engine_routing_override",
)
_OUTPUT_ONLY_PATHS = frozenset({"name", "state", "purge_time", "rate_limits.max_burst_size"})
_STATE_FILTER = re.compile(r"\s*state\s*[:=]\s*([A-Za-z_]+)\s*")
_QUEUE_PREFIX = re.compile(r"projects/[^/]+/locations/[^/]+/queues/[^/]+")
_OWN_KINDS = (QUEUE_KIND, TASK_KIND, QUEUE_TOMBSTONE_KIND, TASK_TOMBSTONE_KIND)


@dataclass(frozen=True)
class TaskAttempt:
    """What a claimed Cloud Tasks attempt is of."""

    queue: QueueState
    task: TaskState
    attempt: Attempt
    run_task_time: datetime | None  # set for RunTask: a failure backs off from this time (T9)


Claimed = ClaimedAttempt[TaskAttempt]


class CloudTasksEngine(TimedEngine[tuple[QueueState, TaskState], TaskAttempt, DeliveryRecord]):
    """A Cloud Tasks v2 service for HTTP tasks.

    Tasks are dispatched in schedule order within each queue's rate limits and concurrency
    (T8): ``dispatch_due`` and ``claim_due`` leave the tasks those hold back for later.

    State is guarded by a re-entrant lock that is never held while the dispatcher runs, so a
    handler may call back into the engine (e.g. ``create_task``) and many threads may call it.
    Every change is written through to ``store`` before the call returns; the engine starts from
    what the store holds.
    """

    def __init__(
        self,
        clock: Clock,
        dispatcher: Dispatcher,
        *,
        task_tombstone_ttl: timedelta = DEFAULT_TASK_TOMBSTONE_TTL,
        queue_tombstone_ttl: timedelta = DEFAULT_QUEUE_TOMBSTONE_TTL,
        id_token_minter: IdTokenMinter | None = None,
        faults: Faults | None = None,
        store: Store | None = None,
    ) -> None:
        self._task_tombstone_ttl = task_tombstone_ttl
        self._queue_tombstone_ttl = queue_tombstone_ttl
        self._queues: dict[str, QueueState] = {}
        self._queue_tombstones: dict[str, datetime] = {}  # full name -> expiry, in expiry order
        self._task_tombstones: dict[str, datetime] = {}
        self._last_prune: datetime | None = None
        super().__init__(
            CLOUD_TASKS,
            clock,
            parts=EngineParts(
                self._load,
                self._earliest_due,
                lambda due, now: self._start_attempt(*due, run_task=False),
                self._settle,
                _delivery_record,
            ),
            dispatcher=dispatcher,
            id_token_minter=id_token_minter,
            faults=faults,
            store=store,
            log=logger,
        )

    # ------------------------------------------------------------------------ lifecycle

    def reset(self) -> None:
        """Forget every queue, task and tombstone of this engine, in memory and in the store."""
        self._dispatch.reload(*(DeleteKind(kind) for kind in _OWN_KINDS))

    # ----------------------------------------------------------------------------- queues

    def create_queue(self, request: tasks_v2.CreateQueueRequest) -> tasks_v2.Queue:
        """CreateQueue: ALREADY_EXISTS for a live name, FAILED_PRECONDITION if deleted recently."""
        self._faults.check_rpc(CLOUD_TASKS, "CreateQueue", queue=_queue_of(request.queue.name))
        parent = parse_parent(request.parent)
        name = parse_queue_name(request.queue.name)
        if name.parent != parent:
            raise InvalidArgument(f"{request.queue.name} must begin with {request.parent}.")
        config = _resolve_queue_config(request.queue)
        with self._lock:
            if name.full in self._queues:
                raise AlreadyExists(QUEUE_EXISTS)
            if self._is_tombstoned(self._queue_tombstones, name.full):
                raise FailedPrecondition(QUEUE_TOO_RECENT)
            queue = QueueState(name, config)
            self._store.write(_queue_put(queue))
            self._queues[name.full] = queue
            return queue.to_proto()

    def update_queue(self, request: tasks_v2.UpdateQueueRequest) -> tasks_v2.Queue:
        """UpdateQueue: change the fields in ``update_mask`` (all when empty); create if missing."""
        self._faults.check_rpc(CLOUD_TASKS, "UpdateQueue", queue=_queue_of(request.queue.name))
        name = parse_queue_name(request.queue.name)
        paths = list(request.update_mask.paths) if "update_mask" in request else []
        with self._lock:
            queue = self._queues.get(name.full)
            if queue is None and self._is_tombstoned(self._queue_tombstones, name.full):
                raise FailedPrecondition(QUEUE_TOO_RECENT)
            current = queue.config if queue is not None else tasks_v2.Queue()
            config = _resolve_queue_config(
                apply_update(
                    tasks_v2.Queue,
                    current,
                    request.queue,
                    paths,
                    user_fields=_CONFIG_FIELDS,
                    output_only=_OUTPUT_ONLY_PATHS,
                    replace_all=True,
                )
            )
            if queue is None:
                queue = QueueState(name, config)
                self._store.write(_queue_put(queue))
                self._queues[name.full] = queue
            else:
                queue.reconfigure(config, self._clock.now())
                self._store.write(_queue_put(queue))
            response = queue.to_proto()
        self._dispatch.notify()
        return response

    def get_queue(self, request: tasks_v2.GetQueueRequest) -> tasks_v2.Queue:
        """GetQueue."""
        self._faults.check_rpc(CLOUD_TASKS, "GetQueue", queue=_queue_of(request.name))
        with self._lock:
            return self._queue(request.name).to_proto()

    def test_iam_permissions(
        self, request: iam_policy_pb2.TestIamPermissionsRequest
    ) -> iam_policy_pb2.TestIamPermissionsResponse:
        """TestIamPermissions on a queue: the permissions asked that a queue's policy grants,
        less those a ``DenyPermissions`` fault rule refuses; NOT_FOUND for a missing queue."""
        queue = _queue_of(request.resource)
        effect = self._faults.check_rpc(CLOUD_TASKS, "TestIamPermissions", queue=queue)
        with self._lock:
            self._queue(request.resource)
        return tested_permissions(request.permissions, QUEUE_PERMISSIONS, effect)

    def list_queues(self, request: tasks_v2.ListQueuesRequest) -> tasks_v2.ListQueuesResponse:
        """ListQueues, ordered by name; supports the filter ``state: <STATE>``."""
        self._faults.check_rpc(CLOUD_TASKS, "ListQueues")
        parent = parse_parent(request.parent)
        wanted_state = _parse_state_filter(request.filter)
        page_size = paging.page_size(request.page_size, MAX_QUEUES_PAGE_SIZE)
        after = paging.decode_page_token(request.page_token)
        with self._lock:
            queues = sorted(
                (
                    q
                    for q in self._queues.values()
                    if q.name.parent == parent and (wanted_state is None or q.state == wanted_state)
                ),
                key=lambda q: q.name.full,
            )
            page, next_token = paging.paginate(queues, lambda q: q.name.full, after, page_size)
            return tasks_v2.ListQueuesResponse(
                queues=[q.to_proto() for q in page], next_page_token=next_token
            )

    def delete_queue(self, request: tasks_v2.DeleteQueueRequest) -> None:
        """DeleteQueue: remove the queue and its tasks; the name stays reserved a while (T35)."""
        self._faults.check_rpc(CLOUD_TASKS, "DeleteQueue", queue=_queue_of(request.name))
        name = parse_queue_name(request.name)
        with self._lock:
            if name.full not in self._queues:
                raise NotFound(ENTITY_NOT_FOUND)
            tombstone = self._tombstone(
                self._queue_tombstones, QUEUE_TOMBSTONE_KIND, name.full, self._queue_tombstone_ttl
            )
            self._store.write(
                Delete(QUEUE_KIND, name.full),
                DeletePrefix(TASK_KIND, name.full + "/tasks/"),
                tombstone,
            )
            del self._queues[name.full]

    def pause_queue(self, request: tasks_v2.PauseQueueRequest) -> tasks_v2.Queue:
        """PauseQueue: tasks can still be added but are not dispatched (T33)."""
        self._faults.check_rpc(CLOUD_TASKS, "PauseQueue", queue=_queue_of(request.name))
        return self._set_state(request.name, tasks_v2.Queue.State.PAUSED)

    def resume_queue(self, request: tasks_v2.ResumeQueueRequest) -> tasks_v2.Queue:
        """ResumeQueue: a PAUSED or DISABLED queue becomes RUNNING."""
        self._faults.check_rpc(CLOUD_TASKS, "ResumeQueue", queue=_queue_of(request.name))
        return self._set_state(request.name, tasks_v2.Queue.State.RUNNING)

    def disable_queue(self, name: str) -> tasks_v2.Queue:
        """Emulator control (no RPC): make a queue DISABLED, as Google does for queue.yaml (T33)."""
        return self._set_state(name, tasks_v2.Queue.State.DISABLED)

    def purge_queue(self, request: tasks_v2.PurgeQueueRequest) -> tasks_v2.Queue:
        """PurgeQueue: delete every task created before the call and set ``purge_time`` (T34)."""
        self._faults.check_rpc(CLOUD_TASKS, "PurgeQueue", queue=_queue_of(request.name))
        with self._lock:
            queue = self._queue(request.name)
            now = self._clock.now()
            changes: list[Change] = []
            for task in list(queue.tasks.values()):
                changes += self._forget_task(queue, task, now)
            queue.heap.clear()
            queue.purge_time = now
            changes.append(_queue_put(queue))
            self._store.write(*changes)
            return queue.to_proto()

    # ------------------------------------------------------------------------------ tasks

    def create_task(self, request: tasks_v2.CreateTaskRequest) -> tasks_v2.Task:
        """CreateTask for an HTTP task (T11, T22, T24-T28, T7); stored before it returns."""
        self._faults.check_rpc(CLOUD_TASKS, "CreateTask", queue=_queue_of(request.parent))
        queue_name = parse_queue_name(request.parent)
        spec = request.task
        task_name = parse_task_name(spec.name, in_queue=queue_name) if spec.name else None
        with self._lock:
            now = self._clock.now()
            fields = validate_http_task(spec, now)
            queue = self._queues.get(queue_name.full)
            if queue is None:
                raise NotFound(QUEUE_NOT_FOUND)
            retry_override = None
            if "retry_config" in spec:
                resolve_retry_policy(spec.retry_config, queue.retry_policy)  # validates (T7)
                retry_override = tasks_v2.RetryConfig(spec.retry_config)
            if task_name is None:
                task_name = self._unused_task_name(queue)
            elif task_name.task_id in queue.tasks or self._is_tombstoned(
                self._task_tombstones, task_name.full
            ):
                raise AlreadyExists(TASK_EXISTS)
            else:
                task_name = TaskName(queue.name, task_name.task_id)  # the queue's name, shared
            task = TaskState(
                name=task_name,
                retry_override=retry_override,
                create_time=now.replace(microsecond=0),
                **fields,
            )
            self._store.write(_task_put(task))
            queue.tasks[task_name.task_id] = task
            self._schedule(queue, task, task.schedule_time)
            response = task.to_proto(request.response_view)
        self._dispatch.notify()
        return response

    def get_task(self, request: tasks_v2.GetTaskRequest) -> tasks_v2.Task:
        """GetTask; a finished or deleted task is NOT_FOUND with Google's message (T31)."""
        self._faults.check_rpc(CLOUD_TASKS, "GetTask", queue=_queue_of(request.name))
        with self._lock:
            _, task = self._task(request.name)
            return task.to_proto(request.response_view)

    def list_tasks(self, request: tasks_v2.ListTasksRequest) -> tasks_v2.ListTasksResponse:
        """ListTasks, ordered by task id, at most 1000 per page (T32)."""
        self._faults.check_rpc(CLOUD_TASKS, "ListTasks", queue=_queue_of(request.parent))
        page_size = paging.page_size(request.page_size, MAX_TASKS_PAGE_SIZE)
        after = paging.decode_page_token(request.page_token)
        with self._lock:
            queue = self._queue(request.parent)
            tasks = sorted(queue.tasks.values(), key=lambda t: t.name.task_id)
            page, next_token = paging.paginate(tasks, lambda t: t.name.task_id, after, page_size)
            return tasks_v2.ListTasksResponse(
                tasks=[t.to_proto(request.response_view) for t in page],
                next_page_token=next_token,
            )

    def delete_task(self, request: tasks_v2.DeleteTaskRequest) -> None:
        """DeleteTask; the name cannot be reused until its tombstone expires (T26)."""
        self._faults.check_rpc(CLOUD_TASKS, "DeleteTask", queue=_queue_of(request.name))
        with self._lock:
            queue, task = self._task(request.name)
            self._store.write(*self._forget_task(queue, task, self._clock.now()))

    def run_task(self, request: tasks_v2.RunTaskRequest) -> tasks_v2.Task:
        """RunTask: dispatch now, even if the queue is paused, rate-limited or the task runs (T9).

        Without a delivery executor the delivery happens before this returns; with one (the
        server) it happens in the background. The returned task is the state right after
        dispatch, before the response (as Google documents). Success deletes the task; failure
        reschedules it at the RunTask time plus the retry backoff. RunTask takes no token from
        the queue's bucket.
        """
        self._faults.check_rpc(CLOUD_TASKS, "RunTask", queue=_queue_of(request.name))
        with self._lock:
            queue, task = self._task(request.name)
            claimed = self._start_attempt(queue, task, run_task=True)
            response = task.to_proto(request.response_view)
        self._dispatch.deliver_soon(claimed)
        return response

    # ------------------------------------------------------------------------- scheduling

    def next_due_time(self) -> datetime | None:
        """When the next dispatch can happen: the earliest schedule time among dispatchable
        tasks of RUNNING queues, delayed to when their queue's bucket has a token (T8).

        Queues at their ``max_concurrent_dispatches`` are skipped until an attempt ends.
        """
        with self._lock:
            times = []
            for queue in self._running_queues():
                if queue.in_flight >= queue.max_concurrent:
                    continue
                top = queue.peek()
                if top is None:
                    continue
                available = queue.bucket.available_at()
                times.append(top[0] if available is None else max(top[0], available))
            return min(times, default=None)

    @property
    def deliveries(self) -> list[DeliveryRecord]:
        """Recent delivery attempts, oldest first (the last ``HISTORY_LIMIT``)."""
        return self._dispatch.history()

    # ------------------------------------------------------------------------ inspection

    def queue_snapshots(self) -> list[QueueSnapshot]:
        """Every queue as it stands now, by name (read under the lock, for the state views)."""
        with self._lock:
            now = self._clock.now()
            return [
                q.snapshot(now) for q in sorted(self._queues.values(), key=lambda q: q.name.full)
            ]

    def task_snapshots(self, queue_name: str) -> list[TaskState]:
        """Copies of a queue's tasks, soonest first; NOT_FOUND if the queue does not exist."""
        with self._lock:
            queue = self._queue(queue_name)
            tasks = sorted(queue.tasks.values(), key=lambda t: (t.schedule_time, t.name.task_id))
            return [task.snapshot() for task in tasks]

    # ------------------------------------------------------------------------- internals

    def _load(self) -> None:
        """Rebuild queues, tasks and tombstones from the store (under the lock)."""
        now = self._clock.now()
        self._store.prune(now)
        self._last_prune = now
        self._queues = {}
        for record in self._store.records(QUEUE_KIND).values():
            queue = QueueState.from_record(record.value)
            self._queues[queue.name.full] = queue
        tasks = [TaskState.from_record(r.value) for r in self._store.records(TASK_KIND).values()]
        for task in sorted(tasks, key=lambda t: (t.schedule_time, t.name.full)):
            queue = self._queues.get(task.name.queue.full)
            if queue is None:
                continue
            task.name = TaskName(queue.name, task.name.task_id)  # the queue's name, shared
            queue.tasks[task.name.task_id] = task
            self._schedule(queue, task, task.schedule_time)
        self._queue_tombstones = _tombstones(self._store.records(QUEUE_TOMBSTONE_KIND), now)
        self._task_tombstones = _tombstones(self._store.records(TASK_TOMBSTONE_KIND), now)

    def _queue(self, name: str) -> QueueState:
        queue = self._queues.get(parse_queue_name(name).full)
        if queue is None:
            raise NotFound(QUEUE_NOT_FOUND)
        return queue

    def _task(self, name: str) -> tuple[QueueState, TaskState]:
        task_name = parse_task_name(name)
        queue = self._queues.get(task_name.queue.full)
        task = queue.tasks.get(task_name.task_id) if queue is not None else None
        if queue is None or task is None:
            if self._is_tombstoned(self._task_tombstones, task_name.full):
                raise NotFound(TASK_GONE)
            raise NotFound(ENTITY_NOT_FOUND)
        return queue, task

    def _set_state(self, name: str, state: tasks_v2.Queue.State) -> tasks_v2.Queue:
        with self._lock:
            queue = self._queue(name)
            queue.state = state
            self._store.write(_queue_put(queue))
            response = queue.to_proto()
        self._dispatch.notify()
        return response

    def _running_queues(self) -> list[QueueState]:
        return [q for q in self._queues.values() if q.state == tasks_v2.Queue.State.RUNNING]

    def _earliest_due(
        self, now: datetime, newest_seq: int | None
    ) -> tuple[QueueState, TaskState] | None:
        """The task to dispatch next at ``now``: due, its queue running, under its concurrency
        cap and with a token (T8). ``newest_seq`` excludes tasks (re)scheduled after it."""
        best: tuple[datetime, int, QueueState] | None = None
        for queue in self._running_queues():
            if queue.in_flight >= queue.max_concurrent:
                continue
            top = queue.peek()
            if top is None or top[0] > now or (newest_seq is not None and top[1] > newest_seq):
                continue
            available = queue.bucket.available_at()
            if available is not None and available > now:
                continue
            if best is None or top[:2] < best[:2]:
                best = (top[0], top[1], queue)
        if best is None:
            return None
        queue = best[2]
        return queue, queue.tasks[queue.heap[0][2]]

    def _schedule(self, queue: QueueState, task: TaskState, when: datetime) -> None:
        task.schedule_time = when
        task.seq = self._dispatch.next_seq()
        heapq.heappush(queue.heap, (when, task.seq, task.name.task_id))

    def _forget_task(self, queue: QueueState, task: TaskState, now: datetime) -> list[Change]:
        """Remove a task from memory and tombstone its name; return the store changes."""
        del queue.tasks[task.name.task_id]
        tombstone = self._tombstone(
            self._task_tombstones,
            TASK_TOMBSTONE_KIND,
            task.name.full,
            self._task_tombstone_ttl,
            now,
        )
        return [Delete(TASK_KIND, task.name.full), tombstone]

    def _unused_task_name(self, queue: QueueState) -> TaskName:
        while True:
            name = TaskName(queue.name, new_task_id())
            if name.task_id not in queue.tasks and name.full not in self._task_tombstones:
                return name

    def _tombstone(
        self,
        tombstones: dict[str, datetime],
        kind: str,
        name: str,
        ttl: timedelta,
        now: datetime | None = None,
    ) -> Put:
        """Reserve ``name`` for ``ttl``; return the store change recording it."""
        now = now or self._clock.now()
        expiry = now + ttl
        tombstones.pop(name, None)
        tombstones[name] = expiry
        # Expiries are appended in time order, so expired ones are at the front.
        while tombstones:
            oldest, oldest_expiry = next(iter(tombstones.items()))
            if oldest_expiry > now:
                break
            del tombstones[oldest]
        if self._last_prune is None or now - self._last_prune >= PRUNE_INTERVAL:
            self._store.prune(now)
            self._last_prune = now
        return Put(Record(kind, name, {}, expires=expiry))

    def _is_tombstoned(self, tombstones: dict[str, datetime], name: str) -> bool:
        expiry = tombstones.get(name)
        if expiry is None:
            return False
        if expiry <= self._clock.now():
            del tombstones[name]
            return False
        return True

    def _start_attempt(self, queue: QueueState, task: TaskState, *, run_task: bool) -> Claimed:
        """Record the dispatch of an attempt and build its request (under the lock).

        A queue dispatch takes a token from the queue's bucket (T8); RunTask does not.
        """
        now = self._clock.now()
        if not run_task:
            taken = queue.bucket.try_take(now)
            assert taken, "a due task was claimed without a token"
        retry_count = task.dispatch_count
        headers = task.next_headers()
        task.dispatch_count += 1
        task.in_flight += 1
        queue.in_flight += 1
        if task.first_dispatch_time is None:
            task.first_dispatch_time = now
        attempt = Attempt(schedule_time=task.schedule_time, dispatch_time=now)
        task.add_attempt(attempt)
        self._store.write(_task_put(task))
        delivery = Delivery(
            url=task.url,
            http_method=task.method,
            headers=headers,
            body=task.body,
            deadline=task.deadline,
            queue_id=queue.name.queue_id,
            task_id=task.name.task_id,
        )
        return ClaimedAttempt(
            TaskAttempt(queue, task, attempt, now if run_task else None),
            delivery,
            task.oidc_target,
            retry_count,
            dispatch_time=now,
            queue=queue.name.full,
        )

    def _settle(self, claimed: Claimed, outcome: Outcome) -> None:
        """Apply an attempt's outcome: delete on 2xx, give up, or schedule a retry (T2, T4, T10)."""
        queue, task = claimed.work.queue, claimed.work.task
        status, response_time = outcome.status, outcome.response_time
        task.in_flight -= 1
        queue.in_flight -= 1
        if (
            self._queues.get(queue.name.full) is not queue
            or queue.tasks.get(task.name.task_id) is not task
        ):
            return  # deleted or purged while the request was in flight
        claimed.work.attempt.response_time = response_time
        claimed.work.attempt.status = status
        if status is not None:
            task.response_count += 1
            if not 500 <= status <= 599:
                task.execution_count += 1
            if 200 <= status <= 299:
                self._store.write(*self._forget_task(queue, task, response_time))
                return
        policy = resolve_retry_policy(task.retry_override, queue.retry_policy)
        first = task.first_dispatch_time or claimed.dispatch_time
        if (
            policy.is_exhausted(task.dispatch_count, first, response_time)
            or response_time - task.create_time >= TASK_RETENTION
        ):
            self._store.write(*self._forget_task(queue, task, response_time))
            return
        failed_at = claimed.work.run_task_time or response_time
        next_time = failed_at + policy.delay_before_retry(task.dispatch_count)
        if status in (HTTPStatus.TOO_MANY_REQUESTS, HTTPStatus.SERVICE_UNAVAILABLE):
            asked = retry_after(outcome.headers, response_time)
            if asked is not None:
                next_time = max(next_time, response_time + asked)
        self._schedule(queue, task, next_time)
        self._store.write(_task_put(task))


def _delivery_record(
    claimed: Claimed, status: int | None, fault: str | None, duplicate: bool
) -> DeliveryRecord:
    return DeliveryRecord(
        queue_id=claimed.delivery.queue_id,
        task_id=claimed.delivery.task_id,
        dispatch_time=claimed.dispatch_time,
        response_status=status,
        retry_count=claimed.retry_count,
        duplicate=duplicate,
        fault=fault,
    )


def _queue_of(resource: str | None) -> str | None:
    """The queue a resource name is in (what RPC fault rules match), if any."""
    match = _QUEUE_PREFIX.match(resource) if resource else None
    return match.group(0) if match else None


def _queue_put(queue: QueueState) -> Put:
    return Put(Record(QUEUE_KIND, queue.name.full, queue.to_record()))


def _task_put(task: TaskState) -> Put:
    # The function, not its result: a memory store then holds the task once (see Record).
    return Put(Record(TASK_KIND, task.name.full, task.to_record))


def _tombstones(records: dict[str, Record], now: datetime) -> dict[str, datetime]:
    """Unexpired tombstones in expiry order (the order ``_tombstone`` relies on)."""
    live = [(r.expires, key) for key, r in records.items() if r.expires and r.expires > now]
    return {key: expiry for expiry, key in sorted(live)}


def _resolve_queue_config(queue: tasks_v2.Queue) -> tasks_v2.Queue:
    """The queue's settings, validated, with defaults filled in (T5, T6)."""
    config = tasks_v2.Queue(
        rate_limits=resolve_rate_limits(queue.rate_limits if "rate_limits" in queue else None),
        retry_config=retry_config(
            resolve_retry_policy(queue.retry_config if "retry_config" in queue else None)
        ),
    )
    for name in _CONFIG_FIELDS[2:]:
        if name in queue:
            setattr(config, name, getattr(queue, name))
    return config


def _parse_state_filter(text: str) -> tasks_v2.Queue.State | None:
    if not text.strip():
        return None
    match = _STATE_FILTER.fullmatch(text)
    if match is None or match.group(1).upper() not in tasks_v2.Queue.State.__members__:
        raise InvalidArgument(
            f"Unsupported ListQueues filter {text!r}: the emulator supports 'state: <STATE>'."
        )
    return tasks_v2.Queue.State[match.group(1).upper()]
