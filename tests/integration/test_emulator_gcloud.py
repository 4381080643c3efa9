"""The real ``gcloud`` CLI against ``python -m emulator``: docs/emulator.md's gcloud session, read
from the docs and run command for command, as printed, against the emulator started with the
arguments ``just dev`` gives it (the example project's, on free ports). Each command must print
what the docs show (times and task ids aside), and its effect shows through the official gRPC
clients."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import time
from collections.abc import Callable
from dataclasses import dataclass

import pytest
from google.api_core import exceptions as api_exceptions
from google.cloud import scheduler_v1, tasks_v2

from tests.emulator.emulator_process import REPO, EmulatorProcess, tasks_client
from tests.emulator.scheduler_support import scheduler_client
from tests.integration.dev_project import manage, project_env

GCLOUD = shutil.which("gcloud")
pytestmark = pytest.mark.skipif(GCLOUD is None, reason="needs the gcloud CLI on PATH")

#: The control API's URL under `just dev` (EMULATOR_PORT 8123 + 1), as the docs' exports say it.
DOCS_URL = "http://127.0.0.1:8124"
PARENT = "projects/demo-project/locations/us-central1"
QUEUE = f"{PARENT}/queues/q1"
JOB = f"{PARENT}/jobs/j1"
#: Output that differs from run to run, and what it reads as in both the docs and the run.
VOLATILE = (
    (re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(?:\.\d+)?Z"), "<time>"),
    (re.compile(r"\b\d{15,20}\b"), "<task id>"),
    (re.compile(r" {2,}"), " "),  # table columns, as wide as their values
)


@dataclass(frozen=True)
class Step:
    """A ``$`` line of the session and the lines the docs show it printing."""

    command: str
    output: tuple[str, ...]


def docs_session() -> list[Step]:
    """docs/emulator.md's gcloud session: the console block after ``<!-- gcloud session -->``."""
    doc = (REPO / "docs" / "emulator.md").read_text()
    found = re.search(r"<!-- gcloud session -->\n```console\n(.*?)```", doc, re.S)
    assert found is not None, "docs/emulator.md has no gcloud session"
    steps: list[Step] = []
    for line in found.group(1).splitlines():
        if line.startswith("$ "):
            steps.append(Step(line.removeprefix("$ "), ()))
        else:
            assert steps, f"output before any command: {line!r}"
            steps[-1] = Step(steps[-1].command, (*steps[-1].output, line))
    return steps


def normalized(lines: tuple[str, ...] | list[str]) -> list[str]:
    result = []
    for line in lines:
        for pattern, replacement in VOLATILE:
            line = pattern.sub(replacement, line)
        result.append(line.rstrip())
    return result


def just_dev_emulator_arguments(data_dir: str) -> list[str]:
    """The arguments `manage.py tasks_dev` gives ``python -m emulator`` in the example project
    with the ``--queue`` of the Justfile's ``dev`` recipe, on free ports."""
    recipe = (REPO / "Justfile").read_text().split("\ndev:", 1)[1].split("\n\n", 1)[0]
    queue_specs = re.findall(r"--queue (\S+)", recipe)
    assert queue_specs, "the dev recipe names no --queue"
    code = (
        "import json; from tasks_google.dev.emulator_command import emulator_argv; "
        f"print(json.dumps(emulator_argv(port=0, http_port=0, data_dir={data_dir!r}, "
        f"queue_specs={queue_specs!r})))"
    )
    printed = subprocess.check_output(
        [*manage(REPO / "example"), "shell", "-c", code], env=project_env(), text=True, timeout=60
    )
    argv = json.loads(printed.strip().splitlines()[-1])
    assert argv[1:3] == ["-m", "emulator"], argv
    return argv[3:]


@pytest.fixture
def emulator(tmp_path):
    process = EmulatorProcess(
        *just_dev_emulator_arguments(str(tmp_path / "emulator-data")),
        log_path=tmp_path / "emulator.log",
        wait_for=("CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDTASKS",),
    )
    yield process
    process.stop()


def wait_for(check: Callable[[], object], timeout: float = 10.0) -> object:
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
    return result


