"""`schedule_tasks`' plan: what Cloud Scheduler must change to match the code and the database.

Desired jobs come from `ScheduledTask` rows made in the admin or with `schedule_task()`, and from
schedules declared in code (`@periodic`, `PeriodicTask`). Only jobs in this project's namespace
are compared and deleted: ids `{schedule_job_prefix}...{schedule_job_suffix}`, and, when both
are empty, only jobs that target this project's `schedule/` endpoint.
"""

from dataclasses import dataclass, field

from google.cloud import scheduler_v1

from tasks_google import clock
from tasks_google.models import ScheduledTask
from tasks_google.schedule_declarations import DeclaredSchedule, declared_schedules
from tasks_google.scheduling import host_backend, job_name, job_spec, scheduler_transport
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
    changes: list[str] = field(default_factory=list)

    def __str__(self) -> str:
        job_id = self.job.rsplit("/", 1)[-1]
        detail = f" ({', '.join(self.changes)})" if self.changes else ""
        return f"[{self.action}] {job_id}{detail}"


def _row_for(declared: DeclaredSchedule, existing: ScheduledTask | None) -> ScheduledTask:
    """The row a code declaration becomes (not saved)."""
    row = existing or ScheduledTask(name=declared.name)
    row.task_path = declared.task_path
    row.backend = declared.backend or host_backend().alias
    row.queue = declared.queue
    row.cron = declared.cron
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


def desired_rows() -> list[ScheduledTask]:
    """Every schedule that should exist: rows from the admin/API, and code declarations."""
    rows = {row.name: row for row in ScheduledTask.objects.all()}
    declared = declared_schedules()
    desired = [row for row in rows.values() if not row.declared_in_code]
    desired += [_row_for(d, rows.get(name)) for name, d in sorted(declared.items())]
    return sorted(desired, key=lambda row: row.name)


def owns(job: scheduler_v1.Job) -> bool:
    config = host_backend().config
    job_id = job.name.rsplit("/", 1)[-1]
    prefix, suffix = config.schedule_job_prefix, config.schedule_job_suffix
    if not job_id.startswith(prefix) or not job_id.endswith(suffix):
        return False
    if prefix or suffix:
        return True
    return job.http_target.uri == config.base_url + "schedule/"


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


def plan() -> tuple[list[PlanLine], dict[str, ScheduledTask]]:
    """The plan, and the desired rows by job name."""
    config = host_backend().config
    remote = {
        job.name: job
        for job in scheduler_transport().list_scheduler_jobs(config.location_path)
        if owns(job)
    }
    wanted = {job_name(row): row for row in desired_rows()}
    lines = []
    for name in sorted(set(remote) | set(wanted)):
        row = wanted.get(name)
        if row is None:
            lines.append(PlanLine("-", name))
        elif name not in remote:
            lines.append(PlanLine("+", name, row.name))
        else:
            changes = differences(remote[name], job_message(job_spec(row)), row.enabled)
            lines.append(PlanLine("~" if changes else "=", name, row.name, changes))
    return lines, wanted


def apply(lines: list[PlanLine], wanted: dict[str, ScheduledTask]) -> None:
    """Carry out a plan: create and update jobs (saving their rows), delete the others, and drop
    rows of schedules no longer declared in code."""
    transport = scheduler_transport()
    declared = set(declared_schedules())
    for line in lines:
        if line.action == "-":
            transport.delete_scheduler_job(line.job)
            continue
        row = wanted[line.job]
        if line.action in "+~":
            transport.upsert_scheduler_job(job_spec(row))
        row.remote_job_name, row.synced_at, row.sync_error = line.job, clock.now(), ""
        row.save()
    ScheduledTask.objects.filter(declared_in_code=True).exclude(name__in=declared).delete()
