"""The emulator knows nothing of Django: importing all of it loads no django, tasks_google, tui."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

from tests.emulator.emulator_process import REPO


def test_emulator_imports_neither_django_nor_tasks_google_nor_tui():
    code = (
        "import sys, emulator, emulator.server.cli, emulator.server, emulator.kit.http_delivery, "
        "emulator.kit.realtime\n"
        "roots = {m.split('.')[0] for m in sys.modules}\n"
        "loaded = sorted(roots & {'django', 'tasks_google', 'tui'})\n"
        "print(','.join(loaded))"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True
    )

    assert result.stdout.strip() == ""


SERVICES = ("cloud_tasks", "scheduler", "run_jobs")


def _emulator_imports(path: Path) -> set[str]:
    """The ``emulator`` modules (and ``from emulator import x`` names) a file imports."""
    imported: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            imported.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module:
            imported.add(node.module)
            imported.update(f"{node.module}.{alias.name}" for alias in node.names)
    return {name for name in imported if name.split(".")[0] == "emulator"}


def test_no_service_imports_another_and_the_kit_imports_none():
    """What two services share lives in emulator/kit, which knows none of them."""
    offenders = []
    for package in (*SERVICES, "kit"):
        for path in sorted((REPO / "emulator" / package).rglob("*.py")):
            for module in sorted(_emulator_imports(path)):
                parts = module.split(".")
                if len(parts) > 1 and parts[1] in SERVICES and parts[1] != package:
                    offenders.append(f"{path.relative_to(REPO)} imports {module}")

    assert offenders == []
