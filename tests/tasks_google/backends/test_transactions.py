"""Cloud Tasks are created when the enqueueing transaction commits, never on rollback."""

import pytest
from django.db import transaction

from tasks_google.framework import TaskResultStatus
from tasks_google.models import TaskExecution
from tests.tasks_google import tasks


@pytest.mark.django_db(transaction=True)
def test_task_is_created_at_commit(tasks_emulator):
    with transaction.atomic():
        result = tasks.noop_task.enqueue()
        assert tasks_emulator.cloud.cloud_tasks.next_due_time() is None
    # Committed: the Cloud Task exists, named after the execution.
    assert [p.name for p in tasks_emulator.pending()] == [result.id]
    assert TaskExecution.objects.get(pk=result.id).remote_name.endswith(f"/tasks/{result.id}")


@pytest.mark.django_db(transaction=True)
def test_rolled_back_enqueue_creates_nothing(tasks_emulator):
    class Abort(Exception):
        pass

    with pytest.raises(Abort), transaction.atomic():
        tasks.noop_task.enqueue()
        raise Abort
    assert tasks_emulator.pending() == []
    assert TaskExecution.objects.count() == 0


@pytest.mark.django_db
def test_inside_a_test_transaction_pending_enqueues_are_sent_when_the_emulator_runs(
    tasks_emulator,
):
    kept = tasks.noop_task.enqueue()
    try:
        with transaction.atomic():
            tasks.noop_task.enqueue()
            raise RuntimeError("roll back the inner block")
    except RuntimeError:
        pass
    assert [p.name for p in tasks_emulator.pending()] == [kept.id]
    assert tasks_emulator.run_until_idle() == 1
    kept.refresh()
    assert kept.status == TaskResultStatus.SUCCESSFUL


@pytest.mark.django_db
def test_task_enqueued_by_a_task_runs_too(tasks_emulator):
    result = tasks.enqueue_child.enqueue()
    tasks_emulator.run_until_idle()
    result.refresh()
    child = tasks.noop_task.get_result(result.return_value)
    assert child.status == TaskResultStatus.SUCCESSFUL
