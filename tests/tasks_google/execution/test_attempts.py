"""The attempt timeline (`TaskExecution.attempts`): each attempt's worker, times and outcome."""

from datetime import datetime, timedelta
from itertools import pairwise
from pathlib import Path

import pytest
from django.db import connection

from tasks_google import cancel_task
from tasks_google.config.options import DEFAULT_MAX_HISTORY_ENTRIES
from tasks_google.execution import leases, runtime
from tasks_google.framework import TaskResultStatus
from tasks_google.models import TaskExecution
from tests.settings import TASKS
from tests.tasks_google import tasks
from tests.tasks_google.attempt_drivers import hold_lease, run_in_thread, wait_running

REPO = Path(__file__).resolve().parents[3]


def timeline(result) -> list[dict]:
    return TaskExecution.objects.get(pk=result.id).attempts


def outcomes(result) -> list[tuple[int, str]]:
    return [(a["number"], a["outcome"]) for a in timeline(result)]


def moment(value: str) -> datetime:
    return datetime.fromisoformat(value)


@pytest.mark.django_db
def test_retried_then_successful_execution_records_each_attempt(tasks_emulator):
    tasks_emulator.configure_queue(min_backoff=10, max_backoff=300, max_doublings=3)
    result = tasks.fails_until_attempt.enqueue(succeed_on=3)
    tasks_emulator.run_until_idle()

    entries = timeline(result)
    assert outcomes(result) == [(1, "retry"), (2, "retry"), (3, "succeeded")]
    assert [a["error"] for a in entries] == ["builtins.RuntimeError", "builtins.RuntimeError", None]
    assert {a["worker"] for a in entries} == {leases.worker_id()}
    # Each attempt started when Cloud Tasks delivered it: the gaps are the queue's backoff.
    starts = [moment(a["started_at"]) for a in entries]
    dispatched = [d.dispatch_time for d in tasks_emulator.cloud.deliveries]
    assert starts == dispatched
    assert [(b - a) / timedelta(seconds=1) for a, b in pairwise(starts)] == [10, 20]
    for entry in entries:
        assert moment(entry["started_at"]).utcoffset() == timedelta(0)
        assert moment(entry["finished_at"]) >= moment(entry["started_at"])
    # The last attempt's end is the execution's end.
    row = TaskExecution.objects.get(pk=result.id)
    assert moment(entries[-1]["finished_at"]) == row.finished_at


@pytest.mark.django_db
def test_failing_for_good_ends_with_a_failed_attempt(tasks_emulator):
    tasks_emulator.configure_queue(max_attempts=2)
    exhausted = tasks.always_fails.enqueue()
    permanent = tasks.permanent_failure.enqueue()
    tasks_emulator.run_until_idle()

    assert outcomes(exhausted) == [(1, "retry"), (2, "failed")]
    assert timeline(exhausted)[-1]["error"] == "builtins.RuntimeError"
    assert outcomes(permanent) == [(1, "failed")]
    assert timeline(permanent)[0]["error"] == "tasks_google.exceptions.PermanentTaskError"


@pytest.mark.django_db(transaction=True)
def test_cancelling_a_running_task_ends_its_attempt_cancelled(tasks_emulator, fast_cancel_poll):
    result = tasks.wait_for_cancel.enqueue()
    thread, _ = run_in_thread(result.id)
    wait_running(result.id)
    [running] = timeline(result)
    assert running["outcome"] == "running" and running["finished_at"] is None
    cancel_task(result)
    thread.join(timeout=5)
    [entry] = timeline(result)
    assert entry["outcome"] == "cancelled"
    assert entry["error"] == "tasks_google.exceptions.TaskCancelledError"
    assert entry["finished_at"] is not None


@pytest.mark.django_db
def test_an_attempt_that_died_is_marked_lost_by_the_one_taking_over(tasks_emulator):
    result = tasks.dies_on_first_attempt.enqueue()
    # The first attempt dies holding its lease, as an interrupted worker process does.
    with pytest.raises(KeyboardInterrupt):
        runtime.run_attempt(result.id)
    assert outcomes(result) == [(1, "running")]
    # Deliveries wait for its lease to expire; then one takes over and runs the task again.
    tasks_emulator.run_until_idle()
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL and result.return_value == 2
    first, second = timeline(result)
    assert (first["outcome"], second["outcome"]) == ("lost", "succeeded")
    assert first["error"] == "tasks_google.exceptions.LostAttemptError"
    assert first["finished_at"] == second["started_at"]
    assert first["worker"] == second["worker"] == leases.worker_id()


@pytest.mark.django_db
def test_an_attempt_that_died_before_recording_itself_still_shows_lost(tasks_emulator):
    result = tasks.calculate_meaning_of_life.enqueue()
    hold_lease(result.id, owner="other-worker:1:abc", seconds=60)
    tasks_emulator.run_until_idle()
    assert outcomes(result) == [(1, "lost"), (2, "succeeded")]
    assert timeline(result)[0]["worker"] == "other-worker:1"


@pytest.mark.django_db
def test_only_the_most_recent_attempts_are_kept(tasks_emulator):
    attempts = DEFAULT_MAX_HISTORY_ENTRIES + 5
    tasks_emulator.configure_queue(max_attempts=attempts, min_backoff=1, max_backoff=1)
    result = tasks.always_fails.enqueue()
    tasks_emulator.run_until_idle()
    entries = timeline(result)
    assert len(entries) == DEFAULT_MAX_HISTORY_ENTRIES
    assert [a["number"] for a in entries] == list(range(6, attempts + 1))
    assert entries[-1]["outcome"] == "failed"
    assert TaskExecution.objects.get(pk=result.id).attempt_count == attempts


@pytest.mark.django_db
def test_max_history_entries_bounds_attempts_errors_and_worker_ids(tasks_emulator, settings):
    options = {**TASKS["default"]["OPTIONS"], "max_history_entries": 3}
    settings.TASKS = {**TASKS, "default": {**TASKS["default"], "OPTIONS": options}}
    tasks_emulator.configure_queue(max_attempts=5, min_backoff=1, max_backoff=1)
    result = tasks.fails_until_attempt.enqueue(succeed_on=99)
    tasks_emulator.run_until_idle()

    row = TaskExecution.objects.get(pk=result.id)
    assert row.attempt_count == 5
    assert [a["number"] for a in row.attempts] == [3, 4, 5]
    assert [e["traceback"].splitlines()[-1] for e in row.errors] == [
        f"RuntimeError: attempt {n} fails on purpose" for n in (3, 4, 5)
    ]
    assert row.worker_ids == [leases.worker_id()] * 3
    # Django still counts every attempt: `context.attempt` above, `attempts` here.
    result.refresh()
    assert result.attempts == 5 and len(result.errors) == 3


@pytest.mark.django_db(transaction=True)
def test_run_jobs_attempts_are_recorded_by_their_own_processes(tasks_emulator, monkeypatch):
    monkeypatch.setenv("TASKS_GOOGLE_TEST_DB_NAME", connection.settings_dict["NAME"])
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    result = tasks.batch_fails_once.enqueue()
    tasks_emulator.run_until_idle()
    entries = timeline(result)
    assert outcomes(result) == [(1, "retry"), (2, "succeeded")]
    assert entries[0]["error"] == "builtins.RuntimeError"
    # Each attempt ran in a process of its own, not in the test's.
    workers = [a["worker"] for a in entries]
    assert len(set(workers)) == 2 and leases.worker_id() not in workers
