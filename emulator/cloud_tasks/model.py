"""The Cloud Tasks engine's working state (queues, tasks, attempts) and its stored records.

Each object converts to the API message the RPCs return (``to_proto``) and to the JSON-able record
the store keeps (``to_record``/``from_record``), so a restart rebuilds exactly what was there.
"""

from __future__ import annotations

import base64
import copy
import heapq
import json
import sys
from collections.abc import Hashable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import proto
from google.cloud import tasks_v2

from emulator.cloud_tasks.headers import TIMEOUT_STATUS, attempt_headers
from emulator.cloud_tasks.names import QueueName, TaskName, parse_queue_name, parse_task_name
from emulator.cloud_tasks.rate import TokenBucket
from emulator.cloud_tasks.retry import resolve_retry_policy
from emulator.kit.delivery import response_status
from emulator.kit.records import Field, RecordCodec, Stored, full_name, nested
from emulator.kit.retry import RetryPolicy

QUEUE_KIND = "cloudtasks.queue"
TASK_KIND = "cloudtasks.task"
QUEUE_TOMBSTONE_KIND = "cloudtasks.queue_tombstone"
TASK_TOMBSTONE_KIND = "cloudtasks.task_tombstone"

ATTEMPT_HISTORY_LIMIT = 100
"""How many attempts a task remembers (for the control API); the oldest are dropped first."""

SHARED_VALUES_LIMIT = 4096
"""How many distinct values ``shared`` remembers; past it, it forgets them all and starts over."""


@dataclass
class Attempt(Stored):
    """One dispatch of a task and, once it ended, its outcome."""

    schedule_time: datetime
    dispatch_time: datetime
    response_time: datetime | None = None
    status: int | None = None  # HTTP status; None = no response (once response_time is set)

    def to_proto(self) -> tasks_v2.Attempt:
        proto = tasks_v2.Attempt(schedule_time=self.schedule_time, dispatch_time=self.dispatch_time)
        if self.response_time is not None:
            proto.response_time = self.response_time
            proto.response_status = response_status(self.status)
        return proto


@dataclass(eq=False, slots=True)
class TaskState(Stored):
    """An HTTP task waiting in a queue, with its counters and recent attempts.

    A backlog holds many of these, so each is kept small: slots, no attempts list until the
    first attempt, and values equal across tasks (URL, headers, tokens, times, deadline) held
    once (``shared``). The shared ones are never modified in place: a change replaces them.
    """

    name: TaskName
    url: str
    method: str
    headers: Mapping[str, str]
    body: bytes
    oidc_token: tasks_v2.OidcToken | None
    oauth_token: tasks_v2.OAuthToken | None
    retry_override: tasks_v2.RetryConfig | None
    create_time: datetime
    deadline: timedelta
    schedule_time: datetime
    seq: int = 0  # position in the queue's heap; a stale heap entry has another seq
    dispatch_count: int = 0
    response_count: int = 0
    execution_count: int = 0  # attempts that got a non-5xx response (T18)
    first_dispatch_time: datetime | None = None
    attempts: list[Attempt] | tuple[()] = ()  # a list from the first attempt on
    in_flight: int = 0

    def __post_init__(self) -> None:
        self.url = sys.intern(self.url)
        self.headers = shared(self.headers)
        self.oidc_token = shared(self.oidc_token)
        self.oauth_token = shared(self.oauth_token)
        self.retry_override = shared(self.retry_override)
        self.create_time = shared(self.create_time)
        self.deadline = shared(self.deadline)
        self.schedule_time = shared(self.schedule_time)

    @property
    def last_attempt(self) -> Attempt | None:
        """The latest attempt, if any."""
        return self.attempts[-1] if self.attempts else None

    def next_headers(self, authorization: str | None = None) -> dict[str, str]:
        """The headers of the task's next attempt (T15): its own plus Cloud Tasks' (the retry
        count and the previous response among them); ``authorization`` is added if given."""
        previous = None
        if self.dispatch_count and self.last_attempt is not None:
            previous = self.last_attempt.status or TIMEOUT_STATUS
        return attempt_headers(
            self.headers,
            queue_id=self.name.queue.queue_id,
            task_id=self.name.task_id,
            retry_count=self.dispatch_count,
            execution_count=self.execution_count,
            schedule_time=self.schedule_time,
            previous_response=previous,
            authorization=authorization,
        )

    @property
    def oidc_target(self) -> tuple[str, str] | None:
        """(service account, audience) of the token each attempt carries, if it has one."""
        token = self.oidc_token
        if token is None:
            return None
        return token.service_account_email, token.audience or self.url

    def add_attempt(self, attempt: Attempt) -> None:
        """Remember a new attempt, forgetting the oldest past ``ATTEMPT_HISTORY_LIMIT``."""
        if not isinstance(self.attempts, list):
            self.attempts = []
        self.attempts.append(attempt)
        if len(self.attempts) > ATTEMPT_HISTORY_LIMIT:
            del self.attempts[: len(self.attempts) - ATTEMPT_HISTORY_LIMIT]

    def snapshot(self) -> TaskState:
        """A copy that later attempts and settlements do not reach (its attempts copied)."""
        copied = copy.copy(self)
        copied.attempts = [copy.copy(a) for a in self.attempts] if self.attempts else ()
        return copied

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
            task.last_attempt = self.last_attempt.to_proto()
        return task


