"""The task that runs `PeriodicTask` subclasses (imported lazily: it needs the settings)."""

from collections.abc import Mapping
from typing import Any

from django.utils.module_loading import import_string

from tasks_google.framework import task
from tasks_google.scheduling.schedules import host_backend


def run_periodic_task(
    class_path: str, fire: Mapping[str, Any] | None = None, /, *args: Any, **payload: Any
) -> Any:
    """Run the `PeriodicTask` subclass at `class_path` with the schedule's payload.

    `fire` is the request that fired it (`Fire.as_argument()`), which `run()` reads as
    `self.fire`; an execution enqueued without it (before fires carried it) runs with None.
    """
    from tasks_google.scheduling.declarations import Fire, PeriodicTask

    cls = import_string(class_path)
    if not (isinstance(cls, type) and issubclass(cls, PeriodicTask)):
        raise TypeError(f"{class_path!r} is not a PeriodicTask subclass.")
    instance = cls()
    instance.fire = Fire.from_argument(fire) if fire is not None else None
    return instance.run(*args, **payload)


run_periodic_task = task(backend=host_backend().alias)(run_periodic_task)
