"""Django's Task framework on Google Cloud Tasks, Cloud Run Jobs and Cloud Scheduler.

Public names are imported lazily, so importing `tasks_google` never touches models before the
app registry is ready.
"""

from importlib import import_module
from typing import Any

_PUBLIC = {
    "CloudTasksBackend": "tasks_google.backends.cloud_tasks",
    "PermanentTaskError": "tasks_google.exceptions",
    "TaskExecution": "tasks_google.models",
}

__all__ = sorted(_PUBLIC)


def __getattr__(name: str) -> Any:
    module = _PUBLIC.get(name)
    if module is None:
        raise AttributeError(f"module 'tasks_google' has no attribute {name!r}")
    return getattr(import_module(module), name)
