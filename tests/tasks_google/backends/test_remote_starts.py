"""Many enqueues in one transaction: their Cloud Tasks are created together when it commits,
each row notes its task, and what was rolled back or failed is handled as for one enqueue."""

import pytest
from django.db import transaction
from google.api_core.exceptions import NotFound
from google.cloud import tasks_v2

from emulator.kit.faults import FaultRule, RpcError
from tasks_google.framework import TaskResultStatus
from tasks_google.models import TaskExecution
from tests.tasks_google import tasks

pytestmark = pytest.mark.django_db(transaction=True)

QUEUE = "projects/demo-project/locations/us-central1/queues/default"


def cloud_tasks(emulator) -> set[str]:
    try:
        listed = emulator.cloud.cloud_tasks.list_tasks(tasks_v2.ListTasksRequest(parent=QUEUE))
    except NotFound:  # created with the first task
        return set()
    return {task.name.rsplit("/", 1)[-1] for task in listed.tasks}


def test_every_enqueue_of_a_transaction_becomes_a_cloud_task_at_commit(tasks_emulator):
    with transaction.atomic():
        results = [tasks.echo.enqueue(n) for n in range(40)]
        assert cloud_tasks(tasks_emulator) == set()  # nothing before the commit

    assert cloud_tasks(tasks_emulator) == {result.id for result in results}
    named = TaskExecution.objects.exclude(remote_name="").values_list("pk", "remote_name")
    assert dict(named) == {result.id: f"{QUEUE}/tasks/{result.id}" for result in results}
    tasks_emulator.run_until_idle()
    finished = TaskExecution.objects.filter(status=TaskResultStatus.SUCCESSFUL).count()
    assert finished == 40


def test_enqueues_rolled_back_with_a_savepoint_or_a_transaction_create_nothing(tasks_emulator):
    with pytest.raises(RuntimeError), transaction.atomic():
        tasks.echo.enqueue("rolled back with its transaction")
        raise RuntimeError
    with transaction.atomic():
        kept = tasks.echo.enqueue("kept")
        try:
            with transaction.atomic():
                tasks.echo.enqueue("rolled back with its savepoint")
                raise RuntimeError
        except RuntimeError:
            pass
        also_kept = tasks.echo.enqueue("also kept")

    assert cloud_tasks(tasks_emulator) == {kept.id, also_kept.id}
    assert TaskExecution.objects.count() == 2


def test_a_creation_that_fails_leaves_only_its_row_for_reconcile(tasks_emulator):
    tasks_emulator.cloud.faults.add(
        FaultRule(operation="CreateTask", count=1, effect=RpcError(code="UNAVAILABLE"))
    )
    with transaction.atomic():
        results = [tasks.echo.enqueue(n) for n in range(5)]

    created = cloud_tasks(tasks_emulator)
    assert len(created) == 4
    [missed] = [result.id for result in results if result.id not in created]
    row = TaskExecution.objects.get(pk=missed)
    assert (row.status, row.remote_name) == (TaskResultStatus.READY, "")
    assert TaskExecution.objects.exclude(remote_name="").count() == 4
