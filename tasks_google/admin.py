"""Admin: executions are read-only records, with actions to cancel and to re-enqueue."""

import json
from typing import Any

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.html import format_html, format_html_join

from tasks_google.cancellation import cancel_task
from tasks_google.models import TaskExecution
from tasks_google.retrying import retry_task


@admin.register(TaskExecution)
class TaskExecutionAdmin(admin.ModelAdmin):
    list_display = (
        "id",
        "task_path",
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
