"""Cloud Run Jobs on the emulator server (in process): the control API, ``--job`` specs, the
default command, and jobs and executions surviving a restart on a data directory."""

from __future__ import annotations

import json
import sys
import urllib.error
import urllib.request

import pytest
from google.cloud import run_v2

from emulator.run_jobs.job_specs import JobSpec, parse_job_spec
from emulator.run_jobs.model import INTERRUPTED_MESSAGE
from emulator.server import StartupError, start_server
from emulator.server.cli import build_parser
from tests.emulator.conftest import RecordingDispatcher
from tests.emulator.run_jobs_support import (
    KILL_GRACE,
    STUBBORN,
    assert_gone,
    python,
    read_pid,
    run_job,
)

PARENT = "projects/demo-project/locations/us-central1"
SUCCEED = python("pass")


def get(server, path: str) -> tuple[int, dict]:
    try:
        with urllib.request.urlopen(server.url + path, timeout=10) as response:
            return response.status, json.load(response)
    except urllib.error.HTTPError as error:
        return error.code, json.load(error)


def start(**kwargs):
    kwargs.setdefault("dispatcher", RecordingDispatcher())
    kwargs.setdefault("job_kill_grace", KILL_GRACE)
    return start_server(**kwargs)


def test_health_lists_run_and_the_control_api_shows_jobs_and_executions(tmp_path):
    with start(default_job_command=SUCCEED, jobs=[parse_job_spec("nightly:task_count=2")]) as s:
        execution, _ = run_job(s.cloud.run_jobs, f"{PARENT}/jobs/nightly")
        s.cloud.run_jobs.wait_for_execution(execution, timeout=10)

        assert "run_jobs" in get(s, "/health")[1]["services"]
        status, body = get(s, "/v1/run/jobs")
        assert status == 200
        (job,) = body["jobs"]
        assert (job["job_id"], job["task_count"], job["execution_count"]) == ("nightly", 2, 1)
        assert job["command"] == SUCCEED and job["latest_execution"]["status"] == "SUCCEEDED"

        status, body = get(s, "/v1/run/executions?job=nightly")
        assert status == 200
        (described,) = body["executions"]
        assert described["name"] == execution and described["succeeded_count"] == 2
        assert [t["index"] for t in described["tasks"]] == [0, 1]
        task = described["tasks"][0]
        assert (task["status"], task["attempt"], task["exit_code"]) == ("SUCCEEDED", 0, 0)
        assert task["start_time"].endswith("Z") and task["end_time"].endswith("Z")
        assert get(s, f"/v1/run/executions?job={PARENT}/jobs/nightly")[1] == body

        assert get(s, "/v1/run/executions")[0] == 400
        status, body = get(s, "/v1/run/executions?job=missing")
        assert status == 404 and "of kind 'JOB'" in body["error"]["message"]


def test_job_specs_create_then_update_only_the_keys_given(tmp_path):
    data_dir = tmp_path / "data"
    first = parse_job_spec("nightly:task_count=3,parallelism=2,timeout=30")
    with start(data_dir=data_dir, default_job_command=SUCCEED, jobs=[first]) as server:
        job = server.cloud.run_jobs.get_job(run_v2.GetJobRequest(name=f"{PARENT}/jobs/nightly"))
        assert (job.template.task_count, job.template.parallelism) == (3, 2)
        assert job.template.template.timeout.total_seconds() == 30

    second = parse_job_spec("nightly:max_retries=1")
    with start(data_dir=data_dir, default_job_command=SUCCEED, jobs=[second]) as server:
        job = server.cloud.run_jobs.get_job(run_v2.GetJobRequest(name=f"{PARENT}/jobs/nightly"))
        assert job.template.template.max_retries == 1
        assert (job.template.task_count, job.template.parallelism) == (3, 2)  # kept
        assert job.generation == 2


def test_a_job_spec_without_a_default_command_cannot_start():
    with pytest.raises(StartupError, match=r"--job nightly: .*command is required"):
        start(jobs=[JobSpec("nightly")])


def test_unknown_jobs_are_registered_only_in_the_server_location():
    with start(default_job_command=SUCCEED) as server:
        execution, _ = run_job(server.cloud.run_jobs, f"{PARENT}/jobs/adhoc")
        assert server.cloud.run_jobs.wait_for_execution(execution, timeout=10).succeeded_count == 1


def test_jobs_and_executions_survive_a_restart_and_running_ones_are_interrupted(tmp_path):
    data_dir = tmp_path / "data"
    with start(data_dir=data_dir, default_job_command=[sys.executable]) as server:
        engine = server.cloud.run_jobs
        done, _ = run_job(
            engine,
            f"{PARENT}/jobs/kept",
            run_v2.RunJobRequest.Overrides(container_overrides=[{"args": ["-c", "pass"]}]),
        )
        engine.wait_for_execution(done, timeout=10)
        stuck, _ = run_job(
            engine,
            f"{PARENT}/jobs/kept",
            run_v2.RunJobRequest.Overrides(
                container_overrides=[{"args": ["-c", STUBBORN, str(tmp_path / "pid")]}]
            ),
        )
        pid = read_pid(tmp_path / "pid")
    assert_gone([pid], timeout=1)  # stop() killed it

    with start(data_dir=data_dir) as server:
        engine = server.cloud.run_jobs
        job = engine.get_job(run_v2.GetJobRequest(name=f"{PARENT}/jobs/kept"))
        finished = engine.get_execution(run_v2.GetExecutionRequest(name=done))
        interrupted = engine.get_execution(run_v2.GetExecutionRequest(name=stuck))
        tasks = engine.list_tasks(run_v2.ListTasksRequest(parent=stuck)).tasks

    assert job.execution_count == 2 and job.latest_created_execution.name == stuck
    assert (
        job.latest_created_execution.completion_status
        == run_v2.ExecutionReference.CompletionStatus.EXECUTION_FAILED
    )
    assert finished.succeeded_count == 1
    assert interrupted.failed_count == 1
    assert interrupted.conditions[0].message == INTERRUPTED_MESSAGE
    assert tasks[0].last_attempt_result.term_signal == 9


def test_cli_run_jobs_options():
    args = build_parser().parse_args(
        [
            "--job",
            "nightly:task_count=2,timeout=1.5",
            "--job",
            "hourly",
            "--job-command",
            "python manage.py execute_task --verbose 'two words'",
            "--job-workdir",
            "/srv/app",
            "--job-kill-grace",
            "0.5",
        ]
    )

    assert args.jobs == [JobSpec("nightly", {"task_count": 2, "timeout": 1.5}), JobSpec("hourly")]
    assert args.job_command == ["python", "manage.py", "execute_task", "--verbose", "two words"]
    assert (args.job_workdir, args.job_kill_grace) == ("/srv/app", 0.5)
    defaults = build_parser().parse_args([])
    assert (defaults.jobs, defaults.job_command, defaults.job_kill_grace) == ([], None, 10.0)


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--job", "Bad_Id"], "invalid job id"),
        (["--job", "a:speed=3"], "invalid setting 'speed=3'"),
        (["--job", "a:task_count=x"], "is not an integer"),
        (["--job-command", ""], "must not be empty"),
        (["--job-command", "'unclosed"], "is not a command line"),
        (["--job-kill-grace", "-1"], "must not be negative"),
    ],
)
def test_bad_run_jobs_options_exit_2(argv, message, capsys):
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(argv)

    assert exited.value.code == 2
    assert message in capsys.readouterr().err
