"""The TaskExecution row: the source of truth for every execution of a task."""

import uuid
from collections.abc import Iterable, Mapping
from datetime import datetime, timedelta
from typing import Any

from django.db import models, router
from django.db.models import F, Q
from django.db.models.functions import Coalesce

from tasks_google.config.scheduler_jobs import JOB_DEFAULTS, execution_task_name, seconds
from tasks_google.config.sqlite import retry_if_locked
from tasks_google.framework import TaskResultStatus
from tasks_google.observability.tracing import TRACEPARENT_LENGTH, TRACESTATE_MAX_LENGTH
from tasks_google.prepared import RowReader, UpdateStatements

#: Longest id Django allows for a TaskResult ("shorter than 64 characters").
EXECUTION_ID_MAX_LENGTH = 63
#: Each recorded traceback is capped to this many characters. How many errors, attempts and
#: worker ids an execution keeps is its backend's `max_history_entries` option.
MAX_TRACEBACK_CHARS = 20_000
#: The statuses an execution ends in (a cancelled one is FAILED: Django has no CANCELLED).
FINISHED_STATUSES = (TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED)
UNFINISHED_STATUSES = (TaskResultStatus.READY, TaskResultStatus.RUNNING)


def new_execution_id() -> str:
    """A fresh execution id: 32 hex digits, also valid as a Cloud Tasks task id."""
    return uuid.uuid4().hex


class TaskExecutionQuerySet(models.QuerySet):
    """The executions the code asks for, and the lease changes made to the ones selected.

    Each change is one conditional UPDATE and returns how many rows it changed.
    """

    def finished(self) -> "TaskExecutionQuerySet":
        return self.filter(status__in=FINISHED_STATUSES)

    def unfinished(self) -> "TaskExecutionQuerySet":
        return self.filter(status__in=UNFINISHED_STATUSES)

    def waiting(self) -> "TaskExecutionQuerySet":
        """READY and unleased: no attempt has it."""
        return self.filter(status=TaskResultStatus.READY, lease_owner="")

    def held_by(self, owner: str) -> "TaskExecutionQuerySet":
        """Those whose lease is `owner`'s ("": unleased)."""
        return self.filter(lease_owner=owner)

    def with_expired_lease(self, now: datetime) -> "TaskExecutionQuerySet":
        return self.filter(lease_expires_at__lt=now)

    def cancel_requested(self) -> "TaskExecutionQuerySet":
        return self.filter(cancel_requested_at__isnull=False)

    def take_lease(
        self, owner: str, now: datetime, timeout: timedelta, start: Mapping[str, Any] | None = None
    ) -> int:
        """Give `owner` the lease of those unfinished and not held by a live lease; each
        becomes RUNNING with one more attempt, and the fields in `start` (the attempt's start,
        when the caller read the row) are written in the same UPDATE."""
        return (
            self.unfinished()
            .filter(Q(lease_owner="") | Q(lease_expires_at__lt=now))
            .update(
                status=TaskResultStatus.RUNNING,
                lease_owner=owner,
                lease_expires_at=now + timeout,
                heartbeat_at=now,
                last_attempted_at=now,
                attempt_count=F("attempt_count") + 1,
                **(start or {}),
            )
        )

    def renew_lease(self, owner: str, now: datetime, timeout: timedelta) -> int:
        """Extend `owner`'s lease to `now + timeout` (a heartbeat)."""
        return self.held_by(owner).update(heartbeat_at=now, lease_expires_at=now + timeout)

    def expire_lease(self, owner: str, at: datetime) -> int:
        """End `owner`'s lease at `at`, so that the next delivery may take it over."""
        return self.held_by(owner).update(lease_expires_at=at)

    def record_progress(self, done: int, total: int | None, message: str, now: datetime) -> int:
        """Store a progress report (the message cut to what the column holds)."""
        limit = TaskExecution._meta.get_field("progress_message").max_length
        return self.update(
            progress_done=done,
            progress_total=total,
            progress_message=message[:limit],
            progress_at=now,
        )

    def request_cancellation(self, now: datetime) -> int:
        """Mark the unfinished ones as asked to cancel (the first request's time is kept)."""
        return self.unfinished().update(cancel_requested_at=Coalesce("cancel_requested_at", now))


