"""Django's Task framework on Google Cloud Tasks, Cloud Run Jobs and Cloud Scheduler.

Public names are imported lazily, so importing `tasks_google` never touches models before the
app registry is ready.
"""

from importlib import import_module
from typing import Any

_PUBLIC = {
    "CancelResult": "tasks_google.control.cancellation",
    "CancellationNotSupported": "tasks_google.exceptions",
    "CloudRunJobsBackend": "tasks_google.backends.run_jobs",
    "CloudLoggingFormatter": "tasks_google.observability.cloud_logging",
    "CloudTasksBackend": "tasks_google.backends.cloud_tasks",
    "Fire": "tasks_google.scheduling.declarations",
    "PeriodicTask": "tasks_google.scheduling.declarations",
    "Task": "tasks_google.task",
    "PermanentTaskError": "tasks_google.exceptions",
    "QueueControlResult": "tasks_google.control.queues",
    "QueueDoesNotExist": "tasks_google.exceptions",
    "TaskCancelledError": "tasks_google.exceptions",
    "TaskExecution": "tasks_google.models",
    "ScheduledTask": "tasks_google.models",
    "cancel_task": "tasks_google.control.cancellation",
    "delete_scheduled_task": "tasks_google.scheduling.schedules",
    "find_queue": "tasks_google.control.queues",
    "schedule_task": "tasks_google.scheduling.schedules",
    "is_task_cancelled": "tasks_google.execution.cancel_signals",
    "pause_queue": "tasks_google.control.queues",
    "pause_schedule": "tasks_google.scheduling.schedules",
    "purge_queue": "tasks_google.control.queues",
    "queue_state": "tasks_google.control.queues",
    "periodic": "tasks_google.scheduling.declarations",
    "prune_executions": "tasks_google.control.pruning",
    "report_progress": "tasks_google.execution.progress",
    "resume_queue": "tasks_google.control.queues",
    "resume_schedule": "tasks_google.scheduling.schedules",
    "retry_task": "tasks_google.control.retrying",
    "run_schedule": "tasks_google.scheduling.schedules",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'tasks_google' has no attribute {name!r}")
    return getattr(import_module(module), name)
