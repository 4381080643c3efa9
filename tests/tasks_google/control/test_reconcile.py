"""`reconcile_tasks` leaves no execution hanging: executions whose remote work ended without
them are found, checked against the service, and recorded FAILED (nothing else would ever
finish them)."""

from datetime import timedelta
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection
from google.cloud import run_v2, tasks_v2

from tasks_google import clock
from tasks_google.control.reconcile import reconcile, record_abandoned, stale_executions
from tasks_google.exceptions import AbandonedExecutionError
from tasks_google.execution import leases
from tasks_google.framework import TaskResultStatus, task_finished
from tasks_google.models import TaskExecution
from tests.tasks_google import tasks

pytestmark = pytest.mark.django_db(transaction=True)

REPO = Path(__file__).resolve().parents[3]
PARENT = "projects/demo-project/locations/us-central1"


def purge_behind_the_apps_back(tasks_emulator, queue: str = "default") -> None:
    """What a purge in the Cloud Console (or Cloud Tasks giving up) does: the tasks vanish."""
    request = tasks_v2.PurgeQueueRequest(name=f"{PARENT}/queues/{queue}")
    tasks_emulator.cloud.cloud_tasks.purge_queue(request)


def test_a_ready_execution_whose_cloud_task_is_gone_is_recorded_failed(tasks_emulator):
    result = tasks.noop_task.using(run_after=clock.now() + timedelta(minutes=1)).enqueue()
    purge_behind_the_apps_back(tasks_emulator)
    finished = []

    def on_finished(sender, task_result, **kwargs):
        finished.append(task_result.id)

    task_finished.connect(on_finished)
    # Not stale yet: not even asked about.
    assert reconcile().abandoned == []
    tasks_emulator.advance(minutes=11)

    assert reconcile(dry_run=True).abandoned == [result.id]
    assert TaskExecution.objects.get(pk=result.id).status == TaskResultStatus.READY

    call_command("reconcile_tasks")
    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert result.errors[-1].exception_class is AbandonedExecutionError
    assert "tasks_google.retry_task()" in result.errors[-1].traceback
    task_finished.disconnect(on_finished)
    assert finished == [result.id]
    assert reconcile().abandoned == []  # finished now: never looked at again


def test_an_execution_waiting_for_its_task_is_left_alone(tasks_emulator):
    tasks_emulator.configure_queue(min_backoff=3600, max_backoff=3600)
    result = tasks.always_fails.enqueue()
    tasks_emulator.advance(seconds=1)  # the first attempt fails; the retry is an hour away
    tasks_emulator.cloud.clock.advance(timedelta(minutes=30))  # time passes, nothing is due
    row = TaskExecution.objects.get(pk=result.id)
    assert row.status == TaskResultStatus.READY and row.attempt_count == 1
    assert [r.pk for r in stale_executions()] == [result.id]  # stale, so it is asked about
    assert reconcile().abandoned == []  # but its Cloud Task is there
    assert TaskExecution.objects.get(pk=result.id).status == TaskResultStatus.READY


def test_a_killed_attempt_whose_task_cloud_tasks_gave_up_on_ends_failed_and_lost(
    tasks_emulator,
):
    result = tasks.noop_task.enqueue()
    # An attempt took the lease and its process was killed; then the Cloud Task went away.
    owner = "web-1:4242:abcdef"
    assert leases.acquire(result.id, owner, timedelta(seconds=60))
    purge_behind_the_apps_back(tasks_emulator)
    tasks_emulator.advance(minutes=5)
    assert reconcile().abandoned == []  # its lease expired only 4 minutes ago
    tasks_emulator.advance(minutes=10)

    assert reconcile().abandoned == [result.id]
    row = TaskExecution.objects.get(pk=result.id)
    assert row.status == TaskResultStatus.FAILED and row.lease_owner == ""
    assert row.errors[-1]["exception_class_path"].endswith("AbandonedExecutionError")


def test_a_delivery_that_came_meanwhile_wins(tasks_emulator):
    result = tasks.noop_task.enqueue()
    purge_behind_the_apps_back(tasks_emulator)
    tasks_emulator.advance(minutes=11)
    [stale] = stale_executions()
    # A late delivery takes the lease between the check and the recording.
    assert leases.acquire(result.id, "late:1:abc", timedelta(seconds=60))
    assert not record_abandoned(stale)
    assert TaskExecution.objects.get(pk=result.id).status == TaskResultStatus.RUNNING


def test_a_run_jobs_execution_that_ended_without_its_execution_is_recorded_failed(
    monkeypatch, tasks_emulator
):
    monkeypatch.setenv("TASKS_GOOGLE_TEST_DB_NAME", connection.settings_dict["NAME"])
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    # The job exists and runs something that never records the execution (a wrong command).
    tasks_emulator.cloud.run_jobs.create_job(
        run_v2.CreateJobRequest(
            parent=PARENT,
            job_id="batch",
            job=run_v2.Job(
                template=run_v2.ExecutionTemplate(
                    template=run_v2.TaskTemplate(
                        max_retries=0, containers=[run_v2.Container(command=["true"])]
                    )
                )
            ),
        )
    )
    result = tasks.batch_job.enqueue(items=3)
    row = TaskExecution.objects.get(pk=result.id)
    tasks_emulator.cloud.run_jobs.wait_for_execution(row.remote_name, timeout=60)
    row.refresh_from_db()
    assert row.status == TaskResultStatus.READY  # it ran, but not this
    tasks_emulator.advance(minutes=11)

    assert reconcile().abandoned == [result.id]
    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert result.errors[-1].exception_class is AbandonedExecutionError
    assert "succeeded without running it" in result.errors[-1].traceback
