"""The task that runs `PeriodicTask` subclasses (imported lazily: it needs the settings)."""

from typing import Any

from django.utils.module_loading import import_string

from tasks_google.framework import task
from tasks_google.scheduling.schedules import host_backend


def run_periodic_task(class_path: str, **payload: Any) -> Any:
    """Run the `PeriodicTask` subclass at `class_path` with the schedule's payload."""
    from tasks_google.scheduling.declarations import PeriodicTask

    cls = import_string(class_path)
    if not (isinstance(cls, type) and issubclass(cls, PeriodicTask)):
        raise TypeError(f"{class_path!r} is not a PeriodicTask subclass.")
    return cls().run(**payload)


run_periodic_task = task(backend=host_backend().alias)(run_periodic_task)
