"""CloudRunJobsBackend on the production adapter: Django runs jobs through the official Cloud
Run client against the emulator server, which starts `execute_task` as real subprocesses."""

import logging
import sys
import time
from pathlib import Path

import pytest
from django.db import connection
from google.cloud import run_v2

from emulator.kit.faults import RUN_JOBS, FaultRule, RpcError
from emulator.server import start_server
from tasks_google.framework import TaskResultStatus
from tasks_google.models import TaskExecution
from tests.integration.test_emulator_run_jobs import run_clients
from tests.settings import TASKS
from tests.tasks_google import tasks

pytestmark = pytest.mark.django_db(transaction=True)

REPO = Path(__file__).resolve().parents[2]
PARENT = "projects/demo-project/locations/us-central1"
EXECUTE_TASK = [sys.executable, "-m", "django", "execute_task"]


@pytest.fixture
def server(monkeypatch):
    # The server's subprocesses inherit this environment: tests.settings reads the test
    # database's name from it (only the in-process emulator passes it by itself).
    monkeypatch.setenv("TASKS_GOOGLE_TEST_DB_NAME", connection.settings_dict["NAME"])
    monkeypatch.setenv("PYTHONPATH", str(REPO))
    with start_server(job_kill_grace=0.3) as server:
        yield server


@pytest.fixture
def clients(server, settings):
    options = {
        **TASKS["jobs"]["OPTIONS"],
        "transport": "gcp",
        "emulator_host": server.grpc_target,
        "command": EXECUTE_TASK,
    }
    settings.TASKS = {**TASKS, "jobs": {**TASKS["jobs"], "OPTIONS": options}}
    with run_clients(server.grpc_target) as clients:
        yield clients


def create_batch_job(clients, max_retries: int) -> run_v2.Job:
    """The job as an operator deploys it (on Google, tasks_google never creates jobs)."""
    container = run_v2.Container(command=EXECUTE_TASK)
    template = run_v2.TaskTemplate(max_retries=max_retries, containers=[container])
    job = run_v2.Job(template=run_v2.ExecutionTemplate(template=template))
    return clients.jobs.create_job(parent=PARENT, job_id="batch", job=job).result(timeout=10)


def ended(clients, name: str, timeout: float = 120) -> run_v2.Execution:
    deadline = time.monotonic() + timeout
    while not (execution := clients.executions.get_execution(name=name)).completion_time:
        assert time.monotonic() < deadline, f"{name} still running after {timeout}s"
        time.sleep(0.1)
    return execution


def test_a_task_failing_on_every_attempt_ends_failed_after_the_jobs_retries(clients):
    create_batch_job(clients, max_retries=1)

    result = tasks.batch_always_fails.enqueue()
    row = TaskExecution.objects.get(pk=result.id)
    execution = ended(clients, row.remote_name)

    result.refresh()
    assert result.status == TaskResultStatus.FAILED
    assert result.attempts == 2 and result.errors[-1].exception_class is ValueError
    # The last attempt recorded the failure and told Cloud Run it was final (exit 0).
    [task] = clients.tasks.list_tasks(parent=execution.name)
    assert task.retried == 1 and task.last_attempt_result.exit_code == 0
    env = {e.name: e.value for e in execution.template.containers[0].env}
    assert env["TASKS_GOOGLE_MAX_RETRIES"] == "1"


def test_a_job_the_enqueuing_side_cannot_read_still_runs(clients, server, caplog):
    create_batch_job(clients, max_retries=0)
    denied = RpcError(code="PERMISSION_DENIED", message="run.jobs.get denied")
    server.cloud.faults.add(FaultRule(service=RUN_JOBS, operation="GetJob", effect=denied))

    with caplog.at_level(logging.WARNING, logger="tasks_google.transports.gcp"):
        result = tasks.batch_job.enqueue(items=1)
    row = TaskExecution.objects.get(pk=result.id)
    ended(clients, row.remote_name)

    assert "Cannot read job" in caplog.text and "run.jobs.get" in caplog.text
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL
