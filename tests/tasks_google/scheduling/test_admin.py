"""The ScheduledTask admin: task picker, validation, next fires, sync on save, errors shown."""

import html

import pytest
from google.cloud import scheduler_v1

from emulator.kit.faults import FaultRule, RpcError
from tasks_google.models import ScheduledTask, TaskExecution

pytestmark = pytest.mark.django_db

ADD = "/admin/tasks_google/scheduledtask/add/"
CHANGELIST = "/admin/tasks_google/scheduledtask/"
NOOP = "tests.tasks_google.tasks.noop_task"
MEANING = "tests.tasks_google.tasks.calculate_meaning_of_life"


def form(**changes):
    data = {
        "name": "nightly",
        "task_path": NOOP,
        "args": "[]",
        "kwargs": "{}",
        "cron": "0 2 * * *",
        "time_zone": "Europe/Paris",
        "enabled": "on",
        "description": "",
        "retry_count": "0",
        "min_backoff_seconds": "5",
        "max_backoff_seconds": "3600",
        "max_doublings": "5",
        "max_retry_duration_seconds": "0",
        "attempt_deadline_seconds": "180",
        "headers": "{}",
        "use_oidc": "on",
    }
    data.update(changes)
    return data


def test_task_picker_lists_the_projects_tasks(admin_client):
    page = admin_client.get(ADD).content.decode()
    assert f'value="{NOOP}"' in page
    assert f'value="{MEANING}"' in page


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"cron": "0 25 * * *"}, "the hour value 25 is not between 0 and 23"),
        ({"time_zone": "Europe/Atlantis"}, "not a time zone"),
        ({"retry_count": "9"}, "retry_count must be 0 to 5"),
        ({"min_backoff_seconds": "7200"}, "must not be below min_backoff_seconds"),
        (
            {"task_path": MEANING, "args": "[1, 2]"},
            "calculate_meaning_of_life() does not accept args=[1, 2]",
        ),
    ],
)
def test_invalid_input_is_explained(admin_client, tasks_emulator, changes, message):
    response = admin_client.post(ADD, form(**changes))
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ScheduledTask.objects.exists()


def test_save_syncs_and_the_change_page_shows_the_next_fires(admin_client, tasks_emulator):
    response = admin_client.post(ADD, form())
    assert response.status_code == 302
    row = ScheduledTask.objects.get()
    assert row.synced_at is not None and row.sync_error == ""
    job = tasks_emulator.cloud.scheduler.get_job(
        scheduler_v1.GetJobRequest(name=row.remote_job_name)
    )
    assert job.time_zone == "Europe/Paris"
    page = admin_client.get(f"{CHANGELIST}{row.pk}/change/").content.decode()
    assert page.count("T02:00:00+01:00") + page.count("T02:00:00+02:00") == 5


def test_a_failed_sync_is_shown_not_swallowed(admin_client, tasks_emulator):
    tasks_emulator.cloud.faults.add(
        FaultRule(service="scheduler", operation="CreateJob", effect=RpcError(code="INTERNAL"))
    )
    response = admin_client.post(ADD, form(), follow=True)
    assert "to Cloud Scheduler failed" in response.content.decode()
    assert ScheduledTask.objects.get().sync_error.startswith("InternalServerError")
    assert "failed:" in admin_client.get(CHANGELIST).content.decode()


def test_run_now_fires_the_schedule(admin_client, tasks_emulator):
    admin_client.post(ADD, form())
    row = ScheduledTask.objects.get()
    admin_client.post(CHANGELIST, {"action": "run_now", "_selected_action": [row.pk]})
    tasks_emulator.run_until_idle()
    [execution] = TaskExecution.objects.all()
    assert execution.task_path == NOOP and execution.status == "SUCCESSFUL"


def test_a_fire_that_could_not_run_the_task_is_shown_with_the_row(admin_client, tasks_emulator):
    from tasks_google import run_schedule

    admin_client.post(ADD, form())
    row = ScheduledTask.objects.get()
    ScheduledTask.objects.update(task_path="shop.tasks.removed")
    run_schedule("nightly")
    tasks_emulator.run_until_idle()
    error = "Task 'shop.tasks.removed' cannot be imported: "
    assert error in html.unescape(admin_client.get(CHANGELIST).content.decode())
    assert error in html.unescape(
        admin_client.get(f"{CHANGELIST}{row.pk}/change/").content.decode()
    )
