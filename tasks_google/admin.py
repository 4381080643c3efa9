"""Admin: executions are read-only records, with actions to cancel and to re-enqueue."""

import json
from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from tasks_google.control.cancellation import cancel_task
from tasks_google.control.retrying import retry_task
from tasks_google.models import ScheduledTask, TaskExecution
from tasks_google.scheduling import rules, schedules
from tasks_google.scheduling.task_registry import registered_tasks


@admin.register(TaskExecution)
class TaskExecutionAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "task_name",
        "status",
        "cancelled",
        "backend",
        "queue",
        "attempt_count",
        "progress",
        "enqueued_at",
        "finished_at",
    )
    list_filter = ("status", "backend", "queue", "task_path")
    search_fields = ("id", "task_path")
    date_hierarchy = "enqueued_at"
    actions = ("cancel_selected", "reenqueue_selected")
    fields = (
        "id",
        "task_name",
        "task_path",
        "status",
        "backend",
        "queue",
        "priority",
        "run_after",
        "arguments",
        "result",
        "formatted_errors",
        "enqueued_at",
        "started_at",
        "last_attempted_at",
        "finished_at",
        "attempt_count",
        "formatted_attempts",
        "worker_ids",
        "progress",
        "remote_name",
        "lease_owner",
        "lease_expires_at",
        "heartbeat_at",
        "cancel_requested_at",
        "cancelled_at",
    )

    def get_readonly_fields(self, request: HttpRequest, obj: Any = None) -> tuple[str, ...]:
        return self.fields

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    @admin.display(description="task", ordering="task_path")
    def task_name(self, obj: TaskExecution) -> str:
        return obj.task_name

    @admin.display(boolean=True)
    def cancelled(self, obj: TaskExecution) -> bool:
        return obj.cancelled_at is not None

    @admin.display
    def progress(self, obj: TaskExecution) -> str:
        if obj.progress_done is None:
            return ""
        total = obj.progress_total if obj.progress_total is not None else "?"
        return f"{obj.progress_done}/{total} {obj.progress_message}".strip()

    @admin.display(description="args / kwargs")
    def arguments(self, obj: TaskExecution) -> str:
        return format_html(
            "<pre>{}</pre>", json.dumps({"args": obj.args, "kwargs": obj.kwargs}, indent=2)
        )

    @admin.display(description="return value")
    def result(self, obj: TaskExecution) -> str:
        return format_html("<pre>{}</pre>", json.dumps(obj.return_value, indent=2))

    @admin.display(description="errors")
    def formatted_errors(self, obj: TaskExecution) -> str:
        return format_html_join(
            "",
            "<p><strong>{}</strong></p><pre>{}</pre>",
            ((e["exception_class_path"], e["traceback"]) for e in obj.errors),
        )

    @admin.display(description="attempts")
    def formatted_attempts(self, obj: TaskExecution) -> str:
        if not obj.attempts:
            return "—"
        rows = format_html_join(
            "",
            "<tr><td>#{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            (
                (
                    a.get("number", "?"),
                    a.get("outcome", "?"),
                    a.get("worker", ""),
                    a.get("started_at") or "—",
                    a.get("finished_at") or "—",
                    a.get("error") or "",
                )
                for a in obj.attempts
            ),
        )
        return format_html(
            "<table><thead><tr><th>attempt</th><th>outcome</th><th>worker</th><th>started</th>"
            "<th>finished</th><th>error</th></tr></thead><tbody>{}</tbody></table>",
            rows,
        )

    @admin.action(description="Cancel the selected executions")
    def cancel_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        for row in queryset:
            outcome = cancel_task(row.pk)
            self.message_user(request, f"{row.pk}: {outcome.message}", messages.INFO)

    @admin.action(description="Re-enqueue a copy of the selected executions")
    def reenqueue_selected(self, request: HttpRequest, queryset: QuerySet) -> None:
        for row in queryset:
            try:
                copy = retry_task(row.pk)
            except Exception as exc:
                self.message_user(request, f"{row.pk}: cannot re-enqueue: {exc}", messages.ERROR)
            else:
                self.message_user(request, f"{row.pk}: re-enqueued as {copy.id}", messages.SUCCESS)