@dataclass(eq=False)
class QueueState(Stored):
    """A queue: its resolved settings, state, tasks, and dispatch bookkeeping."""

    name: QueueName
    config: tasks_v2.Queue  # resolved settings only; no name, state or purge_time
    state: tasks_v2.Queue.State = tasks_v2.Queue.State.RUNNING
    purge_time: datetime | None = None
    tasks: dict[str, TaskState] = field(default_factory=dict)
    heap: list[tuple[datetime, int, str]] = field(default_factory=list)
    in_flight: int = 0
    bucket: TokenBucket = field(init=False)
    max_concurrent: int = field(init=False)  # read on every dispatch: kept out of the proto

    def __post_init__(self) -> None:
        limits = self.config.rate_limits
        self.bucket = TokenBucket(limits.max_dispatches_per_second, limits.max_burst_size)
        self.max_concurrent = limits.max_concurrent_dispatches

    @property
    def retry_policy(self) -> RetryPolicy:
        return resolve_retry_policy(self.config.retry_config)

    def reconfigure(self, config: tasks_v2.Queue, now: datetime) -> None:
        """Apply new settings; the token bucket keeps the tokens it holds (T8)."""
        self.config = config
        limits = config.rate_limits
        self.bucket.reconfigure(limits.max_dispatches_per_second, limits.max_burst_size, now)
        self.max_concurrent = limits.max_concurrent_dispatches

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

    def snapshot(self, now: datetime) -> QueueSnapshot:
        """The queue as it stands at ``now``: settings, counters and when it next dispatches."""
        next_time = None
        top = self.peek()
        if top is not None and self.state == tasks_v2.Queue.State.RUNNING:
            available = self.bucket.available_at()
            next_time = top[0] if available is None else max(top[0], available)
        return QueueSnapshot(
            name=self.name,
            config=self.config,
            state=self.state,
            purge_time=self.purge_time,
            depth=len(self.tasks),
            in_flight=self.in_flight,
            tokens=self.bucket.tokens(now),
            next_dispatch_time=next_time,
        )


@dataclass(frozen=True)
class QueueSnapshot:
    """A queue as it stood when read (under the engine's lock), without its tasks.

    ``config`` is shared with the queue: a change of settings replaces it, never edits it.
    """

    name: QueueName
    config: tasks_v2.Queue
    state: tasks_v2.Queue.State
    purge_time: datetime | None
    depth: int  # the queue's tasks
    in_flight: int
    tokens: float  # held by the token bucket (fractional while refilling)
    next_dispatch_time: datetime | None  # None when no task waits, or the queue is not running

    @property
    def retry_policy(self) -> RetryPolicy:
        return resolve_retry_policy(self.config.retry_config)


class _SharedValues:
    """Equal values of many tasks, held once: the first one seen stands for the later ones.

    Bounded by ``SHARED_VALUES_LIMIT``: when full it starts over (tasks keep the values they
    hold; only tasks created later stop sharing with them), so unique values cannot pile up.
    """

    def __init__(self, limit: int) -> None:
        self._limit = limit
        self._values: dict[Hashable, Any] = {}

    def get[V](self, key: Hashable, value: V) -> V:
        """The value held for ``key``, ``value`` itself (now held) the first time."""
        held = self._values.get(key)
        if held is None:
            if len(self._values) >= self._limit:
                self._values.clear()
            self._values[key] = held = value
        return held


_SHARED = _SharedValues(SHARED_VALUES_LIMIT)


def shared[V](value: V) -> V:
    """An equal value already held by another task, or ``value`` (None stays None).

    For values no one modifies in place: dicts (headers), protobuf messages, times, durations.
    """
    key: Hashable
    if value is None:
        return value
    if isinstance(value, dict):
        key = (dict, tuple(value.items()))
    elif isinstance(value, proto.Message):
        key = (type(value), type(value).serialize(value))
    elif isinstance(value, datetime):
        key = (type(value), value.tzinfo, value)  # equal instants in other zones stay apart
    else:
        key = (type(value), value)
    return _SHARED.get(key, value)


def _message(cls: type[proto.Message], key: str | None = None) -> Field:
    """A protobuf message field (or None), stored as its JSON mapping."""

    def write(message: proto.Message | None) -> dict[str, Any] | None:
        return None if message is None else json.loads(cls.to_json(message))

    def read(data: dict[str, Any] | None) -> proto.Message | None:
        return None if data is None else cls.from_json(json.dumps(data))

    return Field(write, read, key)


Attempt.RECORD = RecordCodec(Attempt)
_ATTEMPTS = nested(Attempt.RECORD)

TaskState.RECORD = RecordCodec(
    TaskState,
    skip=("seq", "in_flight"),
    special={
        "name": full_name(parse_task_name),
        "headers": Field(write=dict, read=dict),
        "body": Field(write=lambda body: base64.b64encode(body).decode(), read=base64.b64decode),
        "oidc_token": _message(tasks_v2.OidcToken),
        "oauth_token": _message(tasks_v2.OAuthToken),
        "retry_override": _message(tasks_v2.RetryConfig, key="retry_config"),
        "deadline": Field(
            write=lambda deadline: deadline // timedelta(microseconds=1),
            read=lambda us: timedelta(microseconds=us),
            key="dispatch_deadline_us",
        ),
        "attempts": Field(_ATTEMPTS.write, lambda records: _ATTEMPTS.read(records) or ()),
    },
)

QueueState.RECORD = RecordCodec(
    QueueState,
    skip=("tasks", "heap", "in_flight"),
    special={
        "name": full_name(parse_queue_name),
        "config": _message(tasks_v2.Queue),
    },
)
