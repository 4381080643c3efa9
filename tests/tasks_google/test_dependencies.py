"""A plain `pip install tasks-google` (no extra; on Django 5.2, only the `django52` extra the README
names) runs the documented tests.

The flow runs in fresh interpreters (the test runner and the Run Jobs subprocesses) that cannot
import any installed distribution outside the package's base requirements: one that is needed
but only comes with an extra fails the flow; optional imports (e.g. Django's of jinja2) do not.
"""

import json
import os
import subprocess
import sys
from importlib import metadata
from pathlib import Path

from django.db import connection
from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

from tasks_google import framework

REPO = Path(__file__).resolve().parents[2]
#: What the README tells a user to install, on this Django.
PLAIN_INSTALL = "tasks-google" if framework.PACKAGE == "django.tasks" else "tasks-google[django52]"
#: The database driver is the project's own requirement (the suite's, under PostgreSQL).
DRIVERS = {"postgresql": "psycopg[binary]"}

# Installed in every interpreter of the flow (through PYTHONPATH): imports of the top-level
# modules named in $UNINSTALLED_MODULES fail as if they were not installed.
SITECUSTOMIZE = """\
import json
import os
import sys

_UNINSTALLED = frozenset(json.loads(os.environ.get("UNINSTALLED_MODULES", "[]")))


class _NotInstalled:
    @staticmethod
    def find_spec(name, path=None, target=None):
        if name.partition(".")[0] in _UNINSTALLED:
            raise ModuleNotFoundError(f"No module named {name!r} (not in a plain install)")
        return None


sys.meta_path.insert(0, _NotInstalled)
"""


def base_requirements(requirement: str) -> set[str]:
    """The distributions installing `requirement` (a name, with extras if given) brings, its own
    included."""
    wanted: dict[str, set[str]] = {}
    top = Requirement(requirement)
    pending = [(canonicalize_name(top.name), frozenset(top.extras))]
    while pending:
        dist_name, extras = pending.pop()
        known = wanted.get(dist_name)
        if known is not None and extras <= known:
            continue
        wanted.setdefault(dist_name, set()).update(extras)
        try:
            requires = metadata.distribution(dist_name).requires or []
        except metadata.PackageNotFoundError:
            continue  # for another platform or Python
        for text in requires:
            requirement = Requirement(text)
            marker = requirement.marker
            if marker is None or any(marker.evaluate({"extra": e}) for e in extras | {""}):
                pending.append((canonicalize_name(requirement.name), frozenset(requirement.extras)))
    return set(wanted)


def modules_outside(allowed: set[str]) -> list[str]:
    """Top-level modules that only distributions outside `allowed` provide."""
    return sorted(
        module
        for module, dists in metadata.packages_distributions().items()
        if not any(canonicalize_name(d) in allowed for d in dists)
    )


def test_base_requirements_follow_extras_of_requirements():
    base = base_requirements("tasks-google")
    # google-cloud-tasks asks for google-api-core[grpc], which brings grpcio-status.
    assert {"django", "google-cloud-tasks", "google-api-core", "grpcio-status"} <= base
    assert "textual" not in base and "watchfiles" not in base  # the dashboard and dev extras


def test_the_in_process_emulator_needs_no_extra(tmp_path):
    (tmp_path / "sitecustomize.py").write_text(SITECUSTOMIZE)
    allowed = base_requirements(PLAIN_INSTALL)
    if connection.vendor in DRIVERS:
        allowed |= base_requirements(DRIVERS[connection.vendor])
    uninstalled = modules_outside(allowed)
    assert "textual" in uninstalled  # installed here, but not by a plain install
    env = {
        **os.environ,
        "PYTHONPATH": os.pathsep.join([str(tmp_path), str(REPO)]),
        "UNINSTALLED_MODULES": json.dumps(uninstalled),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
    }
    env.pop("TASKS_GOOGLE_TEST_DB_NAME", None)
    run = subprocess.run(
        [sys.executable, "-m", "django", "test", "tests.tasks_google.plain_install_flow"],
        env=env,
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert run.returncode == 0, run.stdout + run.stderr
    assert "Ran 1 test" in run.stderr
