"""The Cloud Tasks v2 engine: queues and HTTP tasks over a clock and a dispatcher.

Each public RPC method takes the official client's request message and returns what the RPC
returns, raising the same ``google.api_core.exceptions`` the client raises, so a gRPC front door
maps RPC name to method one to one. ``next_due_time``/``dispatch_due`` let a driver (``LocalCloud``
or a server loop) deliver due tasks.
"""

from __future__ import annotations

import base64
import binascii
import heapq
import itertools
import logging
import re
import threading
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from zoneinfo import ZoneInfo

from google.api_core.exceptions import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    MethodNotImplemented,
    NotFound,
)
from google.cloud import tasks_v2
from google.protobuf import field_mask_pb2
from google.rpc import code_pb2, status_pb2

from emulator.clock import Clock
from emulator.cloud_tasks import headers as task_headers
from emulator.cloud_tasks.names import (
    QueueName,
    TaskName,
    new_task_id,
    parse_location,
    parse_queue_name,
    parse_task_name,
)
from emulator.cloud_tasks.retry import TASK_RETENTION, RetryPolicy, resolve_rate_limits, retry_after
from emulator.delivery import Delivery, DeliveryRecord, DeliveryResult, Dispatcher

logger = logging.getLogger(__name__)

IdTokenMinter = Callable[[str, str], str]
"""(service_account_email, audience) -> signed ID token (JWT)."""

DEFAULT_TASK_TOMBSTONE_TTL = timedelta(hours=1)
DEFAULT_QUEUE_TOMBSTONE_TTL = timedelta(days=3)
DEFAULT_DISPATCH_DEADLINE = timedelta(minutes=10)
MIN_DISPATCH_DEADLINE = timedelta(seconds=15)
MAX_DISPATCH_DEADLINE = timedelta(minutes=30)
MAX_SCHEDULE_AHEAD = timedelta(days=30)
MAX_URL_LENGTH = 2083
MAX_TASK_BYTES = 1_000_000
MAX_TASKS_PAGE_SIZE = 1000
MAX_QUEUES_PAGE_SIZE = 9800
HISTORY_LIMIT = 10_000
"""How many delivery records the engine keeps (oldest dropped first)."""

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

_BODY_METHODS = frozenset({"POST", "PUT", "PATCH"})
_PACIFIC = ZoneInfo("America/Los_Angeles")  # Google renders the too-far schedule time in it
_CONFIG_FIELDS = (
    "rate_limits",
    "retry_config",
    "http_target",
    "stackdriver_logging_config",
    "app_engine_routing_override",
)
_OUTPUT_ONLY_PATHS = frozenset({"name", "state", "purge_time", "rate_limits.max_burst_size"})
_STATE_FILTER = re.compile(r"\s*state\s*[:=]\s*([A-Za-z_]+)\s*")
_HTTP_TO_RPC = {
    400: code_pb2.INVALID_ARGUMENT,
    401: code_pb2.UNAUTHENTICATED,
    403: code_pb2.PERMISSION_DENIED,
    404: code_pb2.NOT_FOUND,
    409: code_pb2.ALREADY_EXISTS,
    429: code_pb2.RESOURCE_EXHAUSTED,
    499: code_pb2.CANCELLED,
    500: code_pb2.INTERNAL,
    501: code_pb2.UNIMPLEMENTED,
    503: code_pb2.UNAVAILABLE,
    504: code_pb2.DEADLINE_EXCEEDED,
}


@dataclass
class _Attempt:
    schedule_time: datetime
    dispatch_time: datetime
    response_time: datetime | None = None
    status: int | None = None  # HTTP status; None = no response (set once response_time is)


@dataclass(eq=False)
class _Task:
    name: TaskName
    url: str
    method: str
    headers: dict[str, str]
    body: bytes
    oidc_token: tasks_v2.OidcToken | None
    oauth_token: tasks_v2.OAuthToken | None
    retry_override: tasks_v2.RetryConfig | None
    create_time: datetime
    deadline: timedelta
    schedule_time: datetime
    seq: int = 0
    dispatch_count: int = 0
    response_count: int = 0
    execution_count: int = 0  # attempts that got a non-5xx response (T18)
    first_dispatch_time: datetime | None = None
    last_attempt: _Attempt | None = None
    in_flight: int = 0

    def to_proto(self, view: tasks_v2.Task.View) -> tasks_v2.Task:
        full = view == tasks_v2.Task.View.FULL
        http = tasks_v2.HttpRequest(
            url=self.url,
            http_method=tasks_v2.HttpMethod[self.method],
            headers=self.headers,
            body=self.body if full else b"",
        )
        if self.oidc_token is not None:
            http.oidc_token = self.oidc_token
        elif self.oauth_token is not None:
            http.oauth_token = self.oauth_token
        task = tasks_v2.Task(
            name=self.name.full,
            http_request=http,
            schedule_time=self.schedule_time,
            create_time=self.create_time,
            dispatch_deadline=self.deadline,
            dispatch_count=self.dispatch_count,
            response_count=self.response_count,
            view=tasks_v2.Task.View.FULL if full else tasks_v2.Task.View.BASIC,
        )
        if self.retry_override is not None:
            task.retry_config = self.retry_override
        if self.first_dispatch_time is not None:
            task.first_attempt = tasks_v2.Attempt(dispatch_time=self.first_dispatch_time)
        if self.last_attempt is not None:
            task.last_attempt = _attempt_proto(self.last_attempt)
        return task


@dataclass(eq=False)
class _Queue:
    name: QueueName
    config: tasks_v2.Queue  # resolved settings only; no name, state or purge_time
    state: tasks_v2.Queue.State = tasks_v2.Queue.State.RUNNING
    purge_time: datetime | None = None
    tasks: dict[str, _Task] = field(default_factory=dict)
    heap: list[tuple[datetime, int, str]] = field(default_factory=list)

    @property
    def retry_policy(self) -> RetryPolicy:
        return RetryPolicy.from_proto(self.config.retry_config)

    def to_proto(self) -> tasks_v2.Queue:
        queue = tasks_v2.Queue(self.config)
        queue.name = self.name.full
        queue.state = self.state
        if self.purge_time is not None:
            queue.purge_time = self.purge_time
        return queue

    def peek(self) -> tuple[datetime, int, str] | None:
        """The earliest dispatchable entry; drops stale ones (rescheduled, deleted, in flight)."""
        while self.heap:
            _, seq, task_id = self.heap[0]
            task = self.tasks.get(task_id)
            if task is not None and task.seq == seq and task.in_flight == 0:
                return self.heap[0]
            heapq.heappop(self.heap)
        return None


@dataclass(frozen=True)
class _Pending:
    """An attempt that has been started under the lock and must now be delivered and settled."""

    queue: _Queue
    task: _Task
    delivery: Delivery
    oidc: tuple[str, str] | None  # (service account, audience) to mint a token for
    dispatch_time: datetime
    retry_count: int
    run_task_time: datetime | None  # set for RunTask: a failure backs off from this time (T9)