class TaskExecution(models.Model):
    """One enqueued run of a task, across all its attempts.

    Its state changes are conditional writes: an attempt writes only while it holds the lease
    (`record_start`, `record_outcome`, `record_cancellation`), so an attempt whose lease was
    taken over cannot overwrite its successor's record.
    """

    id = models.CharField(
        primary_key=True,
        max_length=EXECUTION_ID_MAX_LENGTH,
        default=new_execution_id,
        editable=False,
    )
    task_path = models.CharField(max_length=255)
    args = models.JSONField(default=list)
    kwargs = models.JSONField(default=dict)
    backend = models.CharField(max_length=100)
    queue = models.CharField(max_length=100)
    priority = models.SmallIntegerField(default=0)
    run_after = models.DateTimeField(null=True, blank=True)
    status = models.CharField(
        max_length=10, choices=TaskResultStatus.choices, default=TaskResultStatus.READY
    )
    enqueued_at = models.DateTimeField()
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    last_attempted_at = models.DateTimeField(null=True, blank=True)
    worker_ids = models.JSONField(default=list)
    attempt_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(
        default=list, help_text="[{exception_class_path, traceback}], most recent last."
    )
    attempts = models.JSONField(
        default=list,
        help_text="[{number, worker, started_at, finished_at, outcome, error}], oldest first: "
        "outcome is running, succeeded, failed, retry, cancelled or lost; times are ISO 8601 "
        "UTC (finished_at null while running); error is the exception class path, or null.",
    )
    return_value = models.JSONField(null=True, blank=True)
    remote_name = models.CharField(
        max_length=1024,
        blank=True,
        default="",
        help_text="Resource name of the Cloud Task; empty until it was created.",
    )
    lease_owner = models.CharField(max_length=200, blank=True, default="")
    lease_expires_at = models.DateTimeField(null=True, blank=True)
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    cancel_requested_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(
        null=True,
        blank=True,
        help_text="Set when the execution ended cancelled (its status is then FAILED).",
    )
    progress_done = models.BigIntegerField(null=True, blank=True)
    progress_total = models.BigIntegerField(null=True, blank=True)
    progress_message = models.CharField(max_length=255, blank=True, default="")
    progress_at = models.DateTimeField(null=True, blank=True)
    trace_parent = models.CharField(
        max_length=TRACEPARENT_LENGTH,
        blank=True,
        default="",
        help_text="W3C traceparent of the enqueue's span, which the attempts continue; empty "
        "when the enqueue was not traced.",
    )
    trace_state = models.CharField(
        max_length=TRACESTATE_MAX_LENGTH,
        blank=True,
        default="",
        help_text="W3C tracestate that travels with trace_parent.",
    )

    class Meta:
        ordering = ["-enqueued_at"]
        indexes = [
            models.Index(fields=["status", "-enqueued_at"], name="tg_exec_status_enq"),
            models.Index(fields=["backend", "queue", "status"], name="tg_exec_backend_queue"),
            models.Index(fields=["-enqueued_at"], name="tg_exec_enqueued"),
            models.Index(fields=["status", "lease_expires_at"], name="tg_exec_lease"),
            # The dashboard's throughput: completions per interval over recent minutes.
            models.Index(fields=["-finished_at"], name="tg_exec_finished"),
        ]

    objects = TaskExecutionQuerySet.as_manager()

    def __str__(self) -> str:
        return f"{self.task_path} [{self.status}] {self.id}"

    @property
    def is_finished(self) -> bool:
        return self.status in FINISHED_STATUSES

    def record_start(self, owner: str) -> bool:
        """Write the start of `owner`'s attempt (errors, worker ids, attempts, started_at) set
        on this row, if `owner` still holds the lease."""
        return self._save_held(owner, ["errors", "worker_ids", "attempts", "started_at"])

    def record_outcome(
        self, owner: str, fields: Iterable[str], *, unless_cancelled: bool = False
    ) -> bool:
        """Write the outcome in `fields` and drop the lease, if `owner` still holds it (and,
        `unless_cancelled`, no cancellation was requested)."""
        self.lease_owner, self.lease_expires_at = "", None
        fields = [*fields, "lease_owner", "lease_expires_at"]
        return self._save_held(owner, fields, unless_cancelled=unless_cancelled)

    def record_cancellation(self, now: datetime, *, owner: str | None = None) -> bool:
        """Write this row FAILED and cancelled at `now` with the errors (and, for a started
        attempt, the attempts) set on it, dropping any lease: while `owner` holds the lease,
        or without an owner (not started) while it is READY and unleased."""
        self.status = TaskResultStatus.FAILED
        self.finished_at = self.cancelled_at = now
        self.lease_owner, self.lease_expires_at = "", None
        rows = TaskExecution.objects.filter(pk=self.pk)
        rows = rows.waiting() if owner is None else rows.held_by(owner)
        # A started execution's lease holder is the only writer of its attempts.
        timeline: dict[str, Any] = {} if owner is None else {"attempts": self.attempts}
        updated = rows.update(
            status=self.status,
            errors=self.errors,
            finished_at=now,
            cancelled_at=now,
            cancel_requested_at=Coalesce("cancel_requested_at", now),
            lease_owner="",
            lease_expires_at=None,
            **timeline,
        )
        return updated == 1

    def record_abandoned(self, now: datetime) -> bool:
        """Write this row FAILED at `now` with the errors and attempts set on it, dropping any
        lease, if its status, lease and attempt count are still as read (no delivery came)."""
        updated = (
            TaskExecution.objects.filter(
                pk=self.pk, status=self.status, attempt_count=self.attempt_count
            )
            .held_by(self.lease_owner)
            .update(
                status=TaskResultStatus.FAILED,
                finished_at=now,
                errors=self.errors,
                attempts=self.attempts,
                lease_owner="",
                lease_expires_at=None,
            )
        )
        if updated != 1:
            return False
        self.status, self.finished_at = TaskResultStatus.FAILED, now
        self.lease_owner, self.lease_expires_at = "", None
        return True

    def _save_held(self, owner: str, fields: list[str], *, unless_cancelled: bool = False) -> bool:
        """Save `fields` of this row only while `owner` holds its lease (and, `unless_cancelled`,
        no cancellation was requested)."""
        values = [(name, getattr(self, name)) for name in fields]
        statements = _SAVE_HELD_UNLESS_CANCELLED if unless_cancelled else _SAVE_HELD
        where = [("id", self.pk), ("lease_owner", owner)]
        using = router.db_for_write(TaskExecution)
        return retry_if_locked(lambda: statements.execute(using, values, where)) == 1

    @classmethod
    def note_remote_name(cls, execution_id: str, name: str) -> None:
        """Record the name of the remote work (Cloud Task, Run Jobs execution) once created."""
        _BY_ID.execute(router.db_for_write(cls), [("remote_name", name)], [("id", execution_id)])

    @classmethod
    def read(cls, execution_id: str) -> "TaskExecution | None":
        """The execution with this id, or None (the read of every delivery)."""
        return _READER.get(router.db_for_read(cls), execution_id)

    @classmethod
    def take_lease_and_start(
        cls,
        execution_id: str,
        read: tuple[str, int],
        owner: str,
        now: datetime,
        timeout: timedelta,
        start: Mapping[str, Any],
    ) -> bool:
        """Give `owner` the lease and write the attempt's `start` fields in one UPDATE, if the
        row is still as `read` (its lease owner and attempt count then), unfinished, not held
        by a live lease and not asked to cancel. The attempt count goes up by one."""
        previous_owner, read_count = read
        values = [
            ("status", TaskResultStatus.RUNNING),
            ("lease_owner", owner),
            ("lease_expires_at", now + timeout),
            ("heartbeat_at", now),
            ("last_attempted_at", now),
            ("attempt_count", read_count + 1),
            *start.items(),
        ]
        where = [
            ("id", execution_id),
            ("lease_owner", previous_owner),
            ("attempt_count", read_count),
            *(("status", status) for status in UNFINISHED_STATUSES),
            ("lease_owner", ""),
            ("lease_expires_at", now),
        ]
        using = router.db_for_write(cls)
        return _TAKE_AND_START.execute(using, values, where) == 1

    @property
    def task_name(self) -> str:
        """The task it is shown under (a `PeriodicTask`'s class, not its runner)."""
        return execution_task_name(self.task_path, self.args)


