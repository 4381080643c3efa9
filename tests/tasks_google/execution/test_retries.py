"""Cloud Tasks retry semantics, end to end through the in-process emulator."""

from datetime import timedelta
from itertools import pairwise

import pytest

from tasks_google.framework import TaskResultStatus
from tests.tasks_google import tasks

pytestmark = pytest.mark.django_db


def test_fails_twice_then_succeeds(tasks_emulator):
    result = tasks.fails_until_attempt.enqueue(succeed_on=3)
    tasks_emulator.run_until_idle()
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.attempts == 3
    assert len(result.errors) == 2
    assert all(e.exception_class is RuntimeError for e in result.errors)
    assert result.return_value == 3
    assert tasks_emulator.pending() == []


def test_always_failing_task_ends_failed_after_max_attempts(tasks_emulator):
    tasks_emulator.configure_queue(max_attempts=4)
    result = tasks.always_fails.enqueue()
    tasks_emulator.run_until_idle()
    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert result.attempts == 4
    assert len(result.errors) == 4
    assert result.finished_at is not None
    # The final failure was acknowledged: Cloud Tasks dropped the task.
    assert tasks_emulator.pending() == []


def test_t4_gaps_between_attempts_follow_the_backoff(tasks_emulator):
    tasks_emulator.configure_queue(max_attempts=7, min_backoff=10, max_backoff=300, max_doublings=3)
    result = tasks.always_fails.enqueue()
    tasks_emulator.run_until_idle()
    times = [d.dispatch_time for d in tasks_emulator.cloud.deliveries if d.task_id == result.id]
    gaps = [(b - a) / timedelta(seconds=1) for a, b in pairwise(times)]
    assert gaps == [10, 20, 40, 80, 160, 240]


def test_retry_waits_for_the_backoff(tasks_emulator):
    tasks_emulator.configure_queue(min_backoff=60, max_backoff=60)
    result = tasks.fails_until_attempt.enqueue(succeed_on=2)
    tasks_emulator.advance(0)
    result.refresh()
    assert result.status == TaskResultStatus.READY and result.attempts == 1
    [pending] = tasks_emulator.pending()
    assert pending.attempts == 1
    assert pending.schedule_time == tasks_emulator.now() + timedelta(seconds=60)
    tasks_emulator.advance(59)
    result.refresh()
    assert result.attempts == 1
    tasks_emulator.advance(1)
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL and result.attempts == 2


def test_permanent_error_stops_retries(tasks_emulator):
    result = tasks.permanent_failure.enqueue()
    tasks_emulator.run_until_idle()
    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert result.attempts == 1
    assert tasks_emulator.pending() == []


def test_queue_aliases_pick_the_cloud_tasks_queue(tasks_emulator):
    result = tasks.noop_task.using(queue_name="slow").enqueue()
    assert tasks_emulator.pending("slow")[0].name == result.id
    tasks_emulator.run_until_idle()
    [delivery] = tasks_emulator.cloud.deliveries
    assert delivery.queue_id == "slow-lane"
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
