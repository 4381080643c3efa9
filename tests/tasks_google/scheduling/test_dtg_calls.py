"""django-tasks-google's scheduling calls keep working after the switch: `schedule_task(task,
schedule, name=...)` and `delete_scheduled_task(pk)`."""

import pytest
from google.cloud import scheduler_v1

from tasks_google import delete_scheduled_task, schedule_task
from tasks_google.models import ScheduledTask
from tests.tasks_google import tasks

pytestmark = pytest.mark.django_db

JOBS = "projects/demo-project/locations/us-central1/jobs"


def remote_job(emulator, name):
    return emulator.cloud.scheduler.get_job(scheduler_v1.GetJobRequest(name=f"{JOBS}/{name}"))


def test_their_call_shape_creates_the_same_schedule(tasks_emulator):
    row = schedule_task(
        tasks.echo,
        "0 9 * * 1-5",
        name="weekday-digest",
        description="The digest",
        time_zone="Europe/Paris",
        args=[1],
        kwargs={"to": "ops"},
    )
    assert (row.name, row.task_path, row.cron) == (
        "weekday-digest",
        tasks.echo.module_path,
        "0 9 * * 1-5",
    )
    assert (row.args, row.kwargs, row.description) == ([1], {"to": "ops"}, "The digest")
    job = remote_job(tasks_emulator, "weekday-digest")
    assert (job.schedule, job.time_zone) == ("0 9 * * 1-5", "Europe/Paris")


def test_their_call_names_the_schedule_after_the_task_and_takes_backend_and_queue(tasks_emulator):
    row = schedule_task(tasks.noop_task, "*/5 * * * *", enabled=False, queue_name="emails")
    assert (row.name, row.queue, row.enabled) == ("noop_task", "emails", False)
    assert remote_job(tasks_emulator, "noop_task").state == scheduler_v1.Job.State.PAUSED


def test_takes_context_is_refused_with_where_it_belongs(tasks_emulator):
    with pytest.raises(TypeError, match=r"@task\(takes_context=True\)"):
        schedule_task(tasks.noop_task, "*/5 * * * *", takes_context=True)
    assert not ScheduledTask.objects.exists()


def test_delete_by_primary_key_as_they_call_it(tasks_emulator):
    row = schedule_task(tasks.noop_task, "*/5 * * * *", name="gone-soon")
    assert delete_scheduled_task(row.id) is True
    assert not ScheduledTask.objects.exists()
    assert delete_scheduled_task(row.id) is False