class ScheduledTaskForm(forms.ModelForm):
    """The task is picked among the project's; cron and time zone are checked up front."""

    task_path = forms.ChoiceField(label="Task")

    class Meta:
        model = ScheduledTask
        fields = (
            "name",
            "task_path",
            "args",
            "kwargs",
            "cron",
            "time_zone",
            "enabled",
            "description",
            "retry_count",
            "min_backoff_seconds",
            "max_backoff_seconds",
            "max_doublings",
            "max_retry_duration_seconds",
            "attempt_deadline_seconds",
            "headers",
            "use_oidc",
        )

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["task_path"].choices = [(path, path) for path in registered_tasks()]

    def clean_cron(self) -> str:
        rules.normalize_cron(self.cleaned_data["cron"])
        return self.cleaned_data["cron"]

    def clean_time_zone(self) -> str:
        return rules.validate_time_zone(self.cleaned_data["time_zone"])

    def clean(self) -> dict[str, Any]:
        """Cloud Scheduler's limits, and whether the task accepts the arguments."""
        cleaned = super().clean()
        for field, message in rules.limit_problems(cleaned).items():
            self.add_error(field, message)
        if {"task_path", "args", "kwargs"} <= cleaned.keys():
            args, kwargs = cleaned["args"], cleaned["kwargs"]
            if not isinstance(args, list) or not isinstance(kwargs, dict):
                self.add_error(None, "args must be a JSON list and kwargs a JSON object.")
                return cleaned
            problem = rules.task_problem(cleaned["task_path"], args, kwargs)
            if problem is not None:
                self.add_error(None, problem.msg)
        return cleaned


@admin.register(ScheduledTask)
class ScheduledTaskAdmin(admin.ModelAdmin):
    form = ScheduledTaskForm
    list_display = (
        "name",
        "task_path",
        "cron",
        "time_zone",
        "enabled",
        "sync_status",
        "last_fired_slot",
        "fire_error",
    )
    list_filter = ("enabled", "declared_in_code")
    search_fields = ("name", "task_path")
    readonly_fields = (
        "next_fires",
        "remote_job_name",
        "synced_at",
        "sync_error",
        "last_fired_slot",
        "fire_error",
    )
    actions = ("run_now", "enable", "disable")

    @admin.display(description="next five fires")
    def next_fires(self, obj: ScheduledTask) -> str:
        if not obj.pk:
            return ""
        try:
            times = schedules.next_fire_times(obj.cron, obj.time_zone)
        except ValidationError as exc:
            return "; ".join(exc.messages)
        return format_html_join("", "<div>{}</div>", ((t.isoformat(),) for t in times))

    @admin.display(description="sync")
    def sync_status(self, obj: ScheduledTask) -> str:
        if obj.sync_error:
            return f"failed: {obj.sync_error}"
        return "synced" if obj.synced_at else "not synced"

    def save_model(self, request: HttpRequest, obj: ScheduledTask, form: Any, change: bool) -> None:
        super().save_model(request, obj, form, change)
        self._sync(request, obj)

    def delete_model(self, request: HttpRequest, obj: ScheduledTask) -> None:
        schedules.delete_scheduled_task(obj.name)

    def _sync(self, request: HttpRequest, obj: ScheduledTask) -> bool:
        try:
            schedules.sync(obj)
        except Exception as exc:
            self.message_user(
                request,
                f"Saved, but syncing {obj.name!r} to Cloud Scheduler failed: {exc}",
                messages.ERROR,
            )
            return False
        return True

    @admin.action(description="Run the selected schedules now")
    def run_now(self, request: HttpRequest, queryset: QuerySet) -> None:
        transport = schedules.scheduler_transport()
        for obj in queryset:
            transport.run_scheduler_job(obj.remote_job_name or schedules.job_name(obj))
            self.message_user(request, f"{obj.name}: fired", messages.SUCCESS)

    @admin.action(description="Enable the selected schedules")
    def enable(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_enabled(request, queryset, True)

    @admin.action(description="Disable (pause) the selected schedules")
    def disable(self, request: HttpRequest, queryset: QuerySet) -> None:
        self._set_enabled(request, queryset, False)

    def _set_enabled(self, request: HttpRequest, queryset: QuerySet, enabled: bool) -> None:
        for obj in queryset:
            obj.enabled = enabled
            obj.save(update_fields=["enabled", "updated_at"])
            self._sync(request, obj)
