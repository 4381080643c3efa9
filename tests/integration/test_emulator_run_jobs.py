"""The unmodified official Cloud Run v2 clients against the emulator server: job CRUD, RunJob
with overrides and ``operation.result()`` (R8), CancelExecution, tasks; and ``python -m
emulator`` killed with ``kill -9`` while a task runs."""

from __future__ import annotations

import select
import shlex
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import grpc
import pytest
from google.api_core import exceptions
from google.api_core.future import polling
from google.cloud import run_v2
from google.cloud.run_v2.services.executions.transports import ExecutionsGrpcTransport
from google.cloud.run_v2.services.jobs.transports import JobsGrpcTransport
from google.cloud.run_v2.services.tasks.transports import TasksGrpcTransport

from emulator.run_jobs.model import INTERRUPTED_MESSAGE
from emulator.server import start_server
from tests.emulator.channels import emulator_channel
from tests.emulator.emulator_process import EmulatorProcess
from tests.emulator.run_jobs_support import STUBBORN, alive, assert_gone, python, read_pid

PARENT = "projects/demo-project/locations/us-central1"
FAST_POLLING = polling.DEFAULT_POLLING.with_delay(initial=0.05, maximum=0.2)
Overrides = run_v2.RunJobRequest.Overrides


class RunClients:
    """The three official Cloud Run clients on one insecure channel."""

    def __init__(self, channel: grpc.Channel) -> None:
        self.jobs = run_v2.JobsClient(transport=JobsGrpcTransport(channel=channel))
        self.executions = run_v2.ExecutionsClient(
            transport=ExecutionsGrpcTransport(channel=channel)
        )
        self.tasks = run_v2.TasksClient(transport=TasksGrpcTransport(channel=channel))


@contextmanager
def run_clients(target: str) -> Iterator[RunClients]:
    channel = emulator_channel(target)
    try:
        yield RunClients(channel)
    finally:
        channel.close()


@pytest.fixture
def server():
    with start_server(job_kill_grace=0.3) as server:
        yield server


@pytest.fixture
def clients(server):
    with run_clients(server.grpc_target) as clients:
        yield clients


def make_job(clients: RunClients, job_id: str, command: list[str], **template) -> run_v2.Job:
    task = run_v2.TaskTemplate(
        containers=[run_v2.Container(name="main", command=command)],
        **template.pop("task", {}),
    )
    job = run_v2.Job(template=run_v2.ExecutionTemplate(template=task, **template))
    return clients.jobs.create_job(parent=PARENT, job_id=job_id, job=job).result(timeout=10)


def test_r8_job_crud_through_the_official_client(clients):
    job = make_job(clients, "crud", python("pass"), task_count=2)

    assert job.name == f"{PARENT}/jobs/crud" and job.template.task_count == 2
    assert clients.jobs.get_job(name=job.name).uid == job.uid
    job.template.parallelism = 1
    updated = clients.jobs.update_job(job=job).result(timeout=10)
    assert updated.generation == 2 and updated.template.parallelism == 1
    assert [j.name for j in clients.jobs.list_jobs(parent=PARENT)] == [job.name]
    deleted = clients.jobs.delete_job(name=job.name).result(timeout=10)
    assert deleted.name == job.name
    with pytest.raises(exceptions.NotFound, match="Resource 'crud' of kind 'JOB'"):
        clients.jobs.get_job(name=job.name)
    with pytest.raises(exceptions.AlreadyExists):
        make_job(clients, "twice", python("pass"))
        make_job(clients, "twice", python("pass"))
    with pytest.raises(exceptions.MethodNotImplemented):
        clients.jobs.get_iam_policy(request={"resource": f"{PARENT}/jobs/twice"})


def test_r7_r8_run_job_with_overrides_and_operation_result(clients, tmp_path):
    code = (
        "import os, sys\n"
        "path = os.path.join(os.environ['OUT'], os.environ['CLOUD_RUN_TASK_INDEX'])\n"
        "open(path, 'w').write(' '.join(sys.argv[1:]))\n"
    )
    job = make_job(clients, "report", python(code))
    overrides = Overrides(
        container_overrides=[
            Overrides.ContainerOverride(
                args=["--day", "monday"], env=[run_v2.EnvVar(name="OUT", value=str(tmp_path))]
            )
        ],
        task_count=3,
        timeout=timedelta(seconds=30),
    )

    request = run_v2.RunJobRequest(name=job.name, overrides=overrides)
    operation = clients.jobs.run_job(request=request)
    execution = operation.result(timeout=20)  # the client's default polling

    assert operation.metadata.name == execution.name
    assert execution.succeeded_count == 3 and execution.task_count == 3
    assert sorted(p.read_text() for p in tmp_path.iterdir()) == ["--day monday"] * 3
    assert [e.name for e in clients.executions.list_executions(parent=job.name)] == [execution.name]
    assert clients.executions.get_execution(name=execution.name).completion_time
    tasks = list(clients.tasks.list_tasks(parent=execution.name))
    assert [t.index for t in tasks] == [0, 1, 2]
    assert clients.tasks.get_task(name=tasks[1].name).last_attempt_result.exit_code == 0
    assert clients.jobs.get_job(name=job.name).execution_count == 1