# The statements of every attempt (see tasks_google.prepared).
_HELD = "{column[id]} = %s AND {column[lease_owner]} = %s"
_SAVE_HELD = UpdateStatements(TaskExecution, _HELD)
_SAVE_HELD_UNLESS_CANCELLED = UpdateStatements(
    TaskExecution, f"{_HELD} AND {{column[cancel_requested_at]}} IS NULL"
)
_TAKE_AND_START = UpdateStatements(
    TaskExecution,
    f"{_HELD} AND {{column[attempt_count]}} = %s AND {{column[cancel_requested_at]}} IS NULL "
    f"AND {{column[status]}} IN ({', '.join(['%s'] * len(UNFINISHED_STATUSES))}) "
    "AND ({column[lease_owner]} = %s OR {column[lease_expires_at]} < %s)",
)
_BY_ID = UpdateStatements(TaskExecution, "{column[id]} = %s")
_READER = RowReader(TaskExecution)


class ScheduledTask(models.Model):
    """A recurring task: a Cloud Scheduler job that fires `schedule/`, which enqueues the task."""

    name = models.CharField(max_length=200, unique=True, help_text="Unique; part of the job id.")
    task_path = models.CharField(max_length=255)
    args = models.JSONField(default=list, blank=True)
    kwargs = models.JSONField(default=dict, blank=True)
    backend = models.CharField(max_length=100, default="default")
    queue = models.CharField(max_length=100, default="default")
    cron = models.CharField(max_length=200, help_text="5-field unix cron, or @hourly/@daily/...")
    time_zone = models.CharField(max_length=64, default="UTC")
    enabled = models.BooleanField(default=True)
    retry_count = models.PositiveSmallIntegerField(default=JOB_DEFAULTS.retry_count)
    min_backoff_seconds = models.FloatField(default=seconds(JOB_DEFAULTS.min_backoff))
    max_backoff_seconds = models.FloatField(default=seconds(JOB_DEFAULTS.max_backoff))
    max_doublings = models.PositiveSmallIntegerField(default=JOB_DEFAULTS.max_doublings)
    max_retry_duration_seconds = models.FloatField(default=seconds(JOB_DEFAULTS.max_retry_duration))
    attempt_deadline_seconds = models.FloatField(default=seconds(JOB_DEFAULTS.attempt_deadline))
    headers = models.JSONField(
        default=dict, blank=True, help_text="Extra HTTP headers of each fire."
    )
    use_oidc = models.BooleanField(
        default=True, help_text="Fires carry an OIDC ID token (schedule/ requires it by default)."
    )
    description = models.CharField(max_length=500, blank=True, default="")
    declared_in_code = models.BooleanField(
        default=False, help_text="Declared with @periodic or PeriodicTask; synced from code."
    )
    remote_job_name = models.CharField(max_length=1024, blank=True, default="")
    last_fired_slot = models.DateTimeField(null=True, blank=True)
    synced_at = models.DateTimeField(null=True, blank=True)
    sync_error = models.TextField(blank=True, default="")
    fire_error = models.TextField(
        blank=True,
        default="",
        help_text="Why the last fire could not run the task (cleared by a fire that enqueues it).",
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.cron} {self.time_zone})"


class ScheduleFire(models.Model):
    """One fire of a schedule: Cloud Scheduler's de-duplication key is JobName + ScheduleTime, so a
    duplicate delivery of the same slot finds this row and enqueues nothing."""

    job_name = models.CharField(max_length=500)
    schedule_time = models.DateTimeField()
    received_at = models.DateTimeField()
    execution = models.ForeignKey(
        TaskExecution, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["job_name", "schedule_time"], name="tg_fire_once")
        ]

    def __str__(self) -> str:
        return f"{self.job_name} @ {self.schedule_time.isoformat()}"
