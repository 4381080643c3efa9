"""The Task class of tasks_google backends: Django's Task plus a per-task `timeout`."""

from dataclasses import dataclass
from datetime import timedelta

from tasks_google.framework import Task as DjangoTask


@dataclass(frozen=True, slots=True, kw_only=True)
class Task(DjangoTask):
    """A `django.tasks.Task` with an optional `timeout` for one attempt.

    Each backend checks it against its platform's range and maps it onto it: Cloud Tasks'
    dispatch deadline (15 s to 30 min), a Run Jobs attempt timeout (up to 168 h). Set it with
    `@task(timeout=timedelta(minutes=5))` (Django 6.1, or 5.2 with the django-tasks backport) or
    `dataclasses.replace(task, timeout=...)` (Django 6.0).
    """

    timeout: timedelta | None = None
