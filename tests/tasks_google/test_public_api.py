"""Every name in `tasks_google.__all__` is the documented object, before and after app loading."""

import importlib
import inspect
import pkgutil
import subprocess
import sys
import textwrap
import types

import tasks_google


def _submodule_names() -> set[str]:
    return {info.name for info in pkgutil.iter_modules(tasks_google.__path__)}


def test_no_public_name_is_shadowed_by_a_submodule():
    # Importing a submodule binds it on the package, hiding a lazy export of the same name.
    assert not set(tasks_google.__all__) & _submodule_names()


def test_every_public_name_is_its_home_object_once_every_module_is_loaded():
    for info in pkgutil.walk_packages(tasks_google.__path__, "tasks_google."):
        if ".migrations" not in info.name and not info.name.endswith("pytest_plugin"):
            importlib.import_module(info.name)
    for name in tasks_google.__all__:
        value = getattr(tasks_google, name)
        assert not isinstance(value, types.ModuleType), name
        home = importlib.import_module(tasks_google._PUBLIC[name])
        assert value is getattr(home, name), name


def test_public_names_from_a_fresh_interpreter_before_and_after_setup():
    """`from tasks_google import X` gives the same object before and after `django.setup()`."""
    script = textwrap.dedent(
        """
        import os, types
        os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
        from django.core.exceptions import AppRegistryNotReady
        import tasks_google
        before = {}
        for name in tasks_google.__all__:
            try:
                before[name] = getattr(tasks_google, name)
            except AppRegistryNotReady:
                pass  # models and what imports them need the app registry
        import django
        django.setup()
        from tasks_google import periodic
        assert callable(periodic) and not isinstance(periodic, types.ModuleType), periodic
        for name in tasks_google.__all__:
            value = getattr(tasks_google, name)
            assert not isinstance(value, types.ModuleType), name
            assert name not in before or before[name] is value, name
        assert {"periodic", "PeriodicTask", "PermanentTaskError"} <= set(before), sorted(before)
        print("ok", len(before))
        """
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False, timeout=60
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("ok")


def test_periodic_is_the_decorator():
    from tasks_google import periodic

    assert inspect.isfunction(periodic)
