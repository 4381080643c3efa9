"""Django's Task framework on Google Cloud Tasks, Cloud Run Jobs and Cloud Scheduler.

Public names are imported lazily, so importing `tasks_google` never touches models before the
app registry is ready.
"""

from importlib import import_module
from typing import Any

_PUBLIC = {
    "CancelResult": "tasks_google.cancellation",
    "CancellationNotSupported": "tasks_google.exceptions",
    "CloudRunJobsBackend": "tasks_google.backends.run_jobs",
    "CloudTasksBackend": "tasks_google.backends.cloud_tasks",
    "PeriodicTask": "tasks_google.schedule_declarations",
    "Task": "tasks_google.task",
    "PermanentTaskError": "tasks_google.exceptions",
    "QueueControlResult": "tasks_google.queues",
    "QueueDoesNotExist": "tasks_google.exceptions",
    "TaskCancelledError": "tasks_google.exceptions",
    "TaskExecution": "tasks_google.models",
    "ScheduledTask": "tasks_google.models",
    "cancel_task": "tasks_google.cancellation",
    "delete_scheduled_task": "tasks_google.scheduling",
    "find_queue": "tasks_google.queues",
    "schedule_task": "tasks_google.scheduling",
    "is_task_cancelled": "tasks_google.cancellation",
    "pause_queue": "tasks_google.queues",
    "pause_schedule": "tasks_google.scheduling",
    "purge_queue": "tasks_google.queues",
    "queue_state": "tasks_google.queues",
    "periodic": "tasks_google.schedule_declarations",
    "prune_executions": "tasks_google.pruning",
    "report_progress": "tasks_google.progress",
    "resume_queue": "tasks_google.queues",
    "resume_schedule": "tasks_google.scheduling",
    "retry_task": "tasks_google.retrying",
    "run_schedule": "tasks_google.scheduling",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'tasks_google' has no attribute {name!r}")
    return getattr(import_module(module), name)
