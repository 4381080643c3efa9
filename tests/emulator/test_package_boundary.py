"""The emulator knows nothing of Django: importing all of it loads no django, tasks_google, tui."""

from __future__ import annotations

import subprocess
import sys

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
