import django.db.models.deletion
import tasks_google.models
from django.db import migrations, models


class Migration(migrations.Migration):
    # The six migrations of 0.1.0: a database that applied them is up to date with this one.
    replaces = [
        ("tasks_google", "0001_initial"),
        ("tasks_google", "0002_cancellation_and_progress"),
        ("tasks_google", "0003_schedules"),
        ("tasks_google", "0004_finished_index"),
        ("tasks_google", "0005_taskexecution_attempts"),
        ("tasks_google", "0006_scheduledtask_fire_error"),
    ]

    initial = True

    dependencies = []

    operations = [
        migrations.CreateModel(
            name="TaskExecution",
            fields=[
                (
                    "id",
                    models.CharField(
                        default=tasks_google.models.new_execution_id,
                        editable=False,
                        max_length=63,
                        primary_key=True,
                        serialize=False,
                    ),
                ),
                ("task_path", models.CharField(max_length=255)),
                ("args", models.JSONField(default=list)),
                ("kwargs", models.JSONField(default=dict)),
                ("backend", models.CharField(max_length=100)),
                ("queue", models.CharField(max_length=100)),
                ("priority", models.SmallIntegerField(default=0)),
                ("run_after", models.DateTimeField(blank=True, null=True)),
                (
                    "status",
                    models.CharField(
                        choices=[
                            ("READY", "Ready"),
                            ("RUNNING", "Running"),
                            ("FAILED", "Failed"),
                            ("SUCCESSFUL", "Successful"),
                        ],
                        default="READY",
                        max_length=10,
                    ),
                ),
                ("enqueued_at", models.DateTimeField()),
                ("started_at", models.DateTimeField(blank=True, null=True)),
                ("finished_at", models.DateTimeField(blank=True, null=True)),
                ("last_attempted_at", models.DateTimeField(blank=True, null=True)),
                ("worker_ids", models.JSONField(default=list)),
                ("attempt_count", models.PositiveIntegerField(default=0)),
                (
                    "errors",
                    models.JSONField(
                        default=list,
                        help_text="[{exception_class_path, traceback}], most recent last.",
                    ),
                ),
                ("return_value", models.JSONField(blank=True, null=True)),
                (
                    "remote_name",
                    models.CharField(
                        blank=True,
                        default="",
                        help_text="Resource name of the Cloud Task; empty until it was created.",
                        max_length=1024,
                    ),
                ),
                ("lease_owner", models.CharField(blank=True, default="", max_length=200)),
                ("lease_expires_at", models.DateTimeField(blank=True, null=True)),
                ("heartbeat_at", models.DateTimeField(blank=True, null=True)),
                ("cancel_requested_at", models.DateTimeField(blank=True, null=True)),
                (
                    "cancelled_at",
                    models.DateTimeField(
                        blank=True,
                        help_text="Set when the execution ended cancelled (its status is then FAILED).",
                        null=True,
                    ),
                ),
                ("progress_at", models.DateTimeField(blank=True, null=True)),
                ("progress_done", models.BigIntegerField(blank=True, null=True)),
                ("progress_message", models.CharField(blank=True, default="", max_length=255)),
                ("progress_total", models.BigIntegerField(blank=True, null=True)),
                (
                    "attempts",
                    models.JSONField(
                        default=list,
                        help_text="[{number, worker, started_at, finished_at, outcome, error}], oldest first: outcome is running, succeeded, failed, retry, cancelled or lost; times are ISO 8601 UTC (finished_at null while running); error is the exception class path, or null.",
                    ),
                ),
            ],
            options={
                "ordering": ["-enqueued_at"],
                "indexes": [
                    models.Index(fields=["status", "-enqueued_at"], name="tg_exec_status_enq"),
                    models.Index(
                        fields=["backend", "queue", "status"], name="tg_exec_backend_queue"
                    ),
                    models.Index(fields=["-enqueued_at"], name="tg_exec_enqueued"),
                    models.Index(fields=["status", "lease_expires_at"], name="tg_exec_lease"),
                    models.Index(fields=["-finished_at"], name="tg_exec_finished"),
                ],
            },
        ),
        migrations.CreateModel(
            name="ScheduledTask",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                (
                    "name",
                    models.CharField(
                        help_text="Unique; part of the job id.", max_length=200, unique=True
                    ),
                ),
                ("task_path", models.CharField(max_length=255)),
                ("args", models.JSONField(blank=True, default=list)),
                ("kwargs", models.JSONField(blank=True, default=dict)),
                ("backend", models.CharField(default="default", max_length=100)),
                ("queue", models.CharField(default="default", max_length=100)),
                (
                    "cron",
                    models.CharField(
                        help_text="5-field unix cron, or @hourly/@daily/...", max_length=200
                    ),
                ),
                ("time_zone", models.CharField(default="UTC", max_length=64)),
                ("enabled", models.BooleanField(default=True)),
                ("retry_count", models.PositiveSmallIntegerField(default=0)),
                ("min_backoff_seconds", models.FloatField(default=5)),
                ("max_backoff_seconds", models.FloatField(default=3600)),
                ("max_doublings", models.PositiveSmallIntegerField(default=5)),
                ("max_retry_duration_seconds", models.FloatField(default=0)),
                ("attempt_deadline_seconds", models.FloatField(default=180)),
                (
                    "headers",
                    models.JSONField(
                        blank=True, default=dict, help_text="Extra HTTP headers of each fire."
                    ),
                ),
                (
                    "use_oidc",
                    models.BooleanField(
                        default=True,
                        help_text="Fires carry an OIDC ID token (schedule/ requires it by default).",
                    ),
                ),
                ("description", models.CharField(blank=True, default="", max_length=500)),
                (
                    "declared_in_code",
                    models.BooleanField(
                        default=False,
                        help_text="Declared with @periodic or PeriodicTask; synced from code.",
                    ),
                ),
                ("remote_job_name", models.CharField(blank=True, default="", max_length=1024)),
                ("last_fired_slot", models.DateTimeField(blank=True, null=True)),
                ("synced_at", models.DateTimeField(blank=True, null=True)),
                ("sync_error", models.TextField(blank=True, default="")),
                (
                    "fire_error",
                    models.TextField(
                        blank=True,
                        default="",
                        help_text="Why the last fire could not run the task (cleared by a fire that enqueues it).",
                    ),
                ),
                ("created_at", models.DateTimeField(auto_now_add=True)),
                ("updated_at", models.DateTimeField(auto_now=True)),
            ],
            options={
                "ordering": ["name"],
            },
        ),
        migrations.CreateModel(
            name="ScheduleFire",
            fields=[
                (
                    "id",
                    models.BigAutoField(
                        auto_created=True, primary_key=True, serialize=False, verbose_name="ID"
                    ),
                ),
                ("job_name", models.CharField(max_length=500)),
                ("schedule_time", models.DateTimeField()),
                ("received_at", models.DateTimeField()),
                (
                    "execution",
                    models.ForeignKey(
                        blank=True,
                        null=True,
                        on_delete=django.db.models.deletion.SET_NULL,
                        related_name="+",
                        to="tasks_google.taskexecution",
                    ),
                ),
            ],
            options={
                "constraints": [
                    models.UniqueConstraint(
                        fields=("job_name", "schedule_time"), name="tg_fire_once"
                    )
                ],
            },
        ),
    ]
