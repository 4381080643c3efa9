"""What every tasks_google backend shares: executions stored as rows, remote work on commit.

A subclass says which OPTIONS it takes (`kind`), what remote step starts an execution
(`start_remote`), how it is stopped, and when the service stops retrying.
"""

import logging
from abc import abstractmethod
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import router

from tasks_google import clock
from tasks_google.backends.remote_starts import start_on_commit
from tasks_google.config.options import (
    CLOUD_TASKS,
    BackendKind,
    BackendOptions,
    Problem,
    parse_options,
)
from tasks_google.config.targets import Target, TargetKind, resolve_target
from tasks_google.framework import (
    BaseTaskBackend,
    InvalidTask,
    TaskResult,
    TaskResultStatus,
    task_enqueued,
)
from tasks_google.observability import tracing
from tasks_google.task import Task
from tasks_google.transports import RemoteStep, Transport, get_transport

logger = logging.getLogger(__name__)


def task_timeout(row: Any, task: Task | None) -> timedelta | None:
    """The `timeout` of an execution's task (None if unset or the task cannot be loaded)."""
    if task is None:
        from tasks_google.executions import load_task

        try:
            task = load_task(row.task_path)
        except Exception:
            return None
    return getattr(task, "timeout", None)


class StoredExecutionBackend(BaseTaskBackend):
    """Base of the tasks_google backends (not usable on its own)."""

    task_class = Task
    supports_async_task = True
    supports_get_result = True
    # Neither Cloud Tasks nor Run Jobs has priorities: a priority would have no effect.
    supports_priority = False
    #: Whether a running attempt can be stopped (`cancel_task(..., force=True)`).
    supports_forced_cancel = False
    kind: BackendKind = CLOUD_TASKS
    #: Inclusive range of `Task.timeout` on this platform.
    timeout_range: tuple[timedelta, timedelta] = (timedelta(0), timedelta.max)
    platform = ""

    # No I/O here: backends are built when a module defining tasks is imported.

    @cached_property
    def _parsed(self) -> tuple[BackendOptions | None, list[Problem]]:
        return parse_options(self.alias, self.options, self.queues, self.kind)

    @property
    def config(self) -> BackendOptions:
        """The validated OPTIONS; ImproperlyConfigured naming every problem if they are invalid."""
        config, problems = self._parsed
        if config is None:
            raise ImproperlyConfigured(" ".join(p.msg for p in problems))
        return config

    @property
    def target(self) -> Target:
        """Which cloud this backend talks to now (an `emulated()` block included)."""
        return resolve_target(self.config)

    @property
    def transport(self) -> Transport:
        return get_transport(self.alias, self.target)

    def check(self, **kwargs: Any) -> list[checks.CheckMessage]:
        messages: list[checks.CheckMessage] = [
            checks.Error(p.msg, hint=p.hint, id=p.id) for p in self._parsed[1]
        ]
        config = self._parsed[0]
        if config is not None:
            messages.extend(self._safety_checks(config))
        if not apps.is_installed("tasks_google"):
            messages.append(
                checks.Error(
                    f"TASKS[{self.alias!r}] uses {type(self).__name__}, but 'tasks_google' is not "
                    "in INSTALLED_APPS.",
                    id="tasks_google.E011",
                )
            )
        return messages

    def _safety_checks(self, config: BackendOptions) -> list[checks.CheckMessage]:
        found: list[checks.CheckMessage] = []
        # The settings are judged, not an emulator a test switched on.
        target = resolve_target(config, at_run_time=False)
        problem = target.demo_project_problem(self.alias)
        if problem is not None:
            # A warning, so manage.py commands still run; the transport refuses to send it.
            found.append(checks.Warning(problem.msg, hint=problem.hint, id=problem.id))
        if target.kind is TargetKind.EMULATOR and not settings.DEBUG:
            found.append(
                checks.Warning(
                    f"TASKS[{self.alias!r}] talks to the emulator at {target.emulator_host} "
                    "while DEBUG is False.",
                    hint=f"In production, unset {target.emulator_host_env} and "
                    "OPTIONS['emulator_host'].",
                    id="tasks_google.W001",
                )
            )
        return found

    def validate_task(self, task: Task) -> None:
        try:
            super().validate_task(task)
        except InvalidTask as exc:
            # Django checks the queue last, with a message that lists no allowed queue.
            if str(exc).startswith("Queue ") and task.queue_name not in self.queues:
                allowed = ", ".join(repr(q) for q in sorted(self.queues))
                raise InvalidTask(
                    f"Queue {task.queue_name!r} is not valid for backend. "
                    f"TASKS[{self.alias!r}]['QUEUES'] allows {allowed}."
                ) from exc
            raise
        timeout = getattr(task, "timeout", None)
        if timeout is None:
            return
        low, high = self.timeout_range
        if not isinstance(timeout, timedelta) or not low <= timeout <= high:
            raise InvalidTask(
                f"timeout must be a timedelta from {low} to {high} on {self.platform} "
                f"(got {timeout!r})."
            )

    def enqueue(self, task: Task, args: Any, kwargs: Any) -> TaskResult:
        from tasks_google.executions import arguments_as_json, to_result
        from tasks_google.models import TaskExecution

        self.validate_task(task)
        # What the worker will see: the returned result carries exactly the same values.
        args, kwargs = arguments_as_json(task.module_path, args, kwargs)
        # Resolved before storing anything, so invalid OPTIONS fail the enqueue cleanly.
        transport = self.transport
        with tracing.enqueue_span(task.module_path, task.queue_name, self.alias) as span:
            trace = span.propagation()  # stored by the same INSERT: the attempts continue it
            row = TaskExecution.objects.create(
                task_path=task.module_path,
                args=args,
                kwargs=kwargs,
                backend=self.alias,
                queue=task.queue_name,
                priority=task.priority,
                run_after=clock.for_django(task.run_after) if task.run_after else None,
                status=TaskResultStatus.READY,
                enqueued_at=clock.now(),
                trace_parent=trace.get(tracing.TRACEPARENT_HEADER, ""),
                trace_state=trace.get(tracing.TRACESTATE_HEADER, ""),
            )
            span.set("execution_id", row.pk)
            step = self.start_remote(transport, row, task)
            start_on_commit(step, router.db_for_write(TaskExecution))
            result = to_result(row, task)
            task_enqueued.send(type(self), task_result=result)
        return result

    @abstractmethod
    def start_remote(self, transport: Transport, row: Any, task: Task) -> RemoteStep:
        """The on-commit step that makes the service run `row`."""

    def get_result(self, result_id: str) -> TaskResult:
        from tasks_google.executions import get_execution, to_result

        return to_result(get_execution(result_id, self.alias))

    @abstractmethod
    def service_gives_up(self, row: Any, attempts_made: int, now: datetime) -> bool:
        """Whether the service stops retrying `row` once `attempts_made` attempts failed."""


def configured_backends(kind: BackendKind | None = None) -> list[StoredExecutionBackend]:
    """The tasks_google backends in TASKS whose OPTIONS are valid (of one kind, if given).

    An alias that cannot even be built (an unknown BACKEND path, parameters its class refuses)
    is left out like one with invalid OPTIONS: one broken alias never takes the others down.
    `manage.py check` fails on either.
    """
    from tasks_google.framework import task_backends

    found = []
    for alias in task_backends:
        try:
            backend = task_backends[alias]
        except Exception:
            continue
        if (
            isinstance(backend, StoredExecutionBackend)
            and backend._parsed[0] is not None
            and (kind is None or backend.kind is kind)
        ):
            found.append(backend)
    return found
