"""cancel_task / is_task_cancelled on Cloud Tasks (graceful cancellation)."""

import pytest
from django.db import transaction

from tasks_google import CancellationNotSupported, TaskCancelledError, cancel_task
from tasks_google.execution import runtime
from tasks_google.framework import TaskResultDoesNotExist, TaskResultStatus, task_finished
from tasks_google.models import TaskExecution
from tests.tasks_google import tasks
from tests.tasks_google.attempt_drivers import run_in_thread, wait_running


def assert_cancelled(result, *, started: bool):
    result.refresh()
    row = TaskExecution.objects.get(pk=result.id)
    assert result.status == TaskResultStatus.FAILED
    assert row.cancelled_at is not None and result.finished_at is not None
    assert result.errors[-1].exception_class is TaskCancelledError
    assert (result.attempts > 0) == started


@pytest.mark.django_db
def test_cancel_before_start_never_runs_it(tasks_emulator):
    result = tasks.calculate_meaning_of_life.enqueue()
    outcome = cancel_task(result)
    assert outcome.state == "cancelled"
    assert_cancelled(result, started=False)
    # Its pending Cloud Task is deleted once the transaction commits.
    assert tasks_emulator.pending() == []
    assert tasks_emulator.run_until_idle() == 0


@pytest.mark.django_db
def test_cancel_by_id_inside_a_transaction(tasks_emulator):
    result = tasks.noop_task.enqueue()
    with transaction.atomic():
        assert cancel_task(result.id).state == "cancelled"
    assert_cancelled(result, started=False)


@pytest.mark.django_db
def test_cancelling_twice_is_harmless_and_a_finished_execution_is_left_alone(tasks_emulator):
    done = tasks.calculate_meaning_of_life.enqueue()
    tasks_emulator.run_until_idle()
    outcome = cancel_task(done)
    assert outcome.state == "finished" and "SUCCESSFUL" in outcome.message
    done.refresh()
    assert done.status == TaskResultStatus.SUCCESSFUL and done.return_value == 42

    pending = tasks.noop_task.enqueue()
    cancel_task(pending)
    again = cancel_task(pending)
    assert again.state == "finished" and "Already cancelled" in again.message
    pending.refresh()
    assert len(pending.errors) == 1


@pytest.mark.django_db
def test_force_is_refused_on_cloud_tasks(tasks_emulator):
    result = tasks.noop_task.enqueue()
    with pytest.raises(CancellationNotSupported, match="cannot be killed"):
        cancel_task(result, force=True)
    result.refresh()
    assert result.status == TaskResultStatus.READY


@pytest.mark.django_db
def test_unknown_execution():
    with pytest.raises(TaskResultDoesNotExist):
        cancel_task("0" * 32)


@pytest.mark.django_db
def test_task_finished_is_sent_for_a_cancel(tasks_emulator):
    seen = []

    def on_finished(sender, task_result, **kwargs):
        import sys

        seen.append((task_result.status, sys.exc_info()[0]))

    task_finished.connect(on_finished)
    try:
        cancel_task(tasks.noop_task.enqueue())
    finally:
        task_finished.disconnect(on_finished)
    assert seen == [(TaskResultStatus.FAILED, TaskCancelledError)]


@pytest.mark.django_db(transaction=True)
@pytest.mark.parametrize("task", [tasks.wait_for_cancel, tasks.raise_when_cancelled])
def test_running_task_sees_the_cancellation_and_stops_its_own_way(
    tasks_emulator, fast_cancel_poll, task
):
    result = task.enqueue()
    thread, outcomes = run_in_thread(result.id)
    wait_running(result.id)
    assert cancel_task(result).state == "requested"
    thread.join(timeout=5)
    assert not thread.is_alive(), "the task did not notice the cancellation"
    assert [o.kind for o in outcomes] == ["cancelled"] and outcomes[0].final
    assert_cancelled(result, started=True)


@pytest.mark.django_db
def test_cancel_requested_between_delivery_and_start_is_honoured(tasks_emulator):
    result = tasks.calculate_meaning_of_life.enqueue()
    # The request lands while a (dead) attempt held the row: it is not finished at once...
    TaskExecution.objects.filter(pk=result.id).update(
        status=TaskResultStatus.RUNNING, lease_owner="gone:1:x"
    )
    assert cancel_task(result).state == "requested"
    TaskExecution.objects.filter(pk=result.id).update(lease_expires_at=None, lease_owner="")
    # ...and the next delivery records it cancelled without running the task.
    outcome = runtime.run_attempt(result.id, attempts_made=1)
    assert outcome.kind == "cancelled"
    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    row = TaskExecution.objects.get(pk=result.id)
    assert row.return_value is None
    assert [(a["number"], a["outcome"]) for a in row.attempts] == [(1, "cancelled")]