class CloudTasksEngine:
    """An in-memory Cloud Tasks v2 service for HTTP tasks.

    State is guarded by a re-entrant lock that is never held while the dispatcher runs, so a
    handler may call back into the engine (e.g. ``create_task``) and many threads may call it.
    """

    def __init__(
        self,
        clock: Clock,
        dispatcher: Dispatcher,
        *,
        task_tombstone_ttl: timedelta = DEFAULT_TASK_TOMBSTONE_TTL,
        queue_tombstone_ttl: timedelta = DEFAULT_QUEUE_TOMBSTONE_TTL,
        id_token_minter: IdTokenMinter | None = None,
    ) -> None:
        self._clock = clock
        self._dispatcher = dispatcher
        self._task_tombstone_ttl = task_tombstone_ttl
        self._queue_tombstone_ttl = queue_tombstone_ttl
        self._id_token_minter = id_token_minter
        self._lock = threading.RLock()
        self._queues: dict[str, _Queue] = {}
        self._queue_tombstones: dict[str, datetime] = {}  # full name -> expiry, in expiry order
        self._task_tombstones: dict[str, datetime] = {}
        self._seq = itertools.count(1)
        self._last_seq = 0
        self._history: deque[DeliveryRecord] = deque(maxlen=HISTORY_LIMIT)

    # ----------------------------------------------------------------------------- queues

    def create_queue(self, request: tasks_v2.CreateQueueRequest) -> tasks_v2.Queue:
        """CreateQueue: ALREADY_EXISTS for a live name, FAILED_PRECONDITION if deleted recently."""
        parent = parse_location(request.parent)
        name = parse_queue_name(request.queue.name)
        if name.parent != parent:
            raise InvalidArgument(f"{request.queue.name} must begin with {request.parent}.")
        config = _resolve_queue_config(request.queue)
        with self._lock:
            if name.full in self._queues:
                raise AlreadyExists(QUEUE_EXISTS)
            if self._is_tombstoned(self._queue_tombstones, name.full):
                raise FailedPrecondition(QUEUE_TOO_RECENT)
            queue = self._queues[name.full] = _Queue(name, config)
            return queue.to_proto()

    def update_queue(self, request: tasks_v2.UpdateQueueRequest) -> tasks_v2.Queue:
        """UpdateQueue: change the fields in ``update_mask`` (all when empty); create if missing."""
        name = parse_queue_name(request.queue.name)
        paths = list(request.update_mask.paths) if "update_mask" in request else []
        with self._lock:
            queue = self._queues.get(name.full)
            if queue is None and self._is_tombstoned(self._queue_tombstones, name.full):
                raise FailedPrecondition(QUEUE_TOO_RECENT)
            current = queue.config if queue is not None else tasks_v2.Queue()
            config = _resolve_queue_config(_apply_update(current, request.queue, paths))
            if queue is None:
                queue = self._queues[name.full] = _Queue(name, config)
            else:
                queue.config = config
            return queue.to_proto()

    def get_queue(self, request: tasks_v2.GetQueueRequest) -> tasks_v2.Queue:
        """GetQueue."""
        with self._lock:
            return self._queue(request.name).to_proto()

    def list_queues(self, request: tasks_v2.ListQueuesRequest) -> tasks_v2.ListQueuesResponse:
        """ListQueues, ordered by name; supports the filter ``state: <STATE>``."""
        parent = parse_location(request.parent)
        wanted_state = _parse_state_filter(request.filter)
        page_size = _page_size(request.page_size, MAX_QUEUES_PAGE_SIZE)
        after = _decode_page_token(request.page_token)
        with self._lock:
            queues = sorted(
                (
                    q
                    for q in self._queues.values()
                    if q.name.parent == parent and (wanted_state is None or q.state == wanted_state)
                ),
                key=lambda q: q.name.full,
            )
            page, next_token = _paginate(queues, lambda q: q.name.full, after, page_size)
            return tasks_v2.ListQueuesResponse(
                queues=[q.to_proto() for q in page], next_page_token=next_token
            )

    def delete_queue(self, request: tasks_v2.DeleteQueueRequest) -> None:
        """DeleteQueue: remove the queue and its tasks; the name stays reserved a while (T35)."""
        name = parse_queue_name(request.name)
        with self._lock:
            if self._queues.pop(name.full, None) is None:
                raise NotFound(ENTITY_NOT_FOUND)
            self._tombstone(self._queue_tombstones, name.full, self._queue_tombstone_ttl)

    def pause_queue(self, request: tasks_v2.PauseQueueRequest) -> tasks_v2.Queue:
        """PauseQueue: tasks can still be added but are not dispatched (T33)."""
        return self._set_state(request.name, tasks_v2.Queue.State.PAUSED)

    def resume_queue(self, request: tasks_v2.ResumeQueueRequest) -> tasks_v2.Queue:
        """ResumeQueue: a PAUSED or DISABLED queue becomes RUNNING."""
        return self._set_state(request.name, tasks_v2.Queue.State.RUNNING)

    def disable_queue(self, name: str) -> tasks_v2.Queue:
        """Emulator control (no RPC): make a queue DISABLED, as Google does for queue.yaml (T33)."""
        return self._set_state(name, tasks_v2.Queue.State.DISABLED)

    def purge_queue(self, request: tasks_v2.PurgeQueueRequest) -> tasks_v2.Queue:
        """PurgeQueue: delete every task created before the call and set ``purge_time`` (T34)."""
        with self._lock:
            queue = self._queue(request.name)
            now = self._clock.now()
            for task in list(queue.tasks.values()):
                self._remove_task(queue, task, now)
            queue.heap.clear()
            queue.purge_time = now
            return queue.to_proto()

    # ------------------------------------------------------------------------------ tasks

    def create_task(self, request: tasks_v2.CreateTaskRequest) -> tasks_v2.Task:
        """CreateTask for an HTTP task (T11, T22, T24-T28, T7)."""
        queue_name = parse_queue_name(request.parent)
        spec = request.task
        task_name = parse_task_name(spec.name, in_queue=queue_name) if spec.name else None
        with self._lock:
            now = self._clock.now()
            fields = _validate_http_task(spec, now)
            queue = self._queues.get(queue_name.full)
            if queue is None:
                raise NotFound(QUEUE_NOT_FOUND)
            retry_override = None
            if "retry_config" in spec:
                RetryPolicy.from_proto(spec.retry_config, queue.retry_policy)  # validates (T7)
                retry_override = tasks_v2.RetryConfig(spec.retry_config)
            if task_name is None:
                task_name = self._unused_task_name(queue)
            elif task_name.task_id in queue.tasks or self._is_tombstoned(
                self._task_tombstones, task_name.full
            ):
                raise AlreadyExists(TASK_EXISTS)
            task = _Task(
                name=task_name,
                retry_override=retry_override,
                create_time=now.replace(microsecond=0),
                **fields,
            )
            queue.tasks[task_name.task_id] = task
            self._schedule(queue, task, task.schedule_time)
            return task.to_proto(request.response_view)

    def get_task(self, request: tasks_v2.GetTaskRequest) -> tasks_v2.Task:
        """GetTask; a finished or deleted task is NOT_FOUND with Google's message (T31)."""
        with self._lock:
            _, task = self._task(request.name)
            return task.to_proto(request.response_view)

    def list_tasks(self, request: tasks_v2.ListTasksRequest) -> tasks_v2.ListTasksResponse:
        """ListTasks, ordered by task id, at most 1000 per page (T32)."""
        page_size = _page_size(request.page_size, MAX_TASKS_PAGE_SIZE)
        after = _decode_page_token(request.page_token)
        with self._lock:
            queue = self._queue(request.parent)
            tasks = sorted(queue.tasks.values(), key=lambda t: t.name.task_id)
            page, next_token = _paginate(tasks, lambda t: t.name.task_id, after, page_size)
            return tasks_v2.ListTasksResponse(
                tasks=[t.to_proto(request.response_view) for t in page],
                next_page_token=next_token,
            )

    def delete_task(self, request: tasks_v2.DeleteTaskRequest) -> None:
        """DeleteTask; the name cannot be reused until its tombstone expires (T26)."""
        with self._lock:
            queue, task = self._task(request.name)
            self._remove_task(queue, task, self._clock.now())

    def run_task(self, request: tasks_v2.RunTaskRequest) -> tasks_v2.Task:
        """RunTask: dispatch now, even if the queue is paused or the task is running (T9).

        The delivery happens before this returns; the returned task is the state right after
        dispatch, before the response (as Google documents). Success deletes the task; failure
        reschedules it at the RunTask time plus the retry backoff.
        """
        with self._lock:
            queue, task = self._task(request.name)
            pending = self._start_attempt(queue, task, run_task=True)
            response = task.to_proto(request.response_view)
        self._deliver(pending)
        return response

    # ------------------------------------------------------------------------- scheduling

    def next_due_time(self) -> datetime | None:
        """The earliest schedule time among dispatchable tasks in RUNNING queues, if any."""
        with self._lock:
            tops = [top[0] for q in self._running_queues() if (top := q.peek()) is not None]
            return min(tops, default=None)

    def dispatch_due(self, limit: int | None = None) -> int:
        """Deliver, in schedule order and one at a time, every task due at the current time.

        Tasks that become due during the call (created by a handler, or retried with no backoff)
        are left for the next call. Returns how many deliveries were made (at most ``limit``).
        """
        with self._lock:
            now = self._clock.now()
            newest_seq = self._last_seq
        delivered = 0
        while limit is None or delivered < limit:
            with self._lock:
                due = self._earliest_due(now, newest_seq)
                if due is None:
                    break
                pending = self._start_attempt(*due, run_task=False)
            self._deliver(pending)
            delivered += 1
        return delivered

    @property
    def deliveries(self) -> list[DeliveryRecord]:
        """Recent delivery attempts, oldest first (the last ``HISTORY_LIMIT``)."""
        with self._lock:
            return list(self._history)

    # ------------------------------------------------------------------------- internals

    def _queue(self, name: str) -> _Queue:
        queue = self._queues.get(parse_queue_name(name).full)
        if queue is None:
            raise NotFound(QUEUE_NOT_FOUND)
        return queue

    def _task(self, name: str) -> tuple[_Queue, _Task]:
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
            return queue.to_proto()

    def _running_queues(self) -> list[_Queue]:
        return [q for q in self._queues.values() if q.state == tasks_v2.Queue.State.RUNNING]

    def _earliest_due(self, now: datetime, newest_seq: int) -> tuple[_Queue, _Task] | None:
        best: tuple[datetime, int, _Queue] | None = None
        for queue in self._running_queues():
            top = queue.peek()
            if top is None or top[0] > now or top[1] > newest_seq:
                continue
            if best is None or top[:2] < best[:2]:
                best = (top[0], top[1], queue)
        if best is None:
            return None
        queue = best[2]
        return queue, queue.tasks[queue.heap[0][2]]

    def _schedule(self, queue: _Queue, task: _Task, when: datetime) -> None:
        task.schedule_time = when
        task.seq = self._last_seq = next(self._seq)
        heapq.heappush(queue.heap, (when, task.seq, task.name.task_id))

    def _remove_task(self, queue: _Queue, task: _Task, now: datetime) -> None:
        del queue.tasks[task.name.task_id]
        self._tombstone(self._task_tombstones, task.name.full, self._task_tombstone_ttl, now)

    def _unused_task_name(self, queue: _Queue) -> TaskName:
        while True:
            name = TaskName(queue.name, new_task_id())
            if name.task_id not in queue.tasks and name.full not in self._task_tombstones:
                return name

    def _tombstone(
        self,
        tombstones: dict[str, datetime],
        name: str,
        ttl: timedelta,
        now: datetime | None = None,
    ) -> None:
        now = now or self._clock.now()
        tombstones.pop(name, None)
        tombstones[name] = now + ttl
        # Expiries are appended in time order, so expired ones are at the front.
        while tombstones:
            oldest, expiry = next(iter(tombstones.items()))
            if expiry > now:
                break
            del tombstones[oldest]

    def _is_tombstoned(self, tombstones: dict[str, datetime], name: str) -> bool:
        expiry = tombstones.get(name)
        if expiry is None:
            return False
        if expiry <= self._clock.now():
            del tombstones[name]
            return False
        return True

    def _start_attempt(self, queue: _Queue, task: _Task, *, run_task: bool) -> _Pending:
        """Record the dispatch of an attempt and build its request (under the lock)."""
        now = self._clock.now()
        retry_count = task.dispatch_count
        previous = None
        if retry_count and task.last_attempt is not None:
            previous = task.last_attempt.status or task_headers.TIMEOUT_STATUS
        headers = task_headers.attempt_headers(
            task.headers,
            queue_id=queue.name.queue_id,
            task_id=task.name.task_id,
            retry_count=retry_count,
            execution_count=task.execution_count,
            schedule_time=task.schedule_time,
            previous_response=previous,
        )
        task.dispatch_count += 1
        task.in_flight += 1
        if task.first_dispatch_time is None:
            task.first_dispatch_time = now
        task.last_attempt = _Attempt(schedule_time=task.schedule_time, dispatch_time=now)
        oidc = None
        if task.oidc_token is not None:
            oidc = (task.oidc_token.service_account_email, task.oidc_token.audience or task.url)
        delivery = Delivery(
            url=task.url,
            http_method=task.method,
            headers=headers,
            body=task.body,
            deadline=task.deadline,
            queue_id=queue.name.queue_id,
            task_id=task.name.task_id,
        )
        return _Pending(queue, task, delivery, oidc, now, retry_count, now if run_task else None)

    def _deliver(self, pending: _Pending) -> None:
        """Call the dispatcher (without the lock), then settle the attempt."""
        delivery = pending.delivery
        try:
            if pending.oidc is not None and self._id_token_minter is not None:
                token = self._id_token_minter(*pending.oidc)
                delivery = replace(
                    delivery, headers={**delivery.headers, "Authorization": f"Bearer {token}"}
                )
            result = self._dispatcher(delivery)
        except Exception:
            logger.exception(
                "Dispatching task %s of queue %s failed; counting it as no response.",
                delivery.task_id,
                delivery.queue_id,
            )
            result = DeliveryResult(status=None)
        with self._lock:
            self._settle(pending, result)

    def _settle(self, pending: _Pending, result: DeliveryResult) -> None:
        """Apply an attempt's outcome: delete on 2xx, give up, or schedule a retry (T2, T4, T10)."""
        queue, task = pending.queue, pending.task
        status = result.status
        if result.elapsed > pending.delivery.deadline:
            status = None  # a timeout (T11): the response, if any, came too late
            response_time = pending.dispatch_time + pending.delivery.deadline
        else:
            response_time = pending.dispatch_time + max(result.elapsed, timedelta(0))
        self._history.append(
            DeliveryRecord(
                queue_id=queue.name.queue_id,
                task_id=task.name.task_id,
                dispatch_time=pending.dispatch_time,
                response_status=status,
                retry_count=pending.retry_count,
            )
        )
        task.in_flight -= 1
        if (
            self._queues.get(queue.name.full) is not queue
            or queue.tasks.get(task.name.task_id) is not task
        ):
            return  # deleted or purged while the request was in flight
        if (
            task.last_attempt is not None
            and task.last_attempt.dispatch_time == pending.dispatch_time
        ):
            task.last_attempt.response_time = response_time
            task.last_attempt.status = status
        if status is not None:
            task.response_count += 1
            if not 500 <= status <= 599:
                task.execution_count += 1
            if 200 <= status <= 299:
                self._remove_task(queue, task, response_time)
                return
        policy = RetryPolicy.from_proto(task.retry_override, queue.retry_policy)
        first = task.first_dispatch_time or pending.dispatch_time
        if (
            policy.is_exhausted(task.dispatch_count, first, response_time)
            or response_time - task.create_time >= TASK_RETENTION
        ):
            self._remove_task(queue, task, response_time)
            return
        failed_at = pending.run_task_time or response_time
        next_time = failed_at + policy.delay_before_retry(task.dispatch_count)
        if status in (HTTPStatus.TOO_MANY_REQUESTS, HTTPStatus.SERVICE_UNAVAILABLE):
            asked = retry_after(result.headers, response_time)
            if asked is not None:
                next_time = max(next_time, response_time + asked)
        self._schedule(queue, task, next_time)


