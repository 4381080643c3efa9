"""`CloudTasksBackend`: each enqueue becomes a row and, on commit, a Cloud Task."""

import json
import logging
from datetime import datetime, timedelta
from functools import cached_property
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.db import router, transaction
from django.tasks import Task, TaskResult, TaskResultStatus
from django.tasks.backends.base import BaseTaskBackend
from django.tasks.exceptions import InvalidTask
from django.tasks.signals import task_enqueued

from tasks_google import clock
from tasks_google.options import BackendOptions, Problem, demo_project_problem, parse_options
from tasks_google.transports import CloudTaskSpec, RemoteStep, Transport, get_transport

logger = logging.getLogger(__name__)

#: Cloud Tasks refuses a schedule_time further ahead than this.
MAX_SCHEDULE_AHEAD = timedelta(days=30)


class CloudTasksBackend(BaseTaskBackend):
    """Runs each task as an HTTP request that Cloud Tasks delivers to `tasks_google.urls`."""

    supports_defer = True
    supports_async_task = True
    supports_get_result = True
    # Cloud Tasks has no priorities: a priority would have no effect, so it is refused.
    supports_priority = False

    # No I/O here: backends are built when a module defining tasks is imported.

    @cached_property
    def _parsed(self) -> tuple[BackendOptions | None, list[Problem]]:
        return parse_options(self.alias, self.options, self.queues)

    @property
    def config(self) -> BackendOptions:
        """The validated OPTIONS; ImproperlyConfigured naming every problem if they are invalid."""
        config, problems = self._parsed
        if config is None:
            raise ImproperlyConfigured(" ".join(p.msg for p in problems))
        return config

    @property
    def transport(self) -> Transport:
        return get_transport(self.config)

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
        problem = demo_project_problem(config)
        if problem is not None:
            # A warning, so manage.py commands still run; the transport refuses to send it.
            found.append(checks.Warning(problem.msg, hint=problem.hint, id=problem.id))
        if config.emulator_host and not settings.DEBUG and config.transport == "gcp":
            found.append(
                checks.Warning(
                    f"TASKS[{self.alias!r}] sends Cloud Tasks to the emulator at "
                    f"{config.emulator_host} while DEBUG is False.",
                    hint="In production, unset CLOUD_TASKS_EMULATOR_HOST and "
                    "OPTIONS['emulator_host'].",
                    id="tasks_google.W001",
                )
            )
        if not config.oidc_verify:
            found.append(
                checks.Warning(
                    f"TASKS[{self.alias!r}] has 'oidc_verify': False: execute/ runs tasks for "
                    "requests from anyone who can reach it.",
                    hint="Only for local experiments; set oidc_service_account instead.",
                    id="tasks_google.W002",
                )
            )
        return found

    def validate_task(self, task: Task) -> None:
        super().validate_task(task)
        run_after = task.run_after
        aware = run_after is not None and run_after.tzinfo is not None
        if aware and run_after > clock.now() + MAX_SCHEDULE_AHEAD:
            raise InvalidTask(
                "run_after must be at most 30 days in the future "
                "(the furthest Cloud Tasks schedules a task)."
            )

    def enqueue(self, task: Task, args: Any, kwargs: Any) -> TaskResult:
        from tasks_google.executions import as_json, to_result
        from tasks_google.models import TaskExecution

        self.validate_task(task)
        # What the worker will see: the returned result carries exactly the same values.
        args, kwargs = as_json(args), as_json(kwargs)
        # Resolved before storing anything, so invalid OPTIONS fail the enqueue cleanly.
        transport = self.transport
        row = TaskExecution.objects.create(
            task_path=task.module_path,
            args=args,
            kwargs=kwargs,
            backend=self.alias,
            queue=task.queue_name,
            priority=task.priority,
            run_after=task.run_after,
            status=TaskResultStatus.READY,
            enqueued_at=clock.now(),
        )
        transaction.on_commit(
            CreateRemoteTask(transport, self.cloud_task_spec(row), row.id),
            using=router.db_for_write(TaskExecution),
        )
        result = to_result(row, task)
        task_enqueued.send(type(self), task_result=result)
        return result

    def cloud_task_spec(self, row: Any) -> CloudTaskSpec:
        """The Cloud Task that delivers an execution (its name derives from the execution id)."""
        config = self.config
        return CloudTaskSpec(
            queue_path=config.queue_path(row.queue),
            task_id=row.pk,
            url=config.execute_url,
            body=json.dumps({"execution_id": row.pk}).encode(),
            headers={"Content-Type": "application/json"},
            schedule_time=row.run_after,
            oidc_service_account=config.oidc_service_account,
            oidc_audience=config.audience,
        )

    def recreate_remote(self, row: Any) -> str:
        """Create the Cloud Task of a READY execution that has none; return its name."""
        return self.transport.create_task(self.cloud_task_spec(row))

    def cancel_remote(self, row: Any) -> None:
        """Delete the pending Cloud Task of an execution cancelled before it started."""
        self.transport.delete_task(row.remote_name or self.cloud_task_spec(row).task_name)

    def service_gives_up(self, row: Any, attempts_made: int, now: datetime) -> bool:
        """Whether Cloud Tasks stops retrying `row` once `attempts_made` attempts have failed."""
        policy = self.transport.retry_policy(self.config.queue_path(row.queue))
        return policy.gives_up_after(attempts_made, row.started_at or now, now)

    def get_result(self, result_id: str) -> TaskResult:
        from tasks_google.executions import get_execution, to_result

        return to_result(get_execution(result_id, self.alias))


class CreateRemoteTask(RemoteStep):
    """The on-commit step of an enqueue: create the Cloud Task, then note its name on the row."""

    def __init__(self, transport: Transport, spec: CloudTaskSpec, execution_id: str) -> None:
        self.transport = transport
        self.spec = spec
        self.execution_id = execution_id

    def __call__(self) -> None:
        from tasks_google.models import TaskExecution

        try:
            name = self.transport.create_task(self.spec)
        except Exception:
            logger.exception(
                "Creating Cloud Task %s failed; execution %s stays READY without a Cloud Task",
                self.spec.task_name,
                self.execution_id,
            )
            return
        TaskExecution.objects.filter(pk=self.execution_id).update(remote_name=name)
