"""The "as installed" stage: the wheel in a new project, used the way the docs say.

    python -m tests.installed [--keep] [--django52]

Builds the wheel, installs it into a fresh virtual environment with only what the README tells a
user to install, creates a project with `django-admin startproject`, adds the code that README.md
and docs/*.md tell a user to paste (see `doc_snippets`) and the tests a user would write
(`tests/installed/project/`), then runs `manage.py check` and the project's own pytest, in a
clean environment, outside this repository. Exits with the first failing step's status.

With `--django52`, the user is on Django 5.2 LTS and does what the README says for it: installs
the `django52` extra, adds "django_tasks" to INSTALLED_APPS and imports from `django_tasks` where
the docs write `django.tasks` (with the backport's names for two exceptions).
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from tests.installed import doc_snippets

REPO = Path(__file__).resolve().parents[2]
USER_FILES = Path(__file__).resolve().parent / "project"
#: The extras the docs' snippets need: the dashboard's app is in the settings they add.
EXTRAS = "dashboard"
#: What README.md tells a user on Django 5.2 to do: the extra, the backport's app, its imports.
DJANGO52_EXTRA = "django52"
DJANGO52_APP = "django_tasks"
DJANGO52_NAMES = {
    r"\bdjango\.tasks\b": "django_tasks",
    r"\bInvalidTaskBackend\b": "InvalidTaskBackendError",
    r"\bInvalidTask\b": "InvalidTaskError",
}
#: What README.md tells a user to install to run the documented tests.
USER_REQUIREMENTS = ["pytest", "pytest-django"]
#: The user's own app, created with `manage.py startapp`.
USER_APP = "myapp"
#: Variables of this repository's own runs that a user's shell would not have.
FOREIGN_ENV_PREFIXES = ("CLOUD_TASKS_", "CLOUD_RUN_", "CLOUD_SCHEDULER_", "TASKS_GOOGLE_")
FOREIGN_ENV = {"DJANGO_SETTINGS_MODULE", "PYTHONPATH", "VIRTUAL_ENV", "UV_PROJECT_ENVIRONMENT"}


class StepFailed(Exception):
    def __init__(self, returncode: int) -> None:
        self.returncode = returncode


def uv_command() -> list[str]:
    """uv itself: `uv run` says where it is; else the one on PATH; else the module."""
    found = os.environ.get("UV") or shutil.which("uv")
    return [found] if found else [sys.executable, "-m", "uv"]


def user_env(venv: Path) -> dict[str, str]:
    """A user's shell with the project's virtual environment activated, nothing of ours."""
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in FOREIGN_ENV and not key.startswith(FOREIGN_ENV_PREFIXES)
    }
    env["PATH"] = f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}"
    env["VIRTUAL_ENV"] = str(venv)
    return env


def run(step: str, command: list[str], cwd: Path, env: dict[str, str] | None = None) -> None:
    started = time.monotonic()
    print(f"--- {step}: {' '.join(map(str, command))}", flush=True)
    done = subprocess.run(command, cwd=cwd, env=env, check=False)
    print(f"--- {step}: exit {done.returncode} in {time.monotonic() - started:.1f} s", flush=True)
    if done.returncode != 0:
        raise StepFailed(done.returncode)


def install(work: Path, extras: str) -> Path:
    """Build the wheel and install it, with the documented test tools, into a new venv."""
    uv = uv_command()
    run("build the wheel", [*uv, "build", "--wheel", "--out-dir", str(work / "dist")], REPO)
    [wheel] = (work / "dist").glob("*.whl")
    venv = work / "venv"
    run("new virtual environment", [*uv, "venv", "-q", "--python", sys.executable, venv], work)
    python = venv / "bin" / "python"
    run(
        "pip install the wheel",
        [*uv, "pip", "install", "-q", "--python", python, f"{wheel}[{extras}]", *USER_REQUIREMENTS],
        work,
    )
    return venv


def create_project(work: Path, venv: Path) -> Path:
    """startproject + startapp, then the docs' snippets and the user's own files."""
    env = user_env(venv)
    project = work / "mysite"
    project.mkdir()
    run("startproject", ["django-admin", "startproject", "mysite", "."], project, env)
    run("startapp", ["python", "manage.py", "startapp", USER_APP], project, env)
    settings = project / "mysite" / "settings.py"
    settings.write_text(settings.read_text() + f"\nINSTALLED_APPS += [{USER_APP!r}]\n")
    for relative, code in doc_snippets.project_files(REPO).items():
        append(project / relative, code)
    for source in sorted(USER_FILES.rglob("*")):
        if source.is_file() and "__pycache__" not in source.parts:
            append(project / source.relative_to(USER_FILES), source.read_text())
    return project


def follow_django52_instructions(project: Path) -> None:
    """The README's steps for Django 5.2: the backport's app first, then its import names."""
    settings = project / "mysite" / "settings.py"
    settings.write_text(
        settings.read_text()
        + f"\nINSTALLED_APPS.insert(INSTALLED_APPS.index('tasks_google'), {DJANGO52_APP!r})\n"
    )
    for path in project.rglob("*.py"):
        code = path.read_text()
        for pattern, replacement in DJANGO52_NAMES.items():
            code = re.sub(pattern, replacement, code)
        path.write_text(code)


def append(path: Path, code: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    existing = path.read_text() if path.exists() else ""
    path.write_text(existing + code)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--keep", action="store_true", help="keep the project directory")
    parser.add_argument(
        "--django52", action="store_true", help="a user on Django 5.2 LTS with the backport"
    )
    options = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="tasks-google-installed-"))
    try:
        extras = f"{EXTRAS},{DJANGO52_EXTRA}" if options.django52 else EXTRAS
        venv = install(work, extras)
        project = create_project(work, venv)
        if options.django52:
            follow_django52_instructions(project)
        env = user_env(venv)
        run("the Django installed", ["python", "-m", "django", "--version"], project, env)
        run("manage.py check", ["python", "manage.py", "check"], project, env)
        run("the project's tests", ["python", "-m", "pytest", "-q"], project, env)
    except StepFailed as failure:
        print(f"The as-installed stage failed; project in {work}.", file=sys.stderr)
        return failure.returncode
    except doc_snippets.UnmarkedSnippet as unmarked:
        print(unmarked, file=sys.stderr)
        return 1
    if options.keep:
        print(f"Project kept in {work}.")
    else:
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