def _validate_http_task(spec: tasks_v2.Task, now: datetime) -> dict:
    """Check an HTTP task's fields; return them ready for ``_Task`` (T11, T22, T27, T28)."""
    if "app_engine_http_request" in spec:
        raise MethodNotImplemented("App Engine tasks are not supported by the emulator.")
    http = spec.http_request
    if not http.url:
        raise InvalidArgument("HttpRequest.url is required.")
    if not http.url.startswith(("http://", "https://")):
        raise InvalidArgument("HttpTarget.url must start with 'http://' or 'https://'.")
    if len(http.url) > MAX_URL_LENGTH:
        raise InvalidArgument(f"HttpRequest.url must be at most {MAX_URL_LENGTH} characters long.")
    method = tasks_v2.HttpMethod(http.http_method).name
    if method == "HTTP_METHOD_UNSPECIFIED":
        method = "POST"
    if http.body and method not in _BODY_METHODS:
        raise InvalidArgument(
            f"HttpRequest.body is allowed only for POST, PUT and PATCH requests, not {method}."
        )
    headers = task_headers.task_headers(http.headers)
    if task_headers.headers_size(headers) >= task_headers.MAX_HEADERS_BYTES:
        raise InvalidArgument("HttpRequest.headers must be smaller than 80KB in total.")
    deadline = DEFAULT_DISPATCH_DEADLINE
    if "dispatch_deadline" in spec and spec.dispatch_deadline != timedelta(0):
        deadline = spec.dispatch_deadline
        if not MIN_DISPATCH_DEADLINE <= deadline <= MAX_DISPATCH_DEADLINE:
            raise InvalidArgument("Task.dispatchDeadline must be between [15s, 30m].")
    schedule_time = now
    if "schedule_time" in spec:
        requested = spec.schedule_time.astimezone(UTC)
        if requested - now > MAX_SCHEDULE_AHEAD:
            shown = requested.astimezone(_PACIFIC).isoformat(timespec="seconds")
            raise InvalidArgument(
                f"The Task.scheduleTime, {shown}, is too far in the future. Schedule time must be "
                "no more than 720h in the future."
            )
        schedule_time = max(now, requested)
    if tasks_v2.Task.pb(spec).ByteSize() > MAX_TASK_BYTES:
        raise InvalidArgument("Task size too large")
    return {
        "url": http.url,
        "method": method,
        "headers": headers,
        "body": http.body,
        "oidc_token": tasks_v2.OidcToken(http.oidc_token) if "oidc_token" in http else None,
        "oauth_token": tasks_v2.OAuthToken(http.oauth_token) if "oauth_token" in http else None,
        "deadline": deadline,
        "schedule_time": schedule_time,
    }


