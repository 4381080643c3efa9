"""A PeriodicTask's `run()` reads the Cloud Scheduler request that fired it as `self.fire`."""

import io
import json
from datetime import UTC, datetime

import pytest
from django.core.management import call_command
from django.test import Client

from tasks_google import run_schedule
from tasks_google.framework import TaskResultStatus
from tasks_google.models import ScheduleFire, TaskExecution
from tasks_google.scheduling import declarations
from tasks_google.scheduling.declarations import Fire
from tasks_google.testing import emulated
from tests.tasks_google.deliveries import id_token

pytestmark = pytest.mark.django_db
CLASS = "tests.tasks_google.periodic_classes.Heartbeat"


@pytest.fixture(autouse=True)
def heartbeat_declared(monkeypatch):
    """Heartbeat alone declared; what its runs saw as `self.fire`."""
    monkeypatch.setattr(declarations, "_declared", {})
    from tests.tasks_google.periodic_classes import HEARTBEAT_FIRES, Heartbeat

    declarations._declared.clear()  # a first import declared every class there
    declarations.declare_class(Heartbeat)
    HEARTBEAT_FIRES.clear()
    return HEARTBEAT_FIRES


def test_run_sees_the_slot_the_job_and_its_own_headers(heartbeat_declared):
    with emulated(start=datetime(2026, 1, 5, 7, 58, tzinfo=UTC)) as cloud:
        call_command("schedule_tasks", stdout=io.StringIO())
        cloud.advance(minutes=3)
        cloud.run_until_idle()
    [fire] = heartbeat_declared
    assert fire.schedule_time == datetime(2026, 1, 5, 8, 0, tzinfo=UTC)
    assert fire.schedule_time.tzinfo is not None
    assert fire.job_name == "Heartbeat"
    # The job's own header (schedule_headers()), looked up in any case, and Cloud Scheduler's.
    assert fire.headers["X-Tenant"] == fire.headers["x-tenant"] == "acme"
    assert fire.headers["X-CloudScheduler-ScheduleTime"] == "2026-01-05T08:00:00Z"
    assert fire.headers["X-CloudScheduler-JobName"] == "Heartbeat"
    assert "authorization" not in fire.headers


def test_run_now_carries_the_fire_too(tasks_emulator, heartbeat_declared):
    call_command("schedule_tasks", stdout=io.StringIO())
    run_schedule("Heartbeat")
    tasks_emulator.run_until_idle()
    [fire] = heartbeat_declared
    assert fire is not None and fire.job_name == "Heartbeat"
    assert fire.schedule_time == ScheduleFire.objects.get().schedule_time
    assert fire.headers["x-tenant"] == "acme"


def test_only_the_headers_worth_having_are_stored_with_the_execution(
    tasks_emulator, heartbeat_declared
):
    call_command("schedule_tasks", stdout=io.StringIO())
    response = Client().post(
        "/tasks/schedule/",
        data=json.dumps({"schedule": "Heartbeat"}),
        content_type="application/json",
        headers={
            "Authorization": f"Bearer {id_token()}",
            "X-CloudScheduler": "true",
            "X-CloudScheduler-JobName": "Heartbeat",
            "X-CloudScheduler-ScheduleTime": "2026-01-05T08:30:00Z",
            "X-Tenant": "acme",
            "X-Forwarded-For": "203.0.113.9",
            "Traceparent": "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01",
            "User-Agent": "Google-Cloud-Scheduler",
        },
        HTTP_HOST="app.test",
    )
    assert response.json()["outcome"] == "enqueued"
    execution = TaskExecution.objects.get(pk=response.json()["execution_id"])
    assert execution.args == [
        CLASS,
        {
            "schedule_time": "2026-01-05T08:30:00+00:00",
            "job_name": "Heartbeat",
            "headers": {
                "x-cloudscheduler": "true",
                "x-cloudscheduler-jobname": "Heartbeat",
                "x-cloudscheduler-scheduletime": "2026-01-05T08:30:00Z",
                "x-tenant": "acme",
            },
        },
    ]
    assert execution.task_name == CLASS
    tasks_emulator.run_until_idle()
    [fire] = heartbeat_declared
    assert fire == Fire(
        datetime(2026, 1, 5, 8, 30, tzinfo=UTC),
        "Heartbeat",
        {
            "X-CloudScheduler": "true",
            "X-CloudScheduler-JobName": "Heartbeat",
            "X-CloudScheduler-ScheduleTime": "2026-01-05T08:30:00Z",
            "X-Tenant": "acme",
        },
    )


def test_an_execution_enqueued_before_fires_carried_it_still_runs(
    tasks_emulator, heartbeat_declared
):
    from tasks_google.periodic_runner import run_periodic_task

    # As the previous version enqueued it: the class path and the payload only.
    old = run_periodic_task.enqueue(CLASS)
    tasks_emulator.run_until_idle()
    assert run_periodic_task.get_result(old.id).status == TaskResultStatus.SUCCESSFUL
    assert run_periodic_task.get_result(old.id).return_value == "alive"
    assert heartbeat_declared == [None]
    assert TaskExecution.objects.get(pk=old.id).task_name == CLASS


def test_an_old_execution_with_a_payload_still_runs(tasks_emulator):
    from tasks_google.periodic_runner import run_periodic_task

    old = run_periodic_task.enqueue(
        "tests.tasks_google.periodic_classes.CleanupSessions", older_than_days=7
    )
    tasks_emulator.run_until_idle()
    result = run_periodic_task.get_result(old.id)
    assert (result.status, result.return_value) == (
        TaskResultStatus.SUCCESSFUL,
        "cleaned sessions older than 7 days",
    )


def test_a_direct_call_of_run_has_no_fire(heartbeat_declared):
    from tests.tasks_google.periodic_classes import Heartbeat

    assert Heartbeat().run() == "alive"
    assert heartbeat_declared == [None]
