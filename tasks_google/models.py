"""The TaskExecution row: the source of truth for every execution of a task."""

import uuid

from django.db import models
from django.tasks import TaskResultStatus

from tasks_google.schedule_declarations import execution_task_name
from tasks_google.scheduler_job_settings import JOB_DEFAULTS, seconds

#: Longest id Django allows for a TaskResult ("shorter than 64 characters").
EXECUTION_ID_MAX_LENGTH = 63
#: How many errors an execution keeps (the most recent ones); each traceback is capped too.
MAX_RECORDED_ERRORS = 100
MAX_TRACEBACK_CHARS = 20_000
#: How many attempts an execution keeps in `attempts` (the most recent ones).
MAX_RECORDED_ATTEMPTS = 100


def new_execution_id() -> str:
    """A fresh execution id: 32 hex digits, also valid as a Cloud Tasks task id."""
    return uuid.uuid4().hex


class TaskExecution(models.Model):
    """One enqueued run of a task, across all its attempts."""

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

    def __str__(self) -> str:
        return f"{self.task_path} [{self.status}] {self.id}"

    @property
    def task_name(self) -> str:
        """The task it is shown under (a `PeriodicTask`'s class, not its runner)."""
        return execution_task_name(self.task_path, self.args)


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
