"""`manage.py import_schedules_from_dtg`: copy django-tasks-google's schedules into ours.

Reads the table django-tasks-google left in the database (the app need not be installed any
more) and creates or updates a `ScheduledTask` of the same name for each row: [+] created,
[~] updated (the fields that differed), [=] unchanged, [!] skipped with the reason (a task that
cannot be imported, a cron Cloud Scheduler refuses, a name declared in code). Nothing reaches
Cloud Scheduler: run `manage.py schedule_tasks` next, which shows the plan. With --dry-run
nothing is saved either. Exit status 1 when a schedule was skipped.
"""

from typing import Any

from django.core.management.base import CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS

from tasks_google.management.command_errors import TasksCommand
from tasks_google.scheduling.dtg_import import SourceMissing, import_schedules


class Command(TasksCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--dry-run", action="store_true", help="show what would be imported")
        parser.add_argument(
            "--database", default=DEFAULT_DB_ALIAS, help="the database alias to read and write"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            results = import_schedules(dry_run=options["dry_run"], using=options["database"])
        except SourceMissing as missing:
            raise CommandError(str(missing)) from missing
        for result in results:
            line = f"[{result.action}] {result.name}: {result.detail}"
            (self.stderr if result.action == "!" else self.stdout).write(line)
        skipped = sum(result.action == "!" for result in results)
        verb = "Would import" if options["dry_run"] else "Imported"
        self.stdout.write(
            f"{verb} {len(results) - skipped} of {len(results)} schedule(s); "
            "next, `manage.py schedule_tasks` makes Cloud Scheduler match."
        )
        if skipped:
            raise CommandError(f"{skipped} schedule(s) skipped; see the [!] lines.")
