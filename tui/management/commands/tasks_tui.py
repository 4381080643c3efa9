"""`manage.py tasks_tui`: the Textual dashboard of tasks_google executions."""

from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from tui.app import DEFAULT_POLL_INTERVAL, TasksDashboard


class Command(BaseCommand):
    help = "Watch and steer tasks_google executions in a terminal dashboard (q quits, ? helps)."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--interval",
            type=float,
            default=DEFAULT_POLL_INTERVAL,
            help=f"Seconds between refreshes (default {DEFAULT_POLL_INTERVAL}).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if options["interval"] <= 0:
            self.stderr.write("--interval must be a positive number of seconds.")
            return
        TasksDashboard(poll_interval=options["interval"]).run()
