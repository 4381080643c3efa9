"""django-tasks-google's scheduling calls keep working after the switch: `schedule_task(task,
schedule, name=...)`, `delete_scheduled_task(pk)`, and the fires of the jobs it made."""

from urllib.parse import urlencode

import pytest
from django.test import Client
from google.cloud import scheduler_v1

from tasks_google import delete_scheduled_task, schedule_task
from tasks_google.models import ScheduledTask, TaskExecution
from tests.tasks_google import tasks
from tests.tasks_google.deliveries import id_token

pytestmark = pytest.mark.django_db

FORM = "application/x-www-form-urlencoded"
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


def test_a_fire_of_their_job_enqueues_the_imported_schedule_once(tasks_emulator, caplog):
    schedule_task("nightly-report", tasks.noop_task, "0 3 * * *")
    headers = {
        # What a job django-tasks-google made sends: its form, and the job named after the schedule.
        "X-CloudScheduler-JobName": f"{JOBS}/nightly-report",
        "X-CloudScheduler-ScheduleTime": "2026-12-02T03:00:00Z",
        "Authorization": f"Bearer {id_token()}",
    }
    form = urlencode({"task_id": "17", "backend": "default"})

    def fire():
        return Client().post("/tasks/schedule/", form, FORM, headers=headers, HTTP_HOST="app.test")

    first, again = fire(), fire()

    assert first.status_code == 200 and first.json()["outcome"] == "enqueued"
    assert again.json()["outcome"] == "duplicate"
    assert TaskExecution.objects.filter(task_path=tasks.noop_task.module_path).count() == 1
    assert "run `manage.py schedule_tasks`" in caplog.text
