"""`manage.py prune_tasks`: delete old finished executions (see `tasks_google.control.pruning`)."""

from datetime import timedelta
from typing import Any

from django.core.management.base import CommandParser

from tasks_google.control.pruning import DEFAULT_BATCH_SIZE, prune_executions
from tasks_google.management.command_errors import TasksCommand, require_at_least

DEFAULT_DAYS = 30.0


class Command(TasksCommand):
    help = (
        "Delete the executions that finished (successful, failed or cancelled) more than --days "
        "ago, and the schedule fire records as old. Unfinished executions are never deleted."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--days",
            type=float,
            default=DEFAULT_DAYS,
            help="Keep what finished within this many days (default: %(default)s).",
        )
        parser.add_argument(
            "--batch-size",
            type=int,
            default=DEFAULT_BATCH_SIZE,
            help="Rows deleted per statement (default: %(default)s).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="Count what would be deleted; delete nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        require_at_least(options, "--days", 0)
        require_at_least(options, "--batch-size", 1)
        days, batch_size = options["days"], options["batch_size"]
        report = prune_executions(
            timedelta(days=days), batch_size=batch_size, dry_run=options["dry_run"]
        )
        verb = "Would delete" if options["dry_run"] else "Deleted"
        self.stdout.write(
            f"{verb} {report.executions} finished execution(s) and {report.fires} schedule fire "
            f"record(s) older than {days:g} day(s)."
        )
