"""One broken alias in TASKS never stops the deliveries of the other backends."""

import pytest
from django.test import override_settings

from tasks_google import schedule_task
from tasks_google.framework import TaskResultStatus
from tasks_google.models import TaskExecution
from tests.settings import TASKS
from tests.tasks_google import tasks
from tests.tasks_google.deliveries import post_execute, post_schedule

pytestmark = pytest.mark.django_db

BROKEN = {
    "unknown BACKEND path": {"BACKEND": "nowhere.NoSuchBackend"},
    "parameters the backend class refuses": {
        "BACKEND": "tasks_google.backends.CloudTasksBackend",
        "QUEUES": 5,
    },
    "invalid OPTIONS": {
        "BACKEND": "tasks_google.backends.CloudTasksBackend",
        "OPTIONS": {"project_id": "Not A Project", "transport": "carrier-pigeon"},
    },
    "OPTIONS that are not a dict": {
        "BACKEND": "tasks_google.backends.CloudRunJobsBackend",
        "OPTIONS": ["project_id"],
    },
}


@pytest.fixture(params=sorted(BROKEN))
def with_broken_alias(request):
    """The test settings plus one broken alias (listed first, so it is met first)."""
    with override_settings(TASKS={"broken": BROKEN[request.param], **TASKS}):
        yield


def test_execute_runs_an_execution_beside_a_broken_alias(tasks_emulator, with_broken_alias):
    result = tasks.calculate_meaning_of_life.enqueue()
    response = post_execute(result.id)
    assert response.status_code == 200, response.content
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL and result.return_value == 42


def test_an_unauthenticated_delivery_is_still_refused(tasks_emulator, with_broken_alias):
    result = tasks.noop_task.enqueue()
    assert post_execute(result.id, token=None).status_code == 401
    assert TaskExecution.objects.get(pk=result.id).attempt_count == 0


def test_schedule_fires_beside_a_broken_alias(tasks_emulator, with_broken_alias):
    schedule_task("nightly", tasks.calculate_meaning_of_life, "@daily")
    response = post_schedule("nightly", "2026-01-05T00:00:00+00:00")
    assert response.status_code == 200, response.content
    assert response.json()["outcome"] == "enqueued"
    execution_id = response.json()["execution_id"]
    assert TaskExecution.objects.get(pk=execution_id).backend == "default"
