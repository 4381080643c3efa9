"""`emulated()` (and the `tasks_emulator` fixture) create the queues of `queue_config` with their
settings: tasks retry under test as they will in production."""

from datetime import timedelta

import pytest
from google.cloud import tasks_v2

from tasks_google.framework import TaskResultStatus
from tasks_google.testing import emulated
from tests.settings import TASKS
from tests.tasks_google import tasks

pytestmark = pytest.mark.django_db
SLOW = "projects/demo-project/locations/us-central1/queues/slow-lane"


@pytest.fixture
def queue_config(settings):
    default = TASKS["default"]
    config = {
        "default": {"max_attempts": 2, "min_backoff": 5, "max_backoff": 5},
        "slow": {"max_retry_duration": 30, "max_concurrent_dispatches": 7},
    }
    options = {**default["OPTIONS"], "queue_config": config}
    settings.TASKS = {**TASKS, "default": {**default, "OPTIONS": options}}


def test_emulated_creates_the_configured_queues_with_their_settings(queue_config):
    with emulated() as cloud:
        queue = cloud.cloud.cloud_tasks.get_queue(tasks_v2.GetQueueRequest(name=SLOW))
    assert queue.retry_config.max_retry_duration == timedelta(seconds=30)
    assert queue.rate_limits.max_concurrent_dispatches == 7
    # What queue_config does not set keeps Cloud Tasks' default.
    assert queue.retry_config.max_attempts == 100


def test_a_task_fails_finally_after_the_configured_max_attempts(queue_config):
    with emulated() as cloud:
        result = tasks.always_fails.enqueue()
        cloud.run_until_idle()
        result.refresh()
        deliveries = [d for d in cloud.cloud.deliveries if d.task_id == result.id]
    assert result.status == TaskResultStatus.FAILED
    assert result.attempts == 2
    assert len(deliveries) == 2
    assert deliveries[1].dispatch_time - deliveries[0].dispatch_time == timedelta(seconds=5)


def test_the_fixture_applies_queue_config_too(queue_config, tasks_emulator):
    queue = tasks_emulator.cloud.cloud_tasks.get_queue(tasks_v2.GetQueueRequest(name=SLOW))
    assert queue.rate_limits.max_concurrent_dispatches == 7
