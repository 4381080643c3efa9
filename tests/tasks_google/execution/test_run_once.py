"""`run_once` on Cloud Tasks: once an attempt has started, no later attempt runs the task again."""

from pathlib import Path

import pytest

from tasks_google import cancel_task
from tasks_google.exceptions import LostAttemptError, RunOnceError
from tasks_google.execution import runtime
from tasks_google.framework import TaskResultStatus, task_finished
from tasks_google.models import TaskExecution
from tests.settings import TASKS
from tests.tasks_google import tasks
from tests.tasks_google.attempt_drivers import hold_lease
from tests.tasks_google.deliveries import post_execute

pytestmark = pytest.mark.django_db


@pytest.fixture
def run_once(settings):
    options = {**TASKS["default"]["OPTIONS"], "run_once": True}
    settings.TASKS = {**TASKS, "default": {**TASKS["default"], "OPTIONS": options}}


@pytest.fixture
def finished():
    """The (status, exception being handled) of every task_finished sent during the test."""
    seen = []

    def on_finished(sender, task_result, **kwargs):
        import sys

        seen.append((task_result.status, sys.exc_info()[0]))

    task_finished.connect(on_finished)
    yield seen
    task_finished.disconnect(on_finished)


def outcomes(result) -> list[tuple[int, str, str | None]]:
    return [
        (a["number"], a["outcome"], a["error"])
        for a in TaskExecution.objects.get(pk=result.id).attempts
    ]


def runs(counter: Path) -> list[str]:
    """The attempts whose body ran (one line each)."""
    return counter.read_text().split() if counter.exists() else []


RUN_ONCE_ERROR = "tasks_google.exceptions.RunOnceError"


def test_a_redelivery_after_the_attempt_died_is_failed_without_running_again(
    tasks_emulator, run_once, finished, tmp_path
):
    counter = tmp_path / "runs"
    result = tasks.counts_then_dies.enqueue(str(counter))
    # The first attempt dies in the task's body, holding its lease.
    with pytest.raises(KeyboardInterrupt):
        runtime.run_attempt(result.id)
    # Deliveries wait for the lease to expire; the one taking over does not run the task.
    tasks_emulator.run_until_idle()

    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert runs(counter) == ["1"]
    assert [e.exception_class for e in result.errors] == [LostAttemptError, RunOnceError]
    assert "not running it again (run_once)" in result.errors[0].traceback
    assert "OPTIONS['run_once'] = True" in result.errors[-1].traceback
    assert outcomes(result) == [
        (1, "lost", "tasks_google.exceptions.LostAttemptError"),
        (2, "failed", RUN_ONCE_ERROR),
    ]
    assert finished == [(TaskResultStatus.FAILED, RunOnceError)]
    # The answer was final: Cloud Tasks got a 2xx and delivers it no more.
    assert tasks_emulator.cloud.deliveries[-1].response_status == 200
    assert tasks_emulator.pending() == []


def test_a_lease_holder_that_died_is_not_followed_by_a_run(tasks_emulator, run_once, tmp_path):
    counter = tmp_path / "runs"
    result = tasks.counts_then_dies.enqueue(str(counter))
    hold_lease(result.id, owner="other-worker:1:abc", seconds=60)
    tasks_emulator.run_until_idle()

    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert runs(counter) == []
    assert result.errors[-1].exception_class is RunOnceError
    assert outcomes(result)[-1] == (2, "failed", RUN_ONCE_ERROR)
    assert result.worker_ids[0] == "other-worker:1"


def test_a_duplicate_delivery_while_the_lease_is_held_is_still_answered_busy(
    tasks_emulator, run_once
):
    result = tasks.calculate_meaning_of_life.enqueue()
    hold_lease(result.id, seconds=60)

    response = post_execute(result.id)

    assert response.status_code == 503 and int(response["Retry-After"]) > 0
    row = TaskExecution.objects.get(pk=result.id)
    assert row.status == TaskResultStatus.RUNNING and row.errors == []


def test_a_retryable_failure_ends_failed_at_the_next_delivery(
    tasks_emulator, run_once, finished, tmp_path
):
    counter = tmp_path / "runs"
    tasks_emulator.configure_queue(max_attempts=5)
    result = tasks.counts_then_fails.enqueue(str(counter))
    tasks_emulator.run_until_idle()

    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert runs(counter) == ["1"]
    assert [e.exception_class for e in result.errors] == [RuntimeError, RunOnceError]
    assert outcomes(result) == [
        (1, "retry", "builtins.RuntimeError"),
        (2, "failed", RUN_ONCE_ERROR),
    ]
    assert finished == [(TaskResultStatus.FAILED, RunOnceError)]
    assert [d.response_status for d in tasks_emulator.cloud.deliveries] == [500, 200]


def test_without_run_once_the_next_delivery_runs_the_task_again(tasks_emulator, tmp_path):
    counter = tmp_path / "runs"
    tasks_emulator.configure_queue(max_attempts=2)
    tasks.counts_then_fails.enqueue(str(counter))
    tasks_emulator.run_until_idle()
    assert runs(counter) == ["1", "2"]


@pytest.mark.django_db(transaction=True)
def test_a_cancellation_requested_meanwhile_is_recorded_as_one(tasks_emulator, run_once):
    result = tasks.calculate_meaning_of_life.enqueue()
    hold_lease(result.id, seconds=60)
    cancel_task(result)
    tasks_emulator.run_until_idle()

    result.refresh()
    row = TaskExecution.objects.get(pk=result.id)
    assert result.status == TaskResultStatus.FAILED and row.cancelled_at is not None
    assert result.errors[-1].exception_class.__name__ == "TaskCancelledError"
