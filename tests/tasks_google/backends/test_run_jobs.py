"""CloudRunJobsBackend end to end in process: real `execute_task` subprocesses, real signals."""

import sys
import time
from datetime import timedelta
from pathlib import Path

import psutil
import pytest
from django.core.exceptions import ImproperlyConfigured
from django.core.management import call_command
from django.db import connection
from google.cloud import run_v2

from tasks_google import TaskCancelledError, cancel_task
from tasks_google.exceptions import AbandonedExecutionError, LostAttemptError, RunOnceError
from tasks_google.framework import TaskResultStatus
from tasks_google.models import TaskExecution
from tasks_google.testing import emulated
from tests.settings import TASKS
from tests.tasks_google import tasks

pytestmark = pytest.mark.django_db(transaction=True)

REPO = Path(__file__).resolve().parents[3]
JOBS = "projects/demo-project/locations/us-central1/jobs"
# A startproject's manage.py (its settings module comes from DJANGO_SETTINGS_MODULE here).
MANAGE_PY = """\
import os
import sys

if __name__ == "__main__":
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
    from django.core.management import execute_from_command_line

    execute_from_command_line(sys.argv)
"""


@pytest.fixture(autouse=True)
def subprocesses_import_the_test_tasks(monkeypatch):
    # The in-process emulator gives them the test database's name; they must find our tasks.
    monkeypatch.delenv("TASKS_GOOGLE_TEST_DB_NAME", raising=False)
    monkeypatch.setenv("PYTHONPATH", str(REPO))


def jobs_command(settings, command: list[str] | None) -> None:
    """Give the Run Jobs backend another `command` (None: the default one)."""
    options = {k: v for k, v in TASKS["jobs"]["OPTIONS"].items() if k != "command"}
    if command is not None:
        options["command"] = command
    settings.TASKS = {**TASKS, "jobs": {**TASKS["jobs"], "OPTIONS": options}}


def wait_for_file(path: Path, timeout: float = 60) -> str:
    """The contents of `path` once it exists and is written."""
    deadline = time.monotonic() + timeout
    while not (path.exists() and path.read_text()):
        assert time.monotonic() < deadline, f"{path} never appeared"
        time.sleep(0.05)
    return path.read_text()


def test_run_job_executes_the_task_in_its_own_process(tasks_emulator):
    result = tasks.batch_job.enqueue(items=5)
    tasks_emulator.run_until_idle()
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL, result.errors
    assert result.return_value == {"done": 5}
    row = TaskExecution.objects.get(pk=result.id)
    assert row.remote_name.startswith(f"{JOBS}/batch/executions/")
    assert (row.progress_done, row.progress_total) == (5, 5)
    # The execution id travelled as an env override; the job was created for the backend.
    job = tasks_emulator.cloud.run_jobs.get_job(run_v2.GetJobRequest(name=f"{JOBS}/batch"))
    assert list(job.template.template.containers[0].command)[-1] == "execute_task"


def test_run_once_a_retry_after_a_killed_attempt_fails_without_running_again(
    settings, tasks_emulator, tmp_path
):
    from tests.tasks_google.backends import run_once_settings

    settings.TASKS = run_once_settings.TASKS
    counter = tmp_path / "runs"
    result = tasks.batch_counts_then_dies.enqueue(str(counter))
    tasks_emulator.run_until_idle()

    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    # The first process died in the task's body; Cloud Run's retry did not run it again.
    assert counter.read_text() == "1\n"
    assert [e.exception_class for e in result.errors] == [LostAttemptError, RunOnceError]
    row = TaskExecution.objects.get(pk=result.id)
    assert [(a["number"], a["outcome"]) for a in row.attempts] == [(1, "lost"), (2, "failed")]
    # The retry exited 0: its Run Jobs execution succeeded, no further retry was made.
    execution = tasks_emulator.cloud.run_jobs.get_execution(
        run_v2.GetExecutionRequest(name=row.remote_name)
    )
    assert execution.succeeded_count == 1 and execution.failed_count == 0


def test_run_once_a_retry_after_a_failed_attempt_fails_without_running_again(
    settings, tasks_emulator, tmp_path
):
    from tests.tasks_google.backends import run_once_settings

    settings.TASKS = run_once_settings.TASKS
    counter = tmp_path / "runs"
    result = tasks.batch_counts_then_fails.enqueue(str(counter))
    tasks_emulator.run_until_idle()

    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert counter.read_text() == "1\n"
    assert [e.exception_class for e in result.errors] == [RuntimeError, RunOnceError]
    assert result.attempts == 2


def test_failed_attempt_is_retried_by_cloud_run_up_to_max_retries(tasks_emulator):
    result = tasks.batch_fails_once.enqueue()
    tasks_emulator.run_until_idle()
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
    assert result.attempts == 2 and len(result.errors) == 1
    assert result.return_value == 2


