"""Schedules: schedule_task() makes a Cloud Scheduler job; each slot enqueues the task once."""

import json
import logging
import threading
from datetime import UTC, datetime

import pytest
from django.core.exceptions import ValidationError
from django.db import connections
from django.test import Client
from google.api_core import exceptions as api_exceptions
from google.cloud import scheduler_v1
from google.rpc import code_pb2

from tasks_google import delete_scheduled_task, run_schedule, schedule_task
from tasks_google.framework import TaskResultStatus
from tasks_google.models import ScheduledTask, ScheduleFire, TaskExecution
from tasks_google.scheduling.schedules import next_fire_times
from tasks_google.testing import emulated
from tests.tasks_google import tasks
from tests.tasks_google.deliveries import id_token

JOBS = "projects/demo-project/locations/us-central1/jobs"
NOOP = "tests.tasks_google.tasks.noop_task"
RUNNER = "tasks_google.periodic_runner.run_periodic_task"


def post_fire(name, slot, token="mint"):
    headers = {"X-CloudScheduler-JobName": name, "X-CloudScheduler-ScheduleTime": slot}
    if token:
        headers["Authorization"] = f"Bearer {id_token()}"
    return Client().post(
        "/tasks/schedule/",
        data=json.dumps({"schedule": name}),
        content_type="application/json",
        headers=headers,
        HTTP_HOST="app.test",
    )


@pytest.mark.django_db
def test_schedule_task_creates_the_cloud_scheduler_job(tasks_emulator):
    row = schedule_task(
        "nightly-report", tasks.calculate_meaning_of_life, "@daily", time_zone="Europe/Paris"
    )
    assert row.remote_job_name == f"{JOBS}/nightly-report" and row.synced_at is not None
    job = tasks_emulator.cloud.scheduler.get_job(
        scheduler_v1.GetJobRequest(name=row.remote_job_name)
    )
    # Macros are expanded before they reach Cloud Scheduler.
    assert job.schedule == "0 0 * * *" and job.time_zone == "Europe/Paris"
    assert job.http_target.uri == "http://app.test/tasks/schedule/"
    assert job.http_target.oidc_token.service_account_email.startswith("tasks-invoker@")
    # Updating the schedule updates the job; there is still one.
    schedule_task("nightly-report", tasks.calculate_meaning_of_life, "30 2 * * *")
    job = tasks_emulator.cloud.scheduler.get_job(
        scheduler_v1.GetJobRequest(name=row.remote_job_name)
    )
    assert job.schedule == "30 2 * * *" and ScheduledTask.objects.count() == 1


@pytest.mark.django_db
def test_each_slot_enqueues_the_task_which_runs():
    with emulated(start=datetime(2026, 1, 5, 7, 58, tzinfo=UTC)) as cloud:
        schedule_task("morning", tasks.echo, "0 9 * * 1-5", time_zone="Europe/Paris", args=[1])
        cloud.advance(minutes=3)  # 09:00 in Paris is 08:00 UTC in January
        cloud.run_until_idle()
        [fire] = ScheduleFire.objects.all()
        assert fire.schedule_time == datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
        result = tasks.echo.get_result(fire.execution_id)
        assert result.status == TaskResultStatus.SUCCESSFUL
        assert result.return_value == {"args": [1], "kwargs": {}}
        assert ScheduledTask.objects.get(name="morning").last_fired_slot == fire.schedule_time


@pytest.mark.django_db
def test_a_duplicate_fire_enqueues_once(tasks_emulator):
    schedule_task("twice", tasks.noop_task, "*/5 * * * *")
    first = post_fire("twice", "2026-01-05T08:00:00Z")
    second = post_fire("twice", "2026-01-05T08:00:00Z")
    assert first.json()["outcome"] == "enqueued" and second.json()["outcome"] == "duplicate"
    assert second.status_code == 200
    assert TaskExecution.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_concurrent_duplicate_fires_enqueue_once(tasks_emulator):
    schedule_task("race", tasks.noop_task, "*/5 * * * *")
    start = threading.Barrier(4)
    outcomes = []

    def racer():
        start.wait()
        try:
            outcomes.append(post_fire("race", "2026-01-05T08:05:00Z").json()["outcome"])
        finally:
            for conn in connections.all(initialized_only=True):
                conn.close()

    threads = [threading.Thread(target=racer) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(outcomes) == ["duplicate", "duplicate", "duplicate", "enqueued"]
    assert TaskExecution.objects.count() == 1


@pytest.mark.django_db
def test_disabled_schedule_pauses_the_job_and_enqueues_nothing(tasks_emulator):
    row = schedule_task("off", tasks.noop_task, "*/5 * * * *", enabled=False)
    job = tasks_emulator.cloud.scheduler.get_job(
        scheduler_v1.GetJobRequest(name=row.remote_job_name)
    )
    assert job.state == scheduler_v1.Job.State.PAUSED
    assert post_fire("off", "2026-01-05T08:00:00Z").json()["outcome"] == "disabled"
    assert TaskExecution.objects.count() == 0


@pytest.mark.django_db
def test_fire_without_a_token_is_refused(tasks_emulator):
    schedule_task("guarded", tasks.noop_task, "*/5 * * * *")
    assert post_fire("guarded", "2026-01-05T08:00:00Z", token=None).status_code == 401
    assert TaskExecution.objects.count() == 0


@pytest.mark.django_db
def test_delete_removes_the_job(tasks_emulator):
    row = schedule_task("gone", tasks.noop_task, "*/5 * * * *")
    assert delete_scheduled_task("gone")
    with pytest.raises(api_exceptions.NotFound):
        tasks_emulator.cloud.scheduler.get_job(scheduler_v1.GetJobRequest(name=row.remote_job_name))
    assert not ScheduledTask.objects.exists()
    assert not delete_scheduled_task("gone")


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("arguments", "message"),
    [
        ({"cron": "61 * * * *"}, "the minute value 61 is not between 0 and 59"),
        ({"cron": "0 9 L * *"}, "L, W, #, \\? and H are not supported"),
        ({"cron": "* * * *"}, "not a 5-field cron"),
        ({"cron": "0 0 30 2 *"}, "never fires"),
        ({"time_zone": "Mars/Olympus"}, "not a time zone"),
        ({"time_zone": "Europe"}, "not a time zone"),
        ({"name": "has space"}, "letters, digits"),
        ({"retry_count": 6}, "retry_count must be 0 to 5"),
        ({"task": tasks.calculate_meaning_of_life, "args": [1]}, "too many positional"),
    ],
)
def test_invalid_schedules_are_refused_with_clear_errors(tasks_emulator, arguments, message):
    call = {"name": "valid", "task": tasks.noop_task, "cron": "*/5 * * * *", **arguments}
    with pytest.raises(ValidationError, match=message):
        schedule_task(call.pop("name"), call.pop("task"), call.pop("cron"), **call)
    assert not ScheduledTask.objects.exists()


