"""System checks of the schedules declared in code (`@periodic`, `PeriodicTask`).

`manage.py check` imports every installed app's `tasks` and `periodic` modules and reports each
declaration Cloud Scheduler would refuse, or whose fires could not run its task, naming the
schedule and the module that declares it (ids in `schedule_rules`).
"""

from importlib import import_module
from typing import Any

from django.apps import apps
from django.core import checks
from django.utils.module_loading import module_has_submodule

from tasks_google.scheduling.declarations import DECLARING_MODULES, declared_schedules
from tasks_google.scheduling.rules import IMPORT_FAILED, schedule_problems

#: Their tag: `manage.py check --tag schedules` runs only them.
TAG = "schedules"


def check_declared_schedules(**kwargs: Any) -> list[checks.CheckMessage]:
    """An error per problem of each schedule declared in code."""
    found = _import_declaring_modules()
    found += [
        checks.Error(problem.msg, hint=problem.hint, id=problem.id)
        for declared in declared_schedules().values()
        for problem in schedule_problems(declared, f"declared in {declared.module}")
    ]
    return found


def _import_declaring_modules() -> list[checks.CheckMessage]:
    """Import the modules that declare schedules; a warning for each that cannot be imported
    (reported rather than raised, so the other checks still run and say what is wrong)."""
    failed: list[checks.CheckMessage] = []
    for config in apps.get_app_configs():
        for name in DECLARING_MODULES:
            if not module_has_submodule(config.module, name):
                continue
            try:
                import_module(f"{config.name}.{name}")
            except Exception as exc:
                failed.append(
                    checks.Warning(
                        f"{config.name}.{name} cannot be imported, so its schedules were not "
                        f"checked: {type(exc).__name__}: {exc}",
                        id=IMPORT_FAILED,
                    )
                )
    return failed
