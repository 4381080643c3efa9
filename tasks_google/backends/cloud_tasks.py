"""`CloudTasksBackend`: each enqueue becomes a row and, on commit, a Cloud Task."""

import json
import logging
from datetime import datetime, timedelta
from typing import Any

from django.core import checks

from tasks_google import clock
from tasks_google.backends.remote_starts import StartRemote
from tasks_google.backends.stored import StoredExecutionBackend, task_timeout
from tasks_google.config.options import CLOUD_TASKS, BackendOptions
from tasks_google.framework import InvalidTask
from tasks_google.observability import tracing
from tasks_google.task import Task
from tasks_google.transports import CloudTaskSpec, RemoteStep, Transport

logger = logging.getLogger(__name__)

#: Cloud Tasks refuses a schedule_time further ahead than this.
MAX_SCHEDULE_AHEAD = timedelta(days=30)


class CloudTasksBackend(StoredExecutionBackend):
    """Runs each task as an HTTP request that Cloud Tasks delivers to `tasks_google.urls`."""

    supports_defer = True
    kind = CLOUD_TASKS
    # Cloud Tasks' dispatch deadline: the longest one attempt (one HTTP request) may take.
    timeout_range = (timedelta(seconds=15), timedelta(minutes=30))
    platform = "Cloud Tasks (the dispatch deadline)"

    def _safety_checks(self, config: BackendOptions) -> list[checks.CheckMessage]:
        found = super()._safety_checks(config)
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
        furthest = clock.as_utc(clock.now()) + MAX_SCHEDULE_AHEAD
        if run_after is not None and clock.as_utc(run_after) > furthest:
            raise InvalidTask(
                "run_after must be at most 30 days in the future "
                "(the furthest Cloud Tasks schedules a task)."
            )

    def start_remote(self, transport: Transport, row: Any, task: Task) -> RemoteStep:
        spec = self.cloud_task_spec(row, task)
        return StartRemote(
            lambda: transport.create_task(spec), row.pk, f"Creating Cloud Task {spec.task_name}"
        )

    def cloud_task_spec(self, row: Any, task: Task | None = None) -> CloudTaskSpec:
        """The Cloud Task that delivers an execution (its name derives from the execution id)."""
        config = self.config
        return CloudTaskSpec(
            queue_path=config.queue_path(row.queue),
            task_id=row.pk,
            url=config.execute_url,
            body=json.dumps({"execution_id": row.pk}).encode(),
            headers={
                "Content-Type": "application/json",
                **tracing.trace_headers(row.trace_parent, row.trace_state),
            },
            schedule_time=clock.as_utc(row.run_after) if row.run_after else None,
            oidc_service_account=config.oidc_service_account,
            oidc_audience=config.audience,
            dispatch_deadline=task_timeout(row, task),
        )

    def recreate_remote(self, row: Any) -> str:
        """Create the Cloud Task of a READY execution that has none; return its name."""
        return self.transport.create_task(self.cloud_task_spec(row))

    def remote_work_over(self, row: Any) -> str | None:
        """None while the Cloud Task of an unfinished execution exists; once it is gone (nothing
        will deliver it), that in words."""
        if self.transport.task_exists(row.remote_name):
            return None
        return (
            f"its Cloud Task {row.remote_name} no longer exists (purged, deleted, or given up "
            "on by Cloud Tasks)"
        )

    def cancel_remote(self, row: Any) -> None:
        """Delete the pending Cloud Task of an execution cancelled before it started."""
        self.transport.delete_task(row.remote_name or self.cloud_task_spec(row).task_name)

    def service_gives_up(self, row: Any, attempts_made: int, now: datetime) -> bool:
        """Whether Cloud Tasks stops retrying `row` once `attempts_made` attempts have failed."""
        policy = self.transport.retry_policy(self.config.queue_path(row.queue))
        return policy.gives_up_after(attempts_made, row.started_at or now, now)
