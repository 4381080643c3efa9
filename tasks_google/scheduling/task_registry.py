"""The tasks a project defines: every `django.tasks.Task` in its apps' `tasks` modules."""

import sys

from django.apps import apps
from django.utils.module_loading import autodiscover_modules

from tasks_google.framework import Task


def registered_tasks() -> dict[str, Task]:
    """{module path: Task} for the tasks of every installed app's `tasks` module."""
    autodiscover_modules("tasks")
    found: dict[str, Task] = {}
    for config in apps.get_app_configs():
        module = sys.modules.get(f"{config.name}.tasks")
        if module is None:
            continue
        for value in vars(module).values():
            if isinstance(value, Task):
                found[value.module_path] = value
    return dict(sorted(found.items()))
