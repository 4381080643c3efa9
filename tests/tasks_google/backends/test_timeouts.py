"""A per-task timeout, checked against the platform's range and mapped onto it."""

import dataclasses
from datetime import timedelta

import pytest
from google.cloud import tasks_v2

from tasks_google.framework import InvalidTask
from tests.tasks_google import tasks


@pytest.mark.parametrize("timeout", [timedelta(seconds=14), timedelta(minutes=31), 60])
def test_cloud_tasks_timeout_outside_the_dispatch_deadline_range(timeout):
    with pytest.raises(InvalidTask, match=r"timeout must be a timedelta from 0:00:15 to 0:30:00"):
        dataclasses.replace(tasks.noop_task, timeout=timeout)


@pytest.mark.django_db
def test_cloud_tasks_timeout_becomes_the_dispatch_deadline(tasks_emulator):
    result = tasks.bounded.enqueue()
    [pending] = tasks_emulator.pending()
    task = tasks_emulator.cloud.cloud_tasks.get_task(
        tasks_v2.GetTaskRequest(
            name=f"projects/demo-project/locations/us-central1/queues/default/tasks/{pending.name}"
        )
    )
    assert task.dispatch_deadline == timedelta(minutes=5)
    tasks_emulator.run_until_idle()
    result.refresh()
    assert result.return_value == "done in time"
