"""`just dev`: the emulator and runserver together, real HTTP both ways, the production adapter."""

import os
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

import pytest

from tests.integration.dev_processes import (
    ExampleApp,
    free_port,
    free_port_pair,
    processes_using,
    wait_until,
)

REPO = Path(__file__).resolve().parents[2]


@pytest.fixture
def dev_server(tmp_path):
    just = shutil.which("just", path=str(Path(sys.executable).parent)) or shutil.which("just")
    assert just, "just is installed with the dev dependencies"
    port, grpc = free_port(), free_port_pair()
    env = {
        **os.environ,
        "DEV_PORT": str(port),
        "EMULATOR_PORT": str(grpc),
        "EMULATOR_DATA_DIR": str(tmp_path / "emulator"),
        "EXAMPLE_DB": str(tmp_path / "example.sqlite3"),
    }
    env.pop("DJANGO_SETTINGS_MODULE", None)
    log_path = tmp_path / "dev.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [just, "dev"],
            cwd=REPO,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        base = f"http://127.0.0.1:{port}"
        try:
            wait_until(lambda: urllib.request.urlopen(base + "/", timeout=2), 90, "runserver")
            yield base
        finally:
            os.killpg(proc.pid, signal.SIGINT)  # what Ctrl-C sends
            try:
                proc.wait(20)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait()
                raise AssertionError("just dev did not stop on Ctrl-C") from None
            finally:
                print(log_path.read_text()[-3000:])
    # Nothing it started is left behind; starting printed no broken pipe, and Ctrl-C is not
    # reported as a failure of the recipe (just itself says it was interrupted).
    assert processes_using(port, grpc) == []
    log = log_path.read_text()
    assert "BrokenPipeError" not in log
    assert "failed with exit code" not in log


def test_just_dev_runs_example_tasks_through_the_emulator(dev_server):
    app = ExampleApp(dev_server)
    welcome, flaky, rejected = app.enqueue("welcome"), app.enqueue("flaky"), app.enqueue("reject")

    done = app.wait_for(welcome, "SUCCESSFUL")
    assert done["return_value"] == "welcome email sent to user 42"
    # Fails twice, retried by the emulator after its backoff (1 s, then 2 s), then succeeds.
    done = app.wait_for(flaky, "SUCCESSFUL", timeout=40)
    assert done["attempts"] == 3 and len(done["errors"]) == 2
    done = app.wait_for(rejected, "FAILED")
    assert done["attempts"] == 1


def test_just_dev_enqueues_demo_tasks_that_complete(dev_server):
    app = ExampleApp(dev_server)
    # enqueue_demo ran at start: within seconds its executions are listed as finished.
    wait_until(lambda: app.page().count("SUCCESSFUL") >= 2, 40, "demo tasks to complete")


def test_just_dev_runs_batch_jobs_with_progress_and_both_cancels(dev_server):
    app = ExampleApp(dev_server)
    graceful, forced = app.enqueue("batch"), app.enqueue("batch")

    def progressing(execution_id):
        state = app.state(execution_id)
        done = state["progress"][0]
        return state if state["status"] == "RUNNING" and done else None

    wait_until(lambda: progressing(graceful) and progressing(forced), 60, "batch progress")
    assert app.cancel(graceful, "cancel")["state"] == "requested"
    assert app.cancel(forced, "force")["state"] == "forced"
    for execution_id in (graceful, forced):
        done = app.wait_for(execution_id, "FAILED", timeout=30)
        assert (
            done["cancelled"] and done["errors"][-1] == "tasks_google.exceptions.TaskCancelledError"
        )
