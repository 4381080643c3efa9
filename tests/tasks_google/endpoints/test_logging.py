"""What execute/ logs: an expected retry is a warning (with the task's traceback for a failed
attempt), never an error report; a real crash of the endpoint is still logged as an error."""

import json
import logging
from datetime import timedelta

import pytest
from django.test import Client

from tasks_google import clock
from tasks_google.models import TaskExecution
from tests.tasks_google import tasks
from tests.tasks_google.attempt_drivers import hold_lease
from tests.tasks_google.deliveries import id_token, post_execute

pytestmark = pytest.mark.django_db


@pytest.fixture
def logged(caplog):
    """The records of the request under test, from every logger, INFO and above."""
    caplog.set_level(logging.INFO)
    caplog.clear()
    return caplog


def warnings_and_errors(caplog) -> list[logging.LogRecord]:
    return [r for r in caplog.records if r.levelno >= logging.WARNING]


def assert_one_warning_from_tasks_google(caplog) -> logging.LogRecord:
    records = warnings_and_errors(caplog)
    assert [r.levelname for r in records] == ["WARNING"], [r.getMessage() for r in records]
    assert records[0].name.startswith("tasks_google.")
    assert not [r for r in caplog.records if r.name == "django.request"]
    return records[0]


def test_failed_attempt_to_be_retried_is_a_warning_with_its_traceback(tasks_emulator, logged):
    result = tasks.always_fails.enqueue()
    logged.clear()
    assert post_execute(result.id).status_code == 500
    record = assert_one_warning_from_tasks_google(logged)
    assert result.id in record.getMessage()
    assert record.exc_info is not None
    assert isinstance(record.exc_info[1], RuntimeError)
    assert "always fails" in logged.text


def test_task_that_cannot_be_imported_is_a_warning_while_retried(tasks_emulator, logged):
    # E.g. removed by a deploy that is still rolling out: the next attempt may find it.
    row = TaskExecution.objects.create(
        task_path="tests.tasks_google.tasks.removed_by_a_deploy",
        backend="default",
        queue="default",
        enqueued_at=clock.now(),
    )
    assert post_execute(row.pk).status_code == 500
    record = assert_one_warning_from_tasks_google(logged)
    assert record.exc_info is not None and "removed_by_a_deploy" in logged.text


def test_busy_delivery_is_a_warning(tasks_emulator, logged):
    result = tasks.noop_task.enqueue()
    hold_lease(result.id, seconds=42)
    logged.clear()
    assert post_execute(result.id).status_code == 503
    record = assert_one_warning_from_tasks_google(logged)
    assert result.id in record.getMessage()


def test_early_delivery_is_a_warning(tasks_emulator, logged):
    run_after = tasks_emulator.now() + timedelta(minutes=5)
    result = tasks.noop_task.using(run_after=run_after).enqueue()
    logged.clear()
    assert post_execute(result.id).status_code == 503
    record = assert_one_warning_from_tasks_google(logged)
    assert result.id in record.getMessage()


def test_refused_token_is_logged_once(tasks_emulator, logged):
    result = tasks.noop_task.enqueue()
    logged.clear()
    assert post_execute(result.id, token="garbage").status_code == 401
    assert "refused" in assert_one_warning_from_tasks_google(logged).getMessage()


def test_a_crash_of_the_endpoint_is_still_an_error(tasks_emulator, logged):
    # An execution whose backend alias is no longer in TASKS: nothing can run it.
    row = TaskExecution.objects.create(
        task_path="tests.tasks_google.tasks.noop_task",
        backend="removed",
        queue="default",
        enqueued_at=clock.now(),
    )
    response = Client(raise_request_exception=False).post(
        "/tasks/execute/",
        data=json.dumps({"execution_id": row.pk}),
        content_type="application/json",
        headers={"Authorization": f"Bearer {id_token()}"},
        HTTP_HOST="app.test",
    )
    assert response.status_code == 500
    errors = [r for r in logged.records if r.levelno >= logging.ERROR]
    assert [r.name for r in errors] == ["django.request"]
    assert errors[0].exc_info is not None