def test_next_fire_times_follow_the_time_zone():
    after = datetime(2026, 3, 27, 12, 0, tzinfo=UTC)
    times = next_fire_times("0 9 * * *", "Europe/Paris", count=3, after=after)
    # Paris moves to summer time on 29 March 2026: 09:00 local is 08:00 then 07:00 UTC.
    assert [t.astimezone(UTC).hour for t in times] == [8, 7, 7]


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("broken", "error"),
    [
        (
            {"task_path": "shop.tasks.removed_in_a_deploy"},
            "Task 'shop.tasks.removed_in_a_deploy' cannot be imported: ",
        ),
        (
            {"task_path": RUNNER, "args": ["shop.periodic.RemovedJob"]},
            "PeriodicTask 'shop.periodic.RemovedJob' cannot be imported: ",
        ),
    ],
)
def test_a_fire_whose_task_is_gone_is_a_short_404_logged_once_and_recorded(
    tasks_emulator, caplog, broken, error
):
    schedule_task("nightly", tasks.noop_task, "0 2 * * *")
    ScheduledTask.objects.filter(name="nightly").update(**broken)
    caplog.set_level(logging.INFO)
    response = post_fire("nightly", "2026-01-05T02:00:00Z")
    assert response.status_code == 404 and response["Content-Type"] == "application/json"
    body = response.json()
    assert (body["schedule"], body["outcome"]) == ("nightly", "task_not_found")
    assert body["error"].startswith(error) and len(response.content) < 500
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [r.getMessage() for r in warnings] == [
        f"Schedule 'nightly' cannot run its task: {body['error']}"
    ]
    assert ScheduledTask.objects.get(name="nightly").fire_error == body["error"]
    assert not TaskExecution.objects.exists() and not ScheduleFire.objects.exists()
    # Once the task is back, the next fire enqueues it and the recorded error is cleared.
    ScheduledTask.objects.filter(name="nightly").update(task_path=NOOP, args=[])
    assert post_fire("nightly", "2026-01-06T02:00:00Z").json()["outcome"] == "enqueued"
    assert ScheduledTask.objects.get(name="nightly").fire_error == ""


@pytest.mark.django_db
def test_a_fire_with_arguments_the_task_refuses_is_a_400(tasks_emulator):
    schedule_task("meaning", tasks.calculate_meaning_of_life, "0 2 * * *")
    ScheduledTask.objects.filter(name="meaning").update(kwargs={"precision": 2})
    response = post_fire("meaning", "2026-01-05T02:00:00Z")
    assert response.status_code == 400
    assert response.json() == {
        "schedule": "meaning",
        "outcome": "arguments_rejected",
        "error": "calculate_meaning_of_life() does not accept args=[], kwargs={'precision': 2}: "
        "got an unexpected keyword argument 'precision'.",
    }
    assert not TaskExecution.objects.exists()


@pytest.mark.django_db
def test_cloud_scheduler_records_the_refusal_as_the_jobs_last_result(tasks_emulator):
    row = schedule_task("nightly", tasks.noop_task, "0 2 * * *")
    ScheduledTask.objects.filter(name="nightly").update(task_path="shop.tasks.removed")
    run_schedule("nightly")
    tasks_emulator.run_until_idle()
    job = tasks_emulator.cloud.scheduler.get_job(
        scheduler_v1.GetJobRequest(name=row.remote_job_name)
    )
    assert job.status.code == code_pb2.NOT_FOUND
    assert ScheduledTask.objects.get(name="nightly").fire_error.startswith(
        "Task 'shop.tasks.removed' cannot be imported"
    )
