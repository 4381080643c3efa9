"""`schedule_tasks`' plan: what Cloud Scheduler must change to match the code and the database.

Desired jobs come from `ScheduledTask` rows made in the admin or with `schedule_task()`, and from
schedules declared in code (`@periodic`, `PeriodicTask`). Only jobs in this project's namespace
are compared and deleted: ids `{schedule_job_prefix}...{schedule_job_suffix}`, and, when both
are empty, only jobs that POST to this project's `schedule_url`.
"""

from dataclasses import dataclass, field
from datetime import timedelta

from django.core.exceptions import ValidationError
from google.api_core.exceptions import GoogleAPICallError
from google.cloud import scheduler_v1

from tasks_google import clock
from tasks_google.config.options import Problem
from tasks_google.models import ScheduledTask
from tasks_google.scheduling.declarations import DeclaredSchedule, declared_schedules
from tasks_google.scheduling.rules import schedule_problems, stored_cron
from tasks_google.scheduling.schedules import host_backend, job_name, job_spec, scheduler_transport
from tasks_google.transports.scheduler_messages import job_message

#: The fields a plan compares, each with how it reads on a job.
_COMPARED = {
    "schedule": lambda j: j.schedule,
    "time zone": lambda j: "UTC" if j.time_zone in ("", "Etc/UTC", "UTC") else j.time_zone,
    "target": lambda j: (j.http_target.uri, j.http_target.http_method),
    "body": lambda j: j.http_target.body,
    "headers": lambda j: dict(j.http_target.headers),
    "oidc": lambda j: (
        j.http_target.oidc_token.service_account_email,
        j.http_target.oidc_token.audience,
    ),
    "retry": lambda j: (
        j.retry_config.retry_count,
        j.retry_config.min_backoff_duration,
        j.retry_config.max_backoff_duration,
        j.retry_config.max_doublings,
        j.retry_config.max_retry_duration,
    ),
    "deadline": lambda j: j.attempt_deadline,
    "description": lambda j: j.description,
}
#: Headers Cloud Scheduler sets or drops itself: not a difference worth an update.
_SERVICE_HEADERS = {"user-agent", "x-cloudscheduler"}


@dataclass
class PlanLine:
    action: str  # "+" create, "~" update, "-" delete, "=" unchanged
    job: str  # full job name
    schedule: str = ""  # the schedule's name ("" for a job no schedule claims)
    cron: str = ""  # as Cloud Scheduler gets it (for "-", as it has it)
    time_zone: str = ""
    changes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        job_id = self.job.rsplit("/", 1)[-1]
        detail = f": {', '.join(self.changes)}" if self.changes else ""
        return f"[{self.action}] {job_id} ({self.cron}, {self.time_zone or 'UTC'}){detail}"


@dataclass
class Plan:
    """What to change, the rows to save by job name, and the problems that forbid applying it."""

    lines: list[PlanLine]
    wanted: dict[str, ScheduledTask]
    problems: list[Problem]


class SyncFailed(Exception):
    """Cloud Scheduler refused a change of a plan that passed validation."""


def _row_for(declared: DeclaredSchedule, existing: ScheduledTask | None) -> ScheduledTask:
    """The row a code declaration becomes (not saved)."""
    row = existing or ScheduledTask(name=declared.name)
    row.task_path = declared.task_path
    row.backend = declared.backend or host_backend().alias
    row.queue = declared.queue
    row.cron = _cron_of(declared)
    row.time_zone = declared.time_zone
    row.args = list(declared.args)
    row.kwargs = dict(declared.kwargs)
    row.description = declared.description
    row.retry_count = declared.retry_count
    row.min_backoff_seconds = declared.min_backoff_seconds
    row.max_backoff_seconds = declared.max_backoff_seconds
    row.max_doublings = declared.max_doublings
    row.attempt_deadline_seconds = declared.attempt_deadline_seconds
    row.headers = dict(declared.headers)
    row.use_oidc = declared.use_oidc
    row.declared_in_code = True
    return row


def _cron_of(declared: DeclaredSchedule) -> str | timedelta:
    """The cron a declaration's row stores: its interval turned into cron; an interval cron
    cannot express stays as it is, for the plan to report (such a row is never saved)."""
    try:
        return stored_cron(declared.cron)
    except ValidationError:
        return declared.cron


