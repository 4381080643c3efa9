"""One module imports the task framework (`django.tasks`, or the `django_tasks` backport on Django
5.2): tasks_google.framework. Everything else, tests included, reads it from there."""

import ast
from pathlib import Path

import pytest

from tasks_google import framework

REPO = Path(__file__).resolve().parents[2]
#: Where the code of tasks-google and its tests lives; tests/installed/project is a user's code.
CHECKED = ["tasks_google", "tui", "emulator", "tests", "bench"]
#: Modules of Django 6 whose names the backport has elsewhere.
MOVED_WITH_IT = {"django.utils.json"}
USERS_CODE = REPO / "tests" / "installed" / "project"


def framework_imports(path: Path) -> list[str]:
    found = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and not node.level:
            names = [node.module or ""]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        else:
            continue
        found += [n for n in names if n.split(".")[:2] == ["django", "tasks"]]
        found += [
            n
            for n in names
            if n.split(".")[:2] == ["django", "tasks"] or n.split(".")[0] == "django_tasks"
        ]
    return found


def modules() -> list[Path]:
    paths = [p for folder in CHECKED for p in (REPO / folder).rglob("*.py")]
    return sorted(p for p in paths if USERS_CODE not in p.parents and p != Path(framework.__file__))


@pytest.mark.parametrize("path", modules(), ids=lambda p: str(p.relative_to(REPO)))
def test_only_the_framework_module_imports_the_task_framework(path):
    assert framework_imports(path) == [], "import these names from tasks_google.framework"


def test_the_framework_module_does_import_it():
    assert framework_imports(Path(framework.__file__))
    assert framework.PACKAGE in {"django.tasks", "django_tasks"}
    assert framework.task_backends is not None and framework.InvalidTask is not None
