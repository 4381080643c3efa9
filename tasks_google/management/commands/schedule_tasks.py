"""`manage.py schedule_tasks`: make Cloud Scheduler match the schedules in code and the database.

Checks every schedule first: a cron, time zone or limit Cloud Scheduler would refuse, or a task
that cannot run with the schedule's arguments, is a [!] line on stderr, and then nothing is
applied (exit status 1). Prints the plan ([+] create, [~] update with the fields that differ,
[-] delete, [=] unchanged; each with its cron and time zone), then applies it unless --dry-run.
Also the runbook operations: --list, --run, --pause, --resume, --delete-all, and --eager to run
each declared task once, locally.
"""

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import CommandError, CommandParser
from google.rpc import code_pb2

from tasks_google.executions import load_task
from tasks_google.management.command_errors import TasksCommand
from tasks_google.models import ScheduledTask
from tasks_google.scheduling import sync
from tasks_google.scheduling.declarations import declared_schedules, discover_schedules
from tasks_google.scheduling.schedules import (
    host_backend,
    job_name,
    next_fire_times,
    pause_schedule,
    resume_schedule,
    run_schedule,
    scheduler_transport,
)


class Command(TasksCommand):
    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        actions = parser.add_mutually_exclusive_group()
        actions.add_argument("--dry-run", action="store_true", help="print the plan only")
        actions.add_argument("--list", action="store_true", help="list this project's jobs")
        actions.add_argument("--run", metavar="NAME", help="fire a schedule now")
        actions.add_argument("--pause", metavar="NAME", help="pause a schedule")
        actions.add_argument("--resume", metavar="NAME", help="resume a schedule")
        actions.add_argument(
            "--delete-all", action="store_true", help="delete every job of this namespace"
        )
        actions.add_argument(
            "--eager", action="store_true", help="run each declared task once, here and now"
        )
        parser.add_argument("--yes", action="store_true", help="do not ask for confirmation")

    def handle(self, *args: Any, **options: Any) -> None:
        discover_schedules()
        if options["list"]:
            return self._list()
        for action in ("run", "pause", "resume"):
            if options[action]:
                return self._operate(action, options[action])
        if options["delete_all"]:
            return self._delete_all(options["yes"])
        if options["eager"]:
            return self._eager()
        self._sync(options["dry_run"])

    def _sync(self, dry_run: bool) -> None:
        plan = sync.plan()
        for line in plan.lines:
            self.stdout.write(str(line))
        for problem in plan.problems:
            self.stderr.write(f"[!] {problem.msg} ({problem.id})")
        if plan.problems:
            raise CommandError(f"{len(plan.problems)} problem(s) above; nothing applied.")
        pending = [line for line in plan.lines if line.action != "="]
        if dry_run:
            self.stdout.write(f"{len(pending)} change(s) planned; nothing applied (--dry-run).")
            return
        try:
            sync.apply(plan)
        except sync.SyncFailed as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{len(pending)} change(s) applied.")

    def _operate(self, action: str, name: str) -> None:
        operation = {"run": run_schedule, "pause": pause_schedule, "resume": resume_schedule}
        try:
            operation[action](name)
        except ScheduledTask.DoesNotExist as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(f"{action}: {name}")

    def _list(self) -> None:
        config = host_backend().config
        jobs = {
            job.name: job
            for job in scheduler_transport().list_scheduler_jobs(config.location_path)
            if sync.owns(job)
        }
        for row in sync.desired_rows():
            job = jobs.get(job_name(row))
            state = job.state.name if job else "NOT SYNCED"
            try:
                following = next_fire_times(row.cron, row.time_zone, count=1)[0].isoformat()
            except ValidationError:
                following = "never (invalid cron or time zone)"
            last = _result_name(job.status.code) if job and job.last_attempt_time else "-"
            # A declared interval that cron cannot express is still a timedelta here.
            fields = [row.name, str(row.cron), row.time_zone, state, f"next {following}"]
            fields.append(f"last result {last}")
            if row.fire_error:
                fields.append(f"fire error: {row.fire_error}")
            self.stdout.write("\t".join(fields))

    def _delete_all(self, yes: bool) -> None:
        config = host_backend().config
        jobs = [
            job
            for job in scheduler_transport().list_scheduler_jobs(config.location_path)
            if sync.owns(job)
        ]
        if not jobs:
            self.stdout.write("No job in this namespace.")
            return
        for job in jobs:
            self.stdout.write(f"[-] {job.name.rsplit('/', 1)[-1]}")
        if not yes:
            answer = input(f"Delete these {len(jobs)} job(s)? [y/N] ")
            if answer.strip().lower() not in ("y", "yes"):
                raise CommandError("Nothing deleted.")
        for job in jobs:
            scheduler_transport().delete_scheduler_job(job.name)
        self.stdout.write(f"Deleted {len(jobs)} job(s).")

    def _eager(self) -> None:
        for name, declared in sorted(declared_schedules().items()):
            task = load_task(declared.task_path)
            value = task.call(*declared.args, **declared.kwargs)
            self.stdout.write(f"{name}: {value!r}")


def _result_name(code: int) -> str:
    """A job's last result as its google.rpc code name ("OK", "NOT_FOUND", ...)."""
    try:
        return code_pb2.Code.Name(code)
    except ValueError:
        return f"code {code}"