def effect_checks(
    tasks: tasks_v2.CloudTasksClient, jobs: scheduler_v1.CloudSchedulerClient
) -> dict[str, Callable[[list[str]], object]]:
    """What each command of the session must have done, seen through the gRPC clients (by its
    words up to the first flag); each gets the command's output lines."""

    def queue_created(_output: list[str]) -> None:
        retry = tasks.get_queue(name=QUEUE).retry_config
        assert retry.max_attempts == 5 and retry.min_backoff.total_seconds() == 1

    def task_created(output: list[str]) -> None:
        [name] = re.findall(r"Created task \[(.*)\]\.", "\n".join(output))
        assert tasks.get_task(name=name).http_request.url == "http://127.0.0.1:9/x"

    def job_state(state: scheduler_v1.Job.State) -> Callable[[list[str]], None]:
        return lambda _output: assert_equal(jobs.get_job(name=JOB).state, state)

    def job_deleted(_output: list[str]) -> None:
        with pytest.raises(api_exceptions.NotFound):
            jobs.get_job(name=JOB)

    def queue_state(state: tasks_v2.Queue.State) -> Callable[[list[str]], None]:
        return lambda _output: assert_equal(tasks.get_queue(name=QUEUE).state, state)

    return {
        "gcloud tasks queues create q1": queue_created,
        "gcloud tasks queues pause q1": queue_state(tasks_v2.Queue.State.PAUSED),
        "gcloud tasks create-http-task": task_created,
        "gcloud tasks queues resume q1": queue_state(tasks_v2.Queue.State.RUNNING),
        "gcloud tasks queues purge q1": lambda _: wait_for(
            lambda: not list(tasks.list_tasks(parent=QUEUE))
        ),
        "gcloud scheduler jobs create http j1": lambda _: assert_equal(
            (jobs.get_job(name=JOB).schedule, jobs.get_job(name=JOB).http_target.uri),
            ("* * * * *", "http://127.0.0.1:9/x"),
        ),
        "gcloud scheduler jobs pause j1": job_state(scheduler_v1.Job.State.PAUSED),
        "gcloud scheduler jobs resume j1": job_state(scheduler_v1.Job.State.ENABLED),
        "gcloud scheduler jobs run j1": lambda _: wait_for(
            lambda: jobs.get_job(name=JOB).last_attempt_time
        ),
        "gcloud scheduler jobs delete j1": job_deleted,
    }


def assert_equal(actual: object, expected: object) -> None:
    assert actual == expected


def test_the_docs_gcloud_session_runs_as_printed_against_the_emulator_just_dev_starts(
    emulator, tmp_path
):
    steps = docs_session()
    env = {k: v for k, v in os.environ.items() if not k.startswith("CLOUDSDK_")}
    env["CLOUDSDK_CONFIG"] = str(tmp_path / "gcloud-config")
    with (
        tasks_client(emulator.grpc_target) as tasks,
        scheduler_client(emulator.grpc_target) as jobs,
    ):
        checks = effect_checks(tasks, jobs)
        ran = run_session(steps, env, emulator, checks)

    assert ran == set(checks), f"the docs' session lacks {set(checks) - ran}"
    assert {"gcloud tasks locations list", "gcloud scheduler locations list"} <= {
        step.command for step in steps
    }


def run_session(
    steps: list[Step],
    env: dict[str, str],
    emulator: EmulatorProcess,
    checks: dict[str, Callable[[list[str]], object]],
) -> set[str]:
    """Run ``steps`` in order, each output compared with the docs' and its effect checked; the
    commands whose effect was checked."""
    ran: set[str] = set()
    for step in steps:
        words = shlex.split(step.command)
        if words[0] == "export":
            assert not step.output, step
            for assignment in words[1:]:
                name, value = assignment.split("=", 1)
                if name in emulator.env:  # a line the emulator printed: the same, but the port
                    assert emulator.env[name].replace(emulator.url, DOCS_URL) == value
                env[name] = value.replace(DOCS_URL, emulator.url)
            continue
        assert words[0] == "gcloud", step
        done = subprocess.run(
            [GCLOUD, *words[1:]],
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            timeout=60,
            check=False,
        )
        output = done.stdout.splitlines()
        assert done.returncode == 0, f"{step.command}\n{done.stdout}\n{emulator.log()}"
        assert normalized(output) == normalized(step.output), step.command
        key = step.command.split(" -", 1)[0]
        if key in checks:
            checks[key](output)
            ran.add(key)
    return ran