def test_graceful_cancel_lets_the_task_finish_its_own_way(tasks_emulator, tmp_path):
    marker = tmp_path / "batch"
    result = tasks.batch_job.enqueue(items=2000, marker=str(marker))
    wait_for_file(Path(str(marker) + ".started"))
    assert cancel_task(result).state == "requested"
    tasks_emulator.run_until_idle()
    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert result.errors[-1].exception_class is TaskCancelledError
    assert TaskExecution.objects.get(pk=result.id).cancelled_at is not None
    assert marker.read_text().startswith("cleaned up after")


def test_forced_cancel_sigterms_the_process_and_cleanup_runs(tasks_emulator, tmp_path):
    marker = tmp_path / "batch"
    result = tasks.batch_job.enqueue(items=2000, marker=str(marker))
    wait_for_file(Path(str(marker) + ".started"))
    assert cancel_task(result, force=True).state == "forced"
    tasks_emulator.run_until_idle()
    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert result.errors[-1].exception_class is TaskCancelledError
    assert marker.read_text().startswith("cleaned up after")


def test_forced_cancel_of_a_task_ignoring_sigterm_kills_it_and_nothing_is_left(tmp_path):
    marker = tmp_path / "stubborn"
    with emulated(job_kill_grace=0.5) as cloud:
        result = tasks.ignores_sigterm.enqueue(str(marker))
        pid = int(wait_for_file(Path(str(marker) + ".started")))
        cancel_task(result, force=True)
        cloud.run_until_idle()
        assert not psutil.pid_exists(pid) or psutil.Process(pid).status() == "zombie"
        row = TaskExecution.objects.get(pk=result.id)
        # Killed before it could record anything: the lease must expire, then the reconciler
        # records the cancellation (no further attempt will come).
        assert row.status == TaskResultStatus.RUNNING and row.cancel_requested_at is not None
        cloud.advance(minutes=2)
        call_command("reconcile_tasks", "--older-than", "0")
        result.refresh()
        assert result.status == TaskResultStatus.FAILED
        assert result.errors[-1].exception_class is TaskCancelledError
        [attempt] = TaskExecution.objects.get(pk=result.id).attempts
        assert attempt["outcome"] == "cancelled" and attempt["finished_at"] is not None


def test_cancel_before_start_cancels_the_execution(tasks_emulator):
    result = tasks.batch_job.enqueue(items=5)
    # Cancelled in the same transaction as the enqueue: it is recorded cancelled at once.
    assert cancel_task(result).state in ("cancelled", "requested")
    tasks_emulator.run_until_idle()
    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert TaskExecution.objects.get(pk=result.id).return_value is None


def test_timeout_maps_onto_the_attempt_timeout(tasks_emulator):
    import dataclasses

    bounded = dataclasses.replace(tasks.batch_job, timeout=timedelta(hours=2))
    result = bounded.enqueue(items=1)
    tasks_emulator.run_until_idle()
    row = TaskExecution.objects.get(pk=result.id)
    execution = tasks_emulator.cloud.run_jobs.get_execution(
        run_v2.GetExecutionRequest(name=row.remote_name)
    )
    assert execution.template.timeout == timedelta(hours=2)


def test_a_task_failing_on_every_attempt_ends_failed_after_max_retries_plus_one(tasks_emulator):
    result = tasks.batch_always_fails.enqueue()
    tasks_emulator.run_until_idle()

    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    # Cloud Run's default max_retries is 3: four attempts, each recorded with its error.
    assert result.attempts == 4 and len(result.errors) == 4
    assert result.errors[-1].exception_class is ValueError
    assert "the batch input is malformed" in result.errors[-1].traceback
    row = TaskExecution.objects.get(pk=result.id)
    assert [a["outcome"] for a in row.attempts] == ["retry", "retry", "retry", "failed"]
    # The attempts learnt the job's max_retries from the RunJob call, not from the API.
    execution = tasks_emulator.cloud.run_jobs.get_execution(
        run_v2.GetExecutionRequest(name=row.remote_name)
    )
    env = {e.name: e.value for e in execution.template.containers[0].env}
    assert env["TASKS_GOOGLE_MAX_RETRIES"] == "3"


def test_configure_job_sets_the_retries_of_a_queues_job(tasks_emulator):
    job = tasks_emulator.configure_job("batch", backend="jobs", max_retries=1, timeout=90)
    assert job.template.template.max_retries == 1
    assert job.template.template.timeout == timedelta(seconds=90)

    result = tasks.batch_always_fails.enqueue()
    tasks_emulator.run_until_idle()

    result.refresh()
    assert result.status == TaskResultStatus.FAILED and result.attempts == 2


