"""`manage.py tasks_doctor`: check the configuration against the cloud it points at.

One line per check, `[ok] ...` or `[!!] ...` followed by an indented line saying what to do;
exit status 0 only when every check passes (`tasks_google.control.doctor` holds the checks).
"""

from typing import Any

from django.core.management.base import CommandError

from tasks_google.control.doctor import run_doctor
from tasks_google.management.command_errors import TasksCommand

#: How the line of a check's hint is indented under it.
HINT_INDENT = "     "


class Command(TasksCommand):
    help = (
        "Check every tasks_google backend against the cloud it points at (Google, an emulator "
        "server, or the in-process emulator): OPTIONS, the emulator, https URLs, OIDC settings, "
        "that each queue or job exists, and the permissions the caller holds on it. Changes "
        "nothing; exits 1 if a check fails."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        checks = run_doctor()
        for check in checks:
            if check.ok:
                self.stdout.write(f"[ok] {check.message}")
            else:
                self.stdout.write(f"[!!] {check.message}")
                self.stdout.write(f"{HINT_INDENT}{check.hint}")
        failed = sum(not check.ok for check in checks)
        if failed:
            raise CommandError(f"{failed} of {len(checks)} checks failed.")
        self.stdout.write(f"All {len(checks)} checks passed.")
