"""Run now / pause / resume a schedule from the dashboard, through the public tasks_google API.

The cloud view lists Cloud Scheduler jobs by name; an action applies to the `ScheduledTask`
that owns the job. Jobs that belong to no schedule of this project are left alone.
"""

from tasks_google import ScheduledTask, pause_schedule, resume_schedule, run_schedule
from tasks_google.scheduling.schedules import job_name
from tui.cloud_state import resource_id


def _owner(name: str) -> ScheduledTask | None:
    """The schedule whose Cloud Scheduler job is `name`, if any."""
    row = ScheduledTask.objects.filter(remote_job_name=name).first()
    if row is not None:
        return row
    return next((r for r in ScheduledTask.objects.all() if job_name(r) == name), None)


def run_now(name: str) -> str:
    """Fire the Scheduler job `name` now; say so."""
    row = _owner(name)
    if row is None:
        return f"{resource_id(name)} is not a schedule of this project; left alone."
    run_schedule(row.name)
    return f"Ran {resource_id(name)} now."


def set_paused(name: str, paused: bool) -> str:
    """Pause or resume the Scheduler job `name`; say so."""
    row = _owner(name)
    if row is None:
        return f"{resource_id(name)} is not a schedule of this project; left alone."
    (pause_schedule if paused else resume_schedule)(row.name)
    verb = "Paused" if paused else "Resumed"
    return f"{verb} {resource_id(name)} (schedule {row.name!r})."