def _resolve_queue_config(queue: tasks_v2.Queue) -> tasks_v2.Queue:
    """The queue's settings, validated, with defaults filled in (T5, T6)."""
    config = tasks_v2.Queue(
        rate_limits=resolve_rate_limits(queue.rate_limits if "rate_limits" in queue else None),
        retry_config=RetryPolicy.from_proto(
            queue.retry_config if "retry_config" in queue else None
        ).to_proto(),
    )
    for name in _CONFIG_FIELDS[2:]:
        if name in queue:
            setattr(config, name, getattr(queue, name))
    return config


def _apply_update(
    current: tasks_v2.Queue, update: tasks_v2.Queue, paths: list[str]
) -> tasks_v2.Queue:
    """Merge ``update`` into ``current`` following an UpdateQueue field mask (T36)."""
    if not paths:
        merged = tasks_v2.Queue()
        for name in _CONFIG_FIELDS:
            if name in update:
                setattr(merged, name, getattr(update, name))
        return merged
    mask = field_mask_pb2.FieldMask(paths=[p for p in paths if p not in _OUTPUT_ONLY_PATHS])
    if not mask.IsValidForDescriptor(tasks_v2.Queue.pb().DESCRIPTOR):
        raise InvalidArgument(f"Invalid update_mask paths: {', '.join(paths)}.")
    merged_pb = tasks_v2.Queue.pb(tasks_v2.Queue(current))
    mask.MergeMessage(
        tasks_v2.Queue.pb(update),
        merged_pb,
        replace_message_field=True,
        replace_repeated_field=True,
    )
    return tasks_v2.Queue.wrap(merged_pb)


