"""The django.tasks backend contract, for each of our backends (after Django's tests/tasks/)."""

import json
from datetime import datetime, timedelta

import pytest
from asgiref.sync import async_to_sync
from django.utils import timezone

from tasks_google.exceptions import NonJSONReturnValueError
from tasks_google.framework import (
    InvalidTask,
    TaskResultDoesNotExist,
    TaskResultStatus,
    default_task_backend,
    task_enqueued,
    task_finished,
    task_started,
)
from tests.tasks_google import tasks

pytestmark = pytest.mark.django_db


def test_flags_are_honest(backend):
    assert backend.supports_defer
    assert backend.supports_get_result
    assert backend.supports_async_task
    assert not backend.supports_priority


def test_enqueue_returns_a_ready_result(backend, tasks_emulator):
    result = tasks.noop_task.enqueue()
    assert result.status == TaskResultStatus.READY
    assert result.task == tasks.noop_task
    assert result.args == [] and result.kwargs == {}
    assert result.backend == "default"
    assert result.enqueued_at is not None
    assert result.started_at is None and result.finished_at is None
    assert result.attempts == 0 and not result.is_finished
    assert len(result.id) < 64
    with pytest.raises(ValueError, match="Task has not finished yet"):
        _ = result.return_value


def test_noop_runs(backend, tasks_emulator):
    result = tasks.noop_task.enqueue()
    assert tasks_emulator.run_until_idle() == 1
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value is None
    assert result.attempts == 1 and len(result.worker_ids) == 1
    assert result.errors == []
    assert result.enqueued_at <= result.started_at <= result.finished_at
    assert result.last_attempted_at == result.started_at


@pytest.mark.parametrize(
    "task", [tasks.calculate_meaning_of_life, tasks.calculate_meaning_of_life_async]
)
def test_return_value(backend, tasks_emulator, task):
    result = task.enqueue()
    tasks_emulator.run_until_idle()
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.return_value == 42


def test_async_task_runs(backend, tasks_emulator):
    result = tasks.noop_task_async.enqueue(1, two=2)
    tasks_emulator.run_until_idle()
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL


def test_failing_task_records_its_error(backend, tasks_emulator):
    tasks_emulator.configure_queue(max_attempts=1)
    result = tasks.failing_task_value_error.enqueue()
    tasks_emulator.run_until_idle()
    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert result.finished_at is not None
    assert len(result.errors) == 1
    error = result.errors[0]
    assert error.exception_class is ValueError
    assert "This task failed due to ValueError" in error.traceback
    with pytest.raises(ValueError, match="Task failed"):
        _ = result.return_value


def test_system_exit_is_a_failure(backend, tasks_emulator):
    tasks_emulator.configure_queue(max_attempts=1)
    result = tasks.failing_task_system_exit.enqueue()
    tasks_emulator.run_until_idle()
    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert result.errors[0].exception_class is SystemExit


def test_non_json_return_value_fails_without_retry(backend, tasks_emulator):
    result = tasks.complex_return_value.enqueue()
    tasks_emulator.run_until_idle()
    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert result.attempts == 1
    assert result.errors[0].exception_class is NonJSONReturnValueError
    assert "cannot be stored as JSON" in result.errors[0].traceback


def test_context_carries_the_result_and_attempt(backend, tasks_emulator):
    by_id = tasks.get_task_id.enqueue()
    first = tasks.test_context.enqueue(attempt=1)
    tasks_emulator.run_until_idle()
    by_id.refresh()
    first.refresh()
    assert by_id.return_value == by_id.id
    assert first.status == TaskResultStatus.SUCCESSFUL, first.errors


def test_priority_is_refused(backend):
    with pytest.raises(InvalidTask, match=r"Backend does not support setting priority of tasks\."):
        tasks.noop_task.using(priority=10)


def test_run_after_must_be_aware(backend):
    with pytest.raises(InvalidTask, match=r"run_after must be an aware datetime\."):
        tasks.noop_task.using(run_after=datetime.now())


def test_run_after_at_most_30_days_ahead(backend):
    with pytest.raises(InvalidTask, match="at most 30 days in the future"):
        tasks.noop_task.using(run_after=timezone.now() + timedelta(days=31))


def test_run_after_defers_delivery(backend, tasks_emulator):
    result = tasks.noop_task.using(run_after=timezone.now() + timedelta(minutes=5)).enqueue()
    tasks_emulator.advance(minutes=4)
    result.refresh()
    assert result.status == TaskResultStatus.READY
    assert tasks_emulator.pending()[0].schedule_time == result.task.run_after
    tasks_emulator.advance(minutes=1)
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL


def test_unknown_queue_is_refused(backend):
    allowed = r"TASKS\['default'\]\['QUEUES'\] allows 'default', 'emails', 'slow'\."
    with pytest.raises(InvalidTask, match=r"^Queue 'nope' is not valid for backend\. " + allowed):
        tasks.noop_task.using(queue_name="nope")


def test_arguments_round_trip_through_json(backend, tasks_emulator):
    result = tasks.echo.enqueue(1, (2, 3), {1: "one"}, when="now", nested={"a": (1,)})
    # What enqueue returns is what the worker sees.
    assert result.args == [1, [2, 3], {"1": "one"}]
    assert result.kwargs == {"when": "now", "nested": {"a": [1]}}
    tasks_emulator.run_until_idle()
    result.refresh()
    assert result.return_value == {"args": result.args, "kwargs": result.kwargs}


@pytest.mark.parametrize("value", [datetime(2030, 1, 1), object(), {1, 2}])
def test_non_json_arguments_are_refused(backend, value):
    with pytest.raises(
        TypeError,
        match=r"^args\[1\] of task tests\.tasks_google\.tasks\.noop_task .*Unsupported type",
    ):
        tasks.noop_task.enqueue(1, value)
    with pytest.raises(TypeError, match=r"^kwargs\['when'\] of task .*Unsupported type"):
        tasks.noop_task.enqueue(1, when=value)


def test_nan_is_refused(backend):
    with pytest.raises(ValueError, match=r"^args\[0\] .*Out of range float"):
        tasks.noop_task.enqueue(float("nan"))


def test_get_result_is_fresh(backend, tasks_emulator):
    result = tasks.calculate_meaning_of_life.enqueue()
    tasks_emulator.run_until_idle()
    fetched = default_task_backend.get_result(result.id)
    assert fetched is not result
    assert fetched.status == TaskResultStatus.SUCCESSFUL
    assert fetched.return_value == 42
    assert fetched.task == tasks.calculate_meaning_of_life
    assert tasks.calculate_meaning_of_life.get_result(result.id).id == result.id


@pytest.mark.parametrize("bad_id", ["0" * 32, "x" * 64, "../etc", "", None, 123])
def test_get_result_of_a_missing_or_malformed_id(backend, bad_id):
    with pytest.raises(TaskResultDoesNotExist):
        default_task_backend.get_result(bad_id)


def test_async_enqueue_and_get_result(backend, tasks_emulator):
    result = async_to_sync(tasks.calculate_meaning_of_life.aenqueue)()
    tasks_emulator.run_until_idle()
    fetched = async_to_sync(default_task_backend.aget_result)(result.id)
    assert fetched.return_value == 42
    async_to_sync(result.arefresh)()
    assert result.status == TaskResultStatus.SUCCESSFUL


def test_signals_are_sent_with_django_semantics(backend, tasks_emulator):
    seen = []

    def on_enqueued(sender, task_result, **kwargs):
        seen.append(("enqueued", sender, task_result.status))

    def on_started(sender, task_result, **kwargs):
        seen.append(("started", sender, task_result.status))

    def on_finished(sender, task_result, **kwargs):
        import sys

        seen.append(("finished", sender, task_result.status, sys.exc_info()[0]))

    task_enqueued.connect(on_enqueued)
    task_started.connect(on_started)
    task_finished.connect(on_finished)
    try:
        tasks_emulator.configure_queue(max_attempts=1)
        tasks.noop_task.enqueue()
        tasks.failing_task_value_error.enqueue()
        tasks_emulator.run_until_idle()
    finally:
        task_enqueued.disconnect(on_enqueued)
        task_started.disconnect(on_started)
        task_finished.disconnect(on_finished)

    kind = type(backend)
    assert seen[:2] == [
        ("enqueued", kind, TaskResultStatus.READY),
        ("enqueued", kind, TaskResultStatus.READY),
    ]
    assert ("started", kind, TaskResultStatus.RUNNING) in seen
    assert ("finished", kind, TaskResultStatus.SUCCESSFUL, None) in seen
    # On failure, task_finished is sent while the exception is being handled.
    assert ("finished", kind, TaskResultStatus.FAILED, ValueError) in seen


def test_stored_row_matches_the_result(backend, tasks_emulator):
    from tasks_google.models import TaskExecution

    result = tasks.send_email.enqueue("ada@example.com")
    row = TaskExecution.objects.get(pk=result.id)
    assert row.task_path == "tests.tasks_google.tasks.send_email"
    assert row.queue == "emails" and row.backend == "default"
    assert json.loads(json.dumps(row.args)) == ["ada@example.com"]
    tasks_emulator.run_until_idle()
    row.refresh_from_db()
    assert row.remote_name.endswith(f"/queues/emails/tasks/{result.id}")
    assert row.return_value == "sent to ada@example.com"
    assert row.attempt_count == 1 and row.lease_owner == ""
