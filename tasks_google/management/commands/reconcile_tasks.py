"""`manage.py reconcile_tasks`: leave no execution hanging (`tasks_google.control.reconcile`)."""

from datetime import timedelta
from typing import Any

from django.core.management.base import CommandError, CommandParser

from tasks_google.control.reconcile import DEFAULT_GRACE, DEFAULT_LIMIT, DEFAULT_STALE, reconcile
from tasks_google.management.command_errors import TasksCommand, require_at_least


class Command(TasksCommand):
    help = (
        "Create the missing Cloud Task / Run Jobs execution of every READY execution whose "
        "creation never happened (process died or the API failed after commit), record as "
        "cancelled the executions whose forced cancel killed the attempt, and record FAILED the "
        "stale executions whose remote work is over (Cloud Task purged, deleted or given up on; "
        "Run Jobs execution ended). Safe to run repeatedly."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            type=float,
            default=DEFAULT_GRACE.total_seconds(),
            metavar="SECONDS",
            help="Only executions enqueued at least this long ago (default: %(default)s).",
        )
        parser.add_argument(
            "--stale-after",
            type=float,
            default=DEFAULT_STALE.total_seconds(),
            metavar="SECONDS",
            help="Check unfinished executions untouched for this long against the service "
            "(default: %(default)s).",
        )
        parser.add_argument(
            "--limit",
            type=int,
            default=DEFAULT_LIMIT,
            help="At most this many executions per run (default: %(default)s).",
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="List what would be done; change nothing."
        )

    def handle(self, *args: Any, **options: Any) -> None:
        require_at_least(options, "--older-than", 0, " seconds")
        require_at_least(options, "--stale-after", 0, " seconds")
        require_at_least(options, "--limit", 1)
        report = reconcile(
            grace=timedelta(seconds=options["older_than"]),
            limit=options["limit"],
            dry_run=options["dry_run"],
            stale=timedelta(seconds=options["stale_after"]),
        )
        verb = "Would re-create" if options["dry_run"] else "Re-created"
        for execution_id in report.recreated:
            self.stdout.write(f"{verb} {execution_id}")
        for execution_id in report.cancelled:
            cancelled = "Would record" if options["dry_run"] else "Recorded"
            self.stdout.write(f"{cancelled} {execution_id} as cancelled (its attempt was killed)")
        for execution_id in report.abandoned:
            failed = "Would record" if options["dry_run"] else "Recorded"
            self.stdout.write(f"{failed} {execution_id} as FAILED (its remote work is over)")
        self.stdout.write(
            f"{verb} {len(report.recreated)}, failed {len(report.failed)}, "
            f"skipped {len(report.skipped)}, abandoned {len(report.abandoned)}."
        )
        if report.failed:
            raise CommandError(
                f"{len(report.failed)} could not be re-created or checked; see the log."
            )
