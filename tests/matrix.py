"""The Django-app suite on the other Django versions tasks-google supports.

    python -m tests.matrix [--stack NAME ...] [pytest arguments]

The development environment runs the newest Django (6.1); each stack here is a virtual
environment of its own under `.matrix/`, with the locked test tools and the package installed
from this checkout, on another Django:

- `django52`: Django 5.2 LTS with the `django-tasks` backport, as the `django52` extra installs it;
- `django60`: Django 6.0.

Each runs `tests/tasks_google` on SQLite (the LTS also `tests/tui`, the dashboard's). Exits with
the first failing stack's status.
"""

import argparse
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.installed.__main__ import uv_command

REPO = Path(__file__).resolve().parents[1]
ENVIRONMENTS = REPO / ".matrix"


@dataclass(frozen=True)
class Stack:
    name: str
    #: Extras of tasks-google besides the dashboard's.
    extras: tuple[str, ...] = ()
    #: Requirements installed over the locked ones.
    over: tuple[str, ...] = ()
    #: What runs there: the Django app's tests, and on the LTS the dashboard's too.
    tests: tuple[str, ...] = ("tests/tasks_google",)


STACKS = {
    stack.name: stack
    for stack in (
        Stack("django52", extras=("django52",), tests=("tests/tasks_google", "tests/tui")),
        Stack("django60", over=("django>=6.0,<6.1",)),
    )
}


def prepare(stack: Stack) -> Path:
    """The stack's environment, brought in line with the lock file (quick once it exists)."""
    environment = ENVIRONMENTS / stack.name
    extras = [arg for extra in ("dashboard", *stack.extras) for arg in ("--extra", extra)]
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(environment)}
    sync = [*uv_command(), "sync", "-q", "--frozen", "--no-dev", "--group", "test", *extras]
    subprocess.run(sync, cwd=REPO, env=env, check=True)
    python = environment / "bin" / "python"
    if stack.over:
        install = [*uv_command(), "pip", "install", "-q", "--python", str(python), *stack.over]
        subprocess.run(install, cwd=REPO, check=True)
    return python


def run(stack: Stack, pytest_args: list[str]) -> int:
    started = time.monotonic()
    python = prepare(stack)
    version = subprocess.run(
        [python, "-c", "import django; print(django.get_version())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    print(f"--- {stack.name}: Django {version}", flush=True)
    env = {k: v for k, v in os.environ.items() if k not in ("VIRTUAL_ENV", "PYTHONPATH")}
    command = [python, "-m", "pytest", "-q", "-n", "auto", *stack.tests, *pytest_args]
    done = subprocess.run(command, cwd=REPO, env=env, check=False)
    print(f"--- {stack.name}: exit {done.returncode} in {time.monotonic() - started:.0f} s")
    return done.returncode


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--stack", action="append", choices=sorted(STACKS), help="default: all")
    options, pytest_args = parser.parse_known_args()
    for name in options.stack or list(STACKS):
        returncode = run(STACKS[name], pytest_args)
        if returncode:
            return returncode
    return 0


if __name__ == "__main__":
    sys.exit(main())