def test_the_subprocess_uses_the_test_database_without_help_from_the_settings(tasks_emulator):
    # Nothing points tests.settings at the test database (the fixture removed the variable):
    # the in-process emulator passes its name to the subprocess.
    result = tasks.batch_job.enqueue(items=1)
    tasks_emulator.run_until_idle()
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL, result.errors


def test_the_default_command_runs_the_interpreter_running_django(settings, tmp_path, monkeypatch):
    # A project whose virtualenv is not activated: no `python` on PATH, or another one.
    (tmp_path / "manage.py").write_text(MANAGE_PY)
    settings.BASE_DIR = tmp_path
    jobs_command(settings, None)
    monkeypatch.setenv("PATH", str(tmp_path / "no-python-here"))
    with emulated() as cloud:
        result = tasks.batch_job.enqueue(items=2)
        cloud.run_until_idle()
        result.refresh()
        assert result.status == TaskResultStatus.SUCCESSFUL, result.errors
        job = cloud.cloud.run_jobs.get_job(run_v2.GetJobRequest(name=f"{JOBS}/batch"))
        container = job.template.template.containers[0]
        assert list(container.command) == [sys.executable, "manage.py", "execute_task"]
        assert container.working_dir == str(tmp_path)


def test_a_command_that_cannot_start_fails_the_execution_with_the_reason(
    settings, tmp_path, tasks_emulator
):
    missing = tmp_path / "bin" / "python"
    jobs_command(settings, [str(missing), "manage.py", "execute_task"])
    tasks_emulator.configure_job("batch", backend="jobs", max_retries=1)
    result = tasks.batch_job.enqueue(items=1)
    tasks_emulator.run_until_idle()

    result.refresh()
    assert result.status == TaskResultStatus.FAILED and result.attempts == 0
    error = result.errors[-1]
    assert error.exception_class is AbandonedExecutionError
    assert "The container could not start" in error.traceback
    assert f"No such file or directory: '{missing}'" in error.traceback


def test_a_process_dying_before_the_runtime_fails_the_execution_with_its_stderr(
    settings, tasks_emulator
):
    # An interpreter that cannot import Django (-S: without its site-packages).
    jobs_command(settings, [sys.executable, "-S", "-m", "django", "execute_task"])
    tasks_emulator.configure_job("batch", backend="jobs", max_retries=1)
    result = tasks.batch_job.enqueue(items=1)
    tasks_emulator.run_until_idle()

    result.refresh()
    assert result.status == TaskResultStatus.FAILED and result.attempts == 0
    error = result.errors[-1]
    assert error.exception_class is AbandonedExecutionError
    assert "exit code 1" in error.traceback
    assert "No module named django" in error.traceback


def test_reconcile_records_why_an_execution_ended_without_running_it(settings, tasks_emulator):
    # What happens on Google, where nothing waits for the execution: reconcile_tasks finds it.
    jobs_command(settings, [sys.executable, "-S", "-m", "django", "execute_task"])
    tasks_emulator.configure_job("batch", backend="jobs", max_retries=0)
    result = tasks.batch_job.enqueue(items=1)
    row = TaskExecution.objects.get(pk=result.id)
    tasks_emulator.cloud.run_jobs.wait_for_execution(row.remote_name, timeout=60)
    tasks_emulator.advance(minutes=11)

    call_command("reconcile_tasks")

    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert "No module named django" in result.errors[-1].traceback


def test_an_in_memory_test_database_is_refused_with_a_clear_message(monkeypatch, tasks_emulator):
    if connection.vendor != "sqlite":
        pytest.skip("only SQLite has in-memory databases")
    in_memory = "file:memorydb_default?mode=memory&cache=shared"
    monkeypatch.setitem(connection.settings_dict, "NAME", in_memory)
    with pytest.raises(ImproperlyConfigured, match=r"DATABASES\['default'\]\['TEST'\]\['NAME'\]"):
        tasks.batch_job.enqueue(items=1)
    monkeypatch.undo()
    assert not TaskExecution.objects.exists()


@pytest.mark.django_db  # the test's transaction hides the row from the subprocess
def test_a_test_without_transactional_db_is_told_why_nothing_ran(tasks_emulator):
    result = tasks.batch_job.enqueue(items=1)
    tasks_emulator.run_until_idle()

    result.refresh()
    assert result.status == TaskResultStatus.FAILED and result.attempts == 0
    assert "a test without transactional_db" in result.errors[-1].traceback


def test_a_run_jobs_execution_gets_the_trace_of_its_enqueue(tasks_emulator, spans):
    result = tasks.batch_reads_env.enqueue("TRACEPARENT")
    tasks_emulator.run_until_idle()

    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL, result.errors
    [enqueue] = [span for span in spans.get_finished_spans() if span.name == "tasks_google.enqueue"]
    context = enqueue.context
    assert result.return_value == (
        f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
    )
    assert TaskExecution.objects.get(pk=result.id).trace_parent == result.return_value
