"""`manage.py sync_queues`: make the Cloud Tasks queues match `OPTIONS["queue_config"]`.

Prints the plan, one line per queue of the backends' locations: [+] create (with its settings),
[~] update (each configured key that differs: old -> new), [=] matches, [?] not in any
queue_config (left alone: queues are never deleted). Then applies it unless --dry-run: CreateQueue
for a missing queue, UpdateQueue with a field mask of only the configured keys for one that
differs. A second run plans nothing but [=].
"""

from typing import Any

from django.core.management.base import CommandError, CommandParser
from google.api_core.exceptions import GoogleAPICallError

from tasks_google.control import queue_sync
from tasks_google.management.command_errors import TasksCommand, user_error_message


class Command(TasksCommand):
    help = __doc__
    # Invalid OPTIONS of a Cloud Tasks backend are refused in one line by the plan itself.
    requires_system_checks = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="print the plan only")

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            lines = queue_sync.plan()
        except GoogleAPICallError as exc:
            if user_error_message(exc) is not None:
                raise
            raise CommandError(f"Cloud Tasks refused to list the queues: {exc.message}") from exc
        for line in lines:
            self.stdout.write(str(line))
        pending = sum(line.action in "+~" for line in lines)
        if options["dry_run"]:
            self.stdout.write(f"{pending} change(s) planned; nothing applied (--dry-run).")
            return
        try:
            applied = queue_sync.apply(lines)
        except queue_sync.QueueSyncFailed as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{applied} change(s) applied.")
