"""`manage.py execute_task`, the Run Jobs entry point, as a real subprocess with real signals."""

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.db import connection

from tasks_google import TaskCancelledError
from tasks_google.framework import TaskResultStatus
from tasks_google.models import TaskExecution
from tests.tasks_google import tasks

pytestmark = pytest.mark.django_db(transaction=True)

REPO = Path(__file__).resolve().parents[3]


def execute_task(*args, env_extra=None, **kwargs) -> subprocess.Popen:
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "TASKS_GOOGLE_TEST_DB_NAME": connection.settings_dict["NAME"],
        "PYTHONPATH": str(REPO),
        **(env_extra or {}),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "django", "execute_task", *args],
        env=env,
        cwd=REPO,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        **kwargs,
    )


def test_success_exits_0(tasks_emulator):
    result = tasks.calculate_meaning_of_life.enqueue()
    proc = execute_task(result.id)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL and result.return_value == 42


def test_retryable_failure_exits_1_and_the_id_comes_from_the_environment(tasks_emulator):
    result = tasks.always_fails.enqueue()
    proc = execute_task(env_extra={"TASKS_GOOGLE_EXECUTION_ID": result.id})
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1, out
    result.refresh()
    assert result.status == TaskResultStatus.READY and len(result.errors) == 1


def test_no_execution_id_is_a_clear_error():
    proc = execute_task()
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert "TASKS_GOOGLE_EXECUTION_ID" in out


def test_sigterm_raises_task_cancelled_inside_the_task_so_cleanup_runs(tasks_emulator, tmp_path):
    marker = tmp_path / "cleanup"
    result = tasks.cleans_up_when_stopped.enqueue(str(marker))
    proc = execute_task(result.id)
    deadline = time.monotonic() + 60
    while not Path(str(marker) + ".started").exists():
        assert time.monotonic() < deadline and proc.poll() is None, proc.stdout.read()
        time.sleep(0.05)
    # A user's forced cancel: requested in the database, then SIGTERM to the process.
    TaskExecution.objects.filter(pk=result.id).update(cancel_requested_at=result.enqueued_at)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 0, out  # final: Cloud Run must not retry a cancelled execution
    assert marker.read_text() == "cleaned up"
    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert result.errors[-1].exception_class is TaskCancelledError
    assert TaskExecution.objects.get(pk=result.id).cancelled_at is not None


def test_sigterm_without_a_cancel_is_a_failed_attempt(tasks_emulator, tmp_path):
    # Cloud Run's timeout also sends SIGTERM: that attempt failed and may be retried.
    marker = tmp_path / "cleanup"
    result = tasks.cleans_up_when_stopped.enqueue(str(marker))
    proc = execute_task(result.id)
    deadline = time.monotonic() + 60
    while not Path(str(marker) + ".started").exists():
        assert time.monotonic() < deadline and proc.poll() is None, proc.stdout.read()
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    out, _ = proc.communicate(timeout=30)
    assert proc.returncode == 1, out
    assert marker.read_text() == "cleaned up"
    result.refresh()
    assert result.status == TaskResultStatus.READY
    assert result.errors[-1].exception_class is TaskCancelledError


def test_the_last_attempt_given_by_max_retries_records_the_failure_for_good(tasks_emulator):
    # This subprocess cannot read the job (its own emulator has none, as a service account
    # without run.jobs.get on Google): TASKS_GOOGLE_MAX_RETRIES tells it which attempt is last.
    result = tasks.always_fails.enqueue()
    retried = {"TASKS_GOOGLE_MAX_RETRIES": "1", "CLOUD_RUN_TASK_ATTEMPT": "0"}
    proc = execute_task(result.id, env_extra=retried)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 1, out
    result.refresh()
    assert result.status == TaskResultStatus.READY

    last = {"TASKS_GOOGLE_MAX_RETRIES": "1", "CLOUD_RUN_TASK_ATTEMPT": "1"}
    proc = execute_task(result.id, env_extra=last)
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode == 0, out  # final: Cloud Run makes no further attempt anyway
    result.refresh()
    assert result.status == TaskResultStatus.FAILED and result.attempts == 2
    assert result.errors[-1].exception_class is RuntimeError


@pytest.mark.parametrize("variable", ["TASKS_GOOGLE_MAX_RETRIES", "CLOUD_RUN_TASK_ATTEMPT"])
def test_a_malformed_count_is_a_clear_error(variable):
    proc = execute_task("0" * 32, env_extra={variable: "three"})
    out, _ = proc.communicate(timeout=60)
    assert proc.returncode != 0
    assert f"{variable} must be a whole number >= 0, got 'three'" in out
