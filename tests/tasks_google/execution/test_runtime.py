"""The execution runtime: leases, duplicates, recovery, and what the HTTP answer says."""

from datetime import UTC, datetime, timedelta

import pytest
from django.test import Client

from tasks_google.exceptions import LostAttemptError
from tasks_google.framework import TaskResultStatus
from tasks_google.models import TaskExecution
from tasks_google.testing import emulated
from tests.tasks_google import tasks
from tests.tasks_google.attempt_drivers import hold_lease, new_row
from tests.tasks_google.deliveries import post_execute

pytestmark = pytest.mark.django_db


def deliver(execution_id, retry_count=0):
    return post_execute(execution_id, retry_count)


def test_success_is_acknowledged(tasks_emulator):
    result = tasks.calculate_meaning_of_life.enqueue()
    response = deliver(result.id)
    assert response.status_code == 200
    assert response.json() == {"execution_id": result.id, "outcome": "succeeded"}


def test_retryable_failure_is_not_acknowledged(tasks_emulator):
    result = tasks.always_fails.enqueue()
    response = deliver(result.id, retry_count=0)
    assert response.status_code == 500
    result.refresh()
    assert result.status == TaskResultStatus.READY
    assert len(result.errors) == 1


def test_last_attempt_failure_is_acknowledged(tasks_emulator):
    tasks_emulator.configure_queue(max_attempts=3)
    result = tasks.always_fails.enqueue()
    # Cloud Tasks says two attempts came before this one: this is the last.
    response = deliver(result.id, retry_count=2)
    assert response.status_code == 200
    assert response.json()["outcome"] == "failed"
    result.refresh()
    assert result.status == TaskResultStatus.FAILED


def test_duplicate_delivery_while_leased_is_refused_and_not_run(tasks_emulator):
    result = tasks.noop_task.enqueue()
    hold_lease(result.id, seconds=42)
    response = deliver(result.id)
    # Never acknowledge work that is still running elsewhere: a later crash would lose it.
    assert response.status_code == 503
    assert response["Retry-After"] == "42"
    row = TaskExecution.objects.get(pk=result.id)
    assert row.attempt_count == 1 and row.lease_owner == "other-worker:1:abc"


def test_delivery_before_run_after_is_refused_until_due():
    with emulated(start=datetime(2026, 1, 5, 8, 0, tzinfo=UTC)) as cloud:
        run_after = cloud.now() + timedelta(minutes=10)
        result = tasks.calculate_meaning_of_life.using(run_after=run_after).enqueue()
        # A valid token does not make an early delivery run: it is told when to come back.
        response = deliver(result.id)
        assert response.status_code == 503
        assert response.json() == {"execution_id": result.id, "outcome": "not_due"}
        assert response["Retry-After"] == "600"
        cloud.advance(minutes=9, seconds=59.5)
        response = deliver(result.id)
        assert response.status_code == 503 and response["Retry-After"] == "1"
        row = TaskExecution.objects.get(pk=result.id)
        assert row.status == TaskResultStatus.READY
        assert row.attempt_count == 0 and row.attempts == [] and row.worker_ids == []
        # Once due, Cloud Tasks' own delivery runs it.
        cloud.advance(seconds=0.5)
        result.refresh()
        assert result.status == TaskResultStatus.SUCCESSFUL and result.attempts == 1


def test_dead_attempt_is_recovered_once_its_lease_expires(tasks_emulator):
    result = tasks.calculate_meaning_of_life.enqueue()
    hold_lease(result.id, seconds=60)
    # The first delivery meets the live lease and is told to come back after it expires
    # (Retry-After); the redelivery takes over the expired lease and runs the task.
    tasks_emulator.run_until_idle()
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 42
    assert result.attempts == 2
    assert [e.exception_class for e in result.errors] == [LostAttemptError]
    statuses = [d.response_status for d in tasks_emulator.cloud.deliveries]
    assert statuses == [503, 200]


def test_finished_execution_is_acknowledged_and_not_rerun(tasks_emulator):
    result = tasks.calculate_meaning_of_life.enqueue()
    assert deliver(result.id).status_code == 200
    response = deliver(result.id)
    assert response.status_code == 200
    assert response.json()["outcome"] == "finished"
    assert TaskExecution.objects.get(pk=result.id).attempt_count == 1


def test_unknown_execution_is_acknowledged():
    response = deliver("0" * 32)
    assert response.status_code == 200
    assert response.json()["outcome"] == "unknown"


def test_malformed_body_is_rejected_without_running_anything():
    response = post_execute(None, body="{}")
    assert response.status_code == 400


def test_execute_only_accepts_post():
    assert Client().get("/tasks/execute/", HTTP_HOST="app.test").status_code == 405


def test_task_path_that_is_not_a_task_is_refused(tasks_emulator):
    tasks_emulator.configure_queue(max_attempts=1)
    row = new_row("tests.tasks_google.tasks.not_a_task")
    response = deliver(row.pk)
    assert response.status_code == 200
    row.refresh_from_db()
    assert row.status == TaskResultStatus.FAILED
    assert "is not a django.tasks.Task" in row.errors[0]["traceback"]


def test_task_removed_by_a_deploy_is_a_failed_attempt(tasks_emulator):
    row = new_row("tests.tasks_google.gone.task")
    assert deliver(row.pk).status_code == 500
    row.refresh_from_db()
    assert row.status == TaskResultStatus.READY
    assert row.lease_owner == ""
    assert "cannot be imported" in row.errors[0]["traceback"]


def test_lost_lease_discards_the_outcome(tasks_emulator, monkeypatch):
    result = tasks.calculate_meaning_of_life.enqueue()

    real_call = type(tasks.calculate_meaning_of_life).call

    def call_then_get_robbed(task, *args, **kwargs):
        value = real_call(task, *args, **kwargs)
        # While this attempt ran, its lease expired and another attempt took the execution.
        TaskExecution.objects.filter(pk=result.id).update(lease_owner="thief:1:xyz")
        return value

    monkeypatch.setattr(type(tasks.calculate_meaning_of_life), "call", call_then_get_robbed)
    response = deliver(result.id)
    assert response.status_code == 409
    row = TaskExecution.objects.get(pk=result.id)
    assert row.status == TaskResultStatus.RUNNING and row.lease_owner == "thief:1:xyz"