def _attempt_proto(attempt: _Attempt) -> tasks_v2.Attempt:
    proto = tasks_v2.Attempt(
        schedule_time=attempt.schedule_time, dispatch_time=attempt.dispatch_time
    )
    if attempt.response_time is not None:
        proto.response_time = attempt.response_time
        proto.response_status = _response_status(attempt.status)
    return proto


def _response_status(http_status: int | None) -> status_pb2.Status:
    """An attempt's HTTP outcome as a google.rpc.Status (no response = DEADLINE_EXCEEDED)."""
    if http_status is None:
        return status_pb2.Status(code=code_pb2.DEADLINE_EXCEEDED, message="Deadline exceeded")
    if 200 <= http_status <= 299:
        code = code_pb2.OK
    else:
        code = _HTTP_TO_RPC.get(http_status, code_pb2.UNKNOWN)
    try:
        phrase = HTTPStatus(http_status).phrase
    except ValueError:
        phrase = f"HTTP {http_status}"
    return status_pb2.Status(code=code, message=phrase)


def _parse_state_filter(text: str) -> tasks_v2.Queue.State | None:
    if not text.strip():
        return None
    match = _STATE_FILTER.fullmatch(text)
    if match is None or match.group(1).upper() not in tasks_v2.Queue.State.__members__:
        raise InvalidArgument(
            f"Unsupported ListQueues filter {text!r}: the emulator supports 'state: <STATE>'."
        )
    return tasks_v2.Queue.State[match.group(1).upper()]


def _page_size(requested: int, maximum: int) -> int:
    if requested < 0:
        raise InvalidArgument("page_size must not be negative.")
    return min(requested or maximum, maximum)


def _decode_page_token(token: str) -> str | None:
    if not token:
        return None
    try:
        return base64.urlsafe_b64decode(token.encode()).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise InvalidArgument("Invalid page_token.") from None


def _paginate[T](
    items: list[T], key: Callable[[T], str], after: str | None, page_size: int
) -> tuple[list[T], str]:
    """One page of ``items`` (sorted by ``key``) after the key ``after``, and the next token."""
    if after is not None:
        items = [item for item in items if key(item) > after]
    page = items[:page_size]
    if len(items) <= page_size:
        return page, ""
    return page, base64.urlsafe_b64encode(key(page[-1]).encode()).decode()