def test_r8_a_failed_execution_makes_operation_result_raise(clients):
    job = make_job(clients, "fails", python("import sys; sys.exit(4)"), task={"max_retries": 0})

    operation = clients.jobs.run_job(request=run_v2.RunJobRequest(name=job.name))

    with pytest.raises(exceptions.GoogleAPICallError, match="exit code 4"):
        operation.result(timeout=20, polling=FAST_POLLING)


def test_r8_r9_cancel_execution_through_the_official_client(clients, tmp_path):
    job = make_job(clients, "cancelled", python(STUBBORN))
    overrides = Overrides(container_overrides=[{"args": [str(tmp_path / "pid")]}])
    run = clients.jobs.run_job(request=run_v2.RunJobRequest(name=job.name, overrides=overrides))
    pid = read_pid(tmp_path / "pid")

    cancel = clients.executions.cancel_execution(name=run.metadata.name)
    cancelled = cancel.result(timeout=20, polling=FAST_POLLING)

    assert cancelled.cancelled_count == 1
    assert cancelled.conditions[0].execution_reason == run_v2.Condition.ExecutionReason.CANCELLED
    assert run.result(timeout=20, polling=FAST_POLLING).cancelled_count == 1  # not an error
    assert_gone([pid], timeout=1)
    with pytest.raises(exceptions.FailedPrecondition):
        clients.executions.cancel_execution(name=run.metadata.name)
    deleted = clients.executions.delete_execution(name=run.metadata.name)
    assert deleted.result(timeout=10).name == run.metadata.name


def test_errors_arrive_with_their_exact_code(clients):
    with pytest.raises(exceptions.NotFound, match="of kind 'EXECUTION'"):
        clients.executions.get_execution(name=f"{PARENT}/jobs/a/executions/a-12345")
    with pytest.raises(exceptions.NotFound, match="of kind 'JOB'"):
        clients.jobs.run_job(request=run_v2.RunJobRequest(name=f"{PARENT}/jobs/none"))
    with pytest.raises(exceptions.InvalidArgument, match="Invalid job id"):
        make_job(clients, "Not_Valid", python("pass"))


def read_export(emulator: EmulatorProcess, name: str, timeout: float = 10) -> str:
    """Read the emulator's stdout past the lines EmulatorProcess consumed, up to ``name``."""
    stdout = emulator.process.stdout
    assert stdout is not None
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not select.select([stdout], [], [], 0.5)[0]:
            continue
        line = stdout.readline().decode().strip()
        key, _, value = line.removeprefix("export ").partition("=")
        if key == name:
            return value
    raise AssertionError(f"{name} was not printed")


def test_cli_job_command_and_kill_9_leave_no_process_behind(tmp_path):
    data_dir = tmp_path / "data"
    log_path = tmp_path / "emulator.log"
    args = ("--port", "0", "--data-dir", str(data_dir), "--job-kill-grace", "0.3")
    command = shlex.join(python(STUBBORN))
    first = EmulatorProcess(*args, "--job-command", command, "--job", "stuck", log_path=log_path)
    second = None
    try:
        target = read_export(first, "CLOUD_RUN_EMULATOR_HOST")
        assert target == first.grpc_target
        with run_clients(target) as clients:
            overrides = Overrides(container_overrides=[{"args": [str(tmp_path / "pid")]}])
            run = clients.jobs.run_job(
                request=run_v2.RunJobRequest(name=f"{PARENT}/jobs/stuck", overrides=overrides)
            )
            pid = read_pid(tmp_path / "pid")
        first.kill()
        assert alive(pid)  # its own session: kill -9 of the emulator does not reach it

        second = EmulatorProcess(*args, log_path=log_path)

        assert_gone([pid])  # the restart killed what the first emulator left running
        with run_clients(second.grpc_target) as clients:
            execution = clients.executions.get_execution(name=run.metadata.name)
        assert execution.failed_count == 1
        assert execution.conditions[0].message == INTERRUPTED_MESSAGE
    finally:
        if first.process.poll() is None:
            first.kill()
        if second is not None:
            assert second.stop() == 0, second.log()
