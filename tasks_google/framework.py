"""The task framework tasks_google runs: `django.tasks` (Django 6.0 and later) or, on Django 5.2,
its backport `django_tasks` (the `django-tasks` package).

This is the only module that imports either; everything else imports the framework's names from
here, under Django's spelling: `InvalidTask` and `InvalidTaskBackend` (the backport says
`InvalidTaskError` and `InvalidTaskBackendError`), `normalize_json` (`django.utils.json` in
Django, `django_tasks.utils` in the backport). Where Django and the backport are both installed,
Django's own framework is the one used: it is the one `django.tasks` code and settings reach.
"""

from importlib import import_module
from importlib.util import find_spec
from inspect import Parameter, signature

if find_spec("django.tasks") is not None:
    from django.tasks import (
        DEFAULT_TASK_BACKEND_ALIAS,
        DEFAULT_TASK_QUEUE_NAME,
        Task,
        TaskContext,
        TaskResult,
        TaskResultStatus,
        default_task_backend,
        task,
        task_backends,
    )
    from django.tasks.backends.base import BaseTaskBackend
    from django.tasks.base import TaskError
    from django.tasks.exceptions import InvalidTask, InvalidTaskBackend, TaskResultDoesNotExist
    from django.tasks.signals import task_enqueued, task_finished, task_started
    from django.utils.json import normalize_json

    #: The import name of the framework in use.
    PACKAGE = "django.tasks"
    #: Modules to import once the app registry is ready: they register the framework's system
    #: checks (which call every backend's `check()`) and its logging of task signals.
    _READY_MODULES = ("django.tasks", "django.tasks.signals")
else:
    from django_tasks import (
        DEFAULT_TASK_BACKEND_ALIAS,
        DEFAULT_TASK_QUEUE_NAME,
        TaskContext,
        TaskResult,
        TaskResultStatus,
        default_task_backend,
        task,
        task_backends,
    )
    from django_tasks.backends.base import BaseTaskBackend
    from django_tasks.base import Task, TaskError
    from django_tasks.exceptions import InvalidTaskBackendError as InvalidTaskBackend
    from django_tasks.exceptions import InvalidTaskError as InvalidTask
    from django_tasks.exceptions import TaskResultDoesNotExist
    from django_tasks.signals import task_enqueued, task_finished, task_started
    from django_tasks.utils import normalize_json

    PACKAGE = "django_tasks"
    # The backport's app does this in its ready(); doing it here too keeps the checks working
    # when "django_tasks" is missing from INSTALLED_APPS.
    _READY_MODULES = ("django_tasks.checks", "django_tasks.signals")

#: Whether `@task(...)` passes fields it does not know (such as tasks_google's `timeout`) on to
#: the backend's Task class: Django 6.1 and the backport do; on Django 6.0, set them with
#: `dataclasses.replace(task, timeout=...)`.
DECORATOR_TAKES_TASK_FIELDS = any(
    parameter.kind is Parameter.VAR_KEYWORD for parameter in signature(task).parameters.values()
)

#: The logger the framework reports enqueued, started and finished tasks on.
LOGGER_NAME = PACKAGE

__all__ = [
    "DECORATOR_TAKES_TASK_FIELDS",
    "DEFAULT_TASK_BACKEND_ALIAS",
    "DEFAULT_TASK_QUEUE_NAME",
    "LOGGER_NAME",
    "PACKAGE",
    "BaseTaskBackend",
    "InvalidTask",
    "InvalidTaskBackend",
    "Task",
    "TaskContext",
    "TaskError",
    "TaskResult",
    "TaskResultDoesNotExist",
    "TaskResultStatus",
    "default_task_backend",
    "normalize_json",
    "register_checks_and_signals",
    "task",
    "task_backends",
    "task_enqueued",
    "task_finished",
    "task_started",
]


def register_checks_and_signals() -> None:
    """Register the framework's system checks and signal logging (idempotent)."""
    for module in _READY_MODULES:
        import_module(module)
