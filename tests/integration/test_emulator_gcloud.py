"""The real ``gcloud`` CLI against ``python -m emulator``, pointed at it by the endpoint override
lines the emulator prints: each command exits 0 and its effect shows through the official gRPC
clients. The commands are docs/emulator.md's gcloud session, word for word."""

from __future__ import annotations

import json
import os
import re
import shlex
import shutil
import subprocess
import time

import pytest
from google.api_core import exceptions as api_exceptions
from google.cloud import scheduler_v1, tasks_v2

from tests.emulator.emulator_process import REPO, EmulatorProcess, tasks_client
from tests.emulator.scheduler_support import scheduler_client

GCLOUD = shutil.which("gcloud")
pytestmark = pytest.mark.skipif(GCLOUD is None, reason="needs the gcloud CLI on PATH")

PROJECT = "demo-project"
PARENT = f"projects/{PROJECT}/locations/us-central1"
OVERRIDES = (
    "CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDTASKS",
    "CLOUDSDK_API_ENDPOINT_OVERRIDES_CLOUDSCHEDULER",
)
QUEUE_COMMANDS = {
    "create": "gcloud tasks queues create q1 --location=us-central1 --max-attempts=5 "
    "--min-backoff=1s",
    "describe": "gcloud tasks queues describe q1 --location=us-central1 --format=json",
    "list": "gcloud tasks queues list --location=us-central1 --format=json",
    "task": "gcloud tasks create-http-task --queue=q1 --location=us-central1 "
    "--url=http://127.0.0.1:9/x --format=json",
    "tasks": "gcloud tasks list --queue=q1 --location=us-central1 --format=json",
    "pause": "gcloud tasks queues pause q1 --location=us-central1",
    "resume": "gcloud tasks queues resume q1 --location=us-central1",
    "purge": "gcloud tasks queues purge q1 --location=us-central1",
}
JOB_COMMANDS = {
    "create": "gcloud scheduler jobs create http j1 --location=us-central1 "
    "--schedule='* * * * *' --uri=http://127.0.0.1:9/x",
    "describe": "gcloud scheduler jobs describe j1 --location=us-central1 --format=json",
    "list": "gcloud scheduler jobs list --location=us-central1 --format=json",
    "pause": "gcloud scheduler jobs pause j1 --location=us-central1",
    "resume": "gcloud scheduler jobs resume j1 --location=us-central1",
    "run": "gcloud scheduler jobs run j1 --location=us-central1",
    "delete": "gcloud scheduler jobs delete j1 --location=us-central1",
}


@pytest.fixture
def emulator(tmp_path):
    process = EmulatorProcess(
        "--port", "0", "--project", PROJECT, log_path=tmp_path / "emulator.log", wait_for=OVERRIDES
    )
    yield process
    process.stop()


@pytest.fixture
def gcloud(emulator, tmp_path):
    """Run one of the commands above with the emulator's printed overrides; its JSON output."""
    assert all(emulator.env[name] == emulator.url + "/" for name in OVERRIDES)
    env = {
        **os.environ,
        **{name: emulator.env[name] for name in OVERRIDES},
        "CLOUDSDK_CONFIG": str(tmp_path / "gcloud-config"),
        "CLOUDSDK_CORE_DISABLE_PROMPTS": "1",
        "CLOUDSDK_AUTH_ACCESS_TOKEN": "anything",
        "CLOUDSDK_CORE_PROJECT": PROJECT,
    }

    def run(command: str) -> object:
        done = subprocess.run(
            [GCLOUD, *shlex.split(command)[1:]],
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, f"{command}\n{done.stderr}\n{emulator.log()}"
        return json.loads(done.stdout) if "--format=json" in command else done.stdout

    return run


def wait_for(check, timeout: float = 10.0):
    deadline = time.monotonic() + timeout
    while not (result := check()):
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.05)
    return result


def test_gcloud_creates_describes_lists_pauses_resumes_and_purges_queues_and_tasks(
    emulator, gcloud
):
    gcloud(QUEUE_COMMANDS["create"])

    with tasks_client(emulator.grpc_target) as client:
        queue = client.get_queue(name=f"{PARENT}/queues/q1")
        assert queue.retry_config.max_attempts == 5
        assert queue.retry_config.min_backoff.total_seconds() == 1
        described = gcloud(QUEUE_COMMANDS["describe"])
        assert described["name"] == queue.name and described["retryConfig"]["maxAttempts"] == 5
        assert [q["name"] for q in gcloud(QUEUE_COMMANDS["list"])] == [queue.name]

        task = gcloud(QUEUE_COMMANDS["task"])
        assert client.get_task(name=task["name"]).http_request.url == "http://127.0.0.1:9/x"
        assert [t["name"] for t in gcloud(QUEUE_COMMANDS["tasks"])] == [task["name"]]

        gcloud(QUEUE_COMMANDS["pause"])
        assert client.get_queue(name=queue.name).state == tasks_v2.Queue.State.PAUSED
        gcloud(QUEUE_COMMANDS["resume"])
        assert client.get_queue(name=queue.name).state == tasks_v2.Queue.State.RUNNING
        gcloud(QUEUE_COMMANDS["purge"])
        wait_for(lambda: not list(client.list_tasks(parent=queue.name)))


def test_gcloud_creates_describes_lists_pauses_resumes_runs_and_deletes_scheduler_jobs(
    emulator, gcloud
):
    gcloud(JOB_COMMANDS["create"])

    name = f"{PARENT}/jobs/j1"
    with scheduler_client(emulator.grpc_target) as client:
        job = client.get_job(name=name)
        assert job.schedule == "* * * * *" and job.http_target.uri == "http://127.0.0.1:9/x"
        described = gcloud(JOB_COMMANDS["describe"])
        assert (described["name"], described["state"]) == (name, "ENABLED")
        assert [j["name"] for j in gcloud(JOB_COMMANDS["list"])] == [name]

        gcloud(JOB_COMMANDS["pause"])
        assert client.get_job(name=name).state == scheduler_v1.Job.State.PAUSED
        gcloud(JOB_COMMANDS["resume"])
        assert client.get_job(name=name).state == scheduler_v1.Job.State.ENABLED
        gcloud(JOB_COMMANDS["run"])
        wait_for(lambda: client.get_job(name=name).last_attempt_time)
        gcloud(JOB_COMMANDS["delete"])
        with pytest.raises(api_exceptions.NotFound):
            client.get_job(name=name)


def test_docs_gcloud_session_runs_only_commands_these_tests_run():
    """Every gcloud command of docs/emulator.md's session is one of the commands above."""
    doc = (REPO / "docs" / "emulator.md").read_text()
    session = re.search(r"<!-- gcloud session -->\n```console\n(.*?)```", doc, re.S)
    assert session is not None, "docs/emulator.md has no gcloud session"
    commands = [
        line.removeprefix("$ ")
        for line in session.group(1).splitlines()
        if line.startswith("$ gcloud ")
    ]
    assert commands and set(commands) <= {*QUEUE_COMMANDS.values(), *JOB_COMMANDS.values()}
