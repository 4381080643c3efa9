"""`manage.py tasks_tui`: the Textual dashboard of tasks_google executions."""

from typing import Any

from django.core.management.base import CommandError, CommandParser

from tasks_google.config.dev_emulator import follow_dev_emulator
from tasks_google.management.command_errors import TasksCommand
from tui.app import DEFAULT_POLL_INTERVAL, TasksDashboard

#: The shortest refresh interval the command accepts: faster would only load the database.
MIN_INTERVAL = 0.2


class Command(TasksCommand):
    help = "Watch and steer tasks_google executions in a terminal dashboard (q quits, ? helps)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval",
            type=float,
            default=DEFAULT_POLL_INTERVAL,
            help=f"Seconds between refreshes, at least {MIN_INTERVAL} "
            f"(default {DEFAULT_POLL_INTERVAL}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        interval = options["interval"]
        if not interval >= MIN_INTERVAL:  # also refuses nan
            raise CommandError(
                f"--interval must be at least {MIN_INTERVAL} seconds (got {interval:g})."
            )
        # Next to a running `tasks_dev` (or `tasks_emulator`), watch its emulator even though
        # this shell exports nothing.
        follow_dev_emulator()
        TasksDashboard(poll_interval=interval).run()