def desired_rows() -> list[ScheduledTask]:
    """Every schedule that should exist: rows from the admin/API, and code declarations."""
    rows = {row.name: row for row in ScheduledTask.objects.all()}
    declared = declared_schedules()
    desired = [r for r in rows.values() if not r.declared_in_code and r.name not in declared]
    desired += [_row_for(d, rows.get(name)) for name, d in sorted(declared.items())]
    return sorted(desired, key=lambda row: row.name)


def _where(row: ScheduledTask) -> str:
    """Where a schedule is defined, for error messages."""
    declared = declared_schedules().get(row.name)
    if row.declared_in_code and declared is not None:
        return f"declared in {declared.module}"
    return "a ScheduledTask in the database"


def owns(job: scheduler_v1.Job) -> bool:
    config = host_backend().config
    job_id = job.name.rsplit("/", 1)[-1]
    prefix, suffix = config.schedule_job_prefix, config.schedule_job_suffix
    if not job_id.startswith(prefix) or not job_id.endswith(suffix):
        return False
    if prefix or suffix:
        return True
    return job.http_target.uri == config.schedule_url


def differences(current: scheduler_v1.Job, wanted: scheduler_v1.Job, enabled: bool) -> list[str]:
    changed = [
        label
        for label, read in _COMPARED.items()
        if (label != "headers" and read(current) != read(wanted))
        or (
            label == "headers"
            and {k: v for k, v in read(current).items() if k.lower() not in _SERVICE_HEADERS}
            != read(wanted)
        )
    ]
    paused = current.state == scheduler_v1.Job.State.PAUSED
    if paused == enabled:
        changed.append("enabled" if enabled else "paused")
    return changed


def plan() -> Plan:
    """Validate every desired schedule, then compare the valid ones with Cloud Scheduler."""
    config = host_backend().config
    remote = {
        job.name: job
        for job in scheduler_transport().list_scheduler_jobs(config.location_path)
        if owns(job)
    }
    wanted, problems, blocked = {}, [], set()
    for row in desired_rows():
        found = schedule_problems(row, _where(row))
        problems += found
        if found:
            blocked.add(job_name(row))  # neither created nor deleted
        else:
            wanted[job_name(row)] = row
    lines = []
    for name in sorted((set(remote) | set(wanted)) - blocked):
        row = wanted.get(name)
        if row is None:
            job = remote[name]
            lines.append(PlanLine("-", name, cron=job.schedule, time_zone=job.time_zone))
            continue
        spec = job_spec(row)
        changes = []
        if name in remote:
            changes = differences(remote[name], job_message(spec), row.enabled)
        action = "+" if name not in remote else "~" if changes else "="
        lines.append(PlanLine(action, name, row.name, spec.schedule, spec.time_zone, changes))
    return Plan(lines, wanted, problems)


_VERBS = {"+": "create", "~": "update", "-": "delete"}


def apply(plan: Plan) -> None:
    """Carry out a plan that has no problems: create and update jobs (saving their rows), delete
    the others, and drop rows of schedules no longer declared in code.

    Raises SyncFailed, naming the job and how much was applied before, if Cloud Scheduler
    refuses a change; the refused row keeps the error in `sync_error`.
    """
    transport = scheduler_transport()
    applied = 0
    for line in plan.lines:
        row = plan.wanted.get(line.job)
        try:
            if line.action == "-":
                transport.delete_scheduler_job(line.job)
            elif line.action in "+~":
                transport.upsert_scheduler_job(job_spec(row))
        except (GoogleAPICallError, ConnectionError) as exc:
            if row is not None:
                row.sync_error = f"{type(exc).__name__}: {exc}"
                row.save()
            job_id = line.job.rsplit("/", 1)[-1]
            raise SyncFailed(
                f"Cloud Scheduler refused to {_VERBS[line.action]} job {job_id}: {exc} "
                f"({applied} change(s) applied before it, none after)."
            ) from exc
        applied += line.action != "="
        if row is not None:
            row.remote_job_name, row.synced_at, row.sync_error = line.job, clock.now(), ""
            row.save()
    declared = set(declared_schedules())
    ScheduledTask.objects.filter(declared_in_code=True).exclude(name__in=declared).delete()
