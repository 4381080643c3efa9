"""`manage.py tasks_dev`: code changes restart runserver, a killed emulator comes back, a second
one on the same ports stops at once, and Ctrl-C leaves no process behind."""

import os
import signal
import subprocess
import urllib.request
from pathlib import Path

import psutil
import pytest

from tasks_google.config.dev_emulator import emulator_env
from tests.integration.dev_processes import (
    ExampleApp,
    free_port,
    free_port_pair,
    processes_using,
    wait_until,
)
from tests.integration.dev_project import TasksDev, example_project, manage, project_env


@pytest.fixture
def project(tmp_path) -> Path:
    return example_project(tmp_path)


def test_code_change_restarts_runserver_and_ctrl_c_stops_everything(project, tmp_path):
    port, grpc = free_port(), free_port_pair()
    dev = TasksDev(project, tmp_path / "tasks_dev.log", port, "--emulator-port", str(grpc))
    try:
        dev.wait_for_runserver()
        app = ExampleApp(dev.base)
        first = app.wait_for(app.enqueue("welcome"), "SUCCESSFUL")
        assert first["return_value"] == "welcome email sent to user 42"

        tasks_py = project / "shop" / "tasks.py"
        tasks_py.write_text(tasks_py.read_text().replace("welcome email sent", "hello"))

        def new_code_runs():
            app = ExampleApp(dev.base)
            done = app.wait_for(app.enqueue("welcome"), "SUCCESSFUL")
            return done["return_value"].startswith("hello")

        wait_until(new_code_runs, 60, "runserver to restart with the new code")
    finally:
        assert dev.interrupt() == 0
    assert processes_using(port, grpc) == []


def run_to_the_end(argv: list[str], cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess:
    """Run a command that must end by itself; kill its whole session if it does not."""
    proc = subprocess.Popen(
        argv,
        cwd=cwd,
        env=project_env(),
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        raise AssertionError(f"{argv[2:]} did not stop by itself:\n{out}\n{err}") from None
    return subprocess.CompletedProcess(argv, proc.returncode, out, err)


def test_a_second_tasks_dev_on_taken_ports_stops_at_once_naming_the_port(project, tmp_path):
    port, grpc = free_port(), free_port_pair()
    first = TasksDev(project, tmp_path / "first.log", port, "--emulator-port", str(grpc))
    try:
        first.wait_for_runserver()
        other_port, other_grpc = free_port(), free_port_pair()
        attempts = {
            f"port {port} (runserver)": [f"127.0.0.1:{port}", "--emulator-port", str(grpc)],
            f"port {grpc} (the emulator's gRPC API)": [
                f"127.0.0.1:{other_port}",
                "--emulator-port",
                str(grpc),
            ],
            f"port {grpc + 1} (the emulator's control API)": [
                f"127.0.0.1:{other_port}",
                "--emulator-port",
                str(other_grpc),
                "--emulator-http-port",
                str(grpc + 1),
            ],
        }
        for named, args in attempts.items():
            second = run_to_the_end([*manage(project), "tasks_dev", *args, "--memory"], project)

            assert second.returncode == 1
            assert second.stdout == ""
            assert second.stderr.strip() == f"CommandError: {named} is in use (another tasks_dev?)"
        # The first one was left alone.
        assert first.proc.poll() is None
        urllib.request.urlopen(first.base + "/", timeout=5)
    finally:
        assert first.interrupt() == 0
    assert processes_using(port, grpc, other_port, other_grpc) == []


def job_processes(project: Path) -> list[psutil.Process]:
    """The Run Jobs processes running in the project (`manage.py execute_task`)."""
    found = []
    for proc in psutil.process_iter(["cwd", "cmdline"]):
        if proc.info["cwd"] == str(project) and "execute_task" in (proc.info["cmdline"] or []):
            found.append(proc)
    return found


def test_a_killed_emulator_is_reported_and_restarted_while_a_job_runs(project, tmp_path):
    port, grpc = free_port(), free_port_pair()
    # In memory: no later emulator knows of the job, so what the dead one left running is
    # tasks_dev's to stop.
    dev = TasksDev(
        project, tmp_path / "tasks_dev.log", port, "--emulator-port", str(grpc), "--memory"
    )
    try:
        dev.wait_for_runserver()
        # A long Run Jobs execution: it writes its progress to the project's database every
        # half second while the emulator is down.
        enqueue = "from shop.tasks import rebuild_catalogue as t; print(t.enqueue(items=600).id)"
        shell = subprocess.run(
            [*manage(project), "shell", "-v", "0", "-c", enqueue],
            cwd=project,
            env={**project_env(), **emulator_env("127.0.0.1", grpc, None)},
            capture_output=True,
            text=True,
            check=True,
        )
        execution_id = shell.stdout.split()[-1]
        app = ExampleApp(dev.base)
        wait_until(lambda: (app.state(execution_id)["progress"][0] or 0) >= 2, 60, "progress")
        killed = dev.emulator_pid()
        assert job_processes(project)

        os.kill(killed, signal.SIGKILL)

        said = f"The emulator (pid {killed}) was killed by SIGKILL: restarting it."
        wait_until(lambda: said in dev.log(), 10, "tasks_dev to say the emulator was killed")
        health = emulator_env("127.0.0.1", grpc, None)["TASKS_GOOGLE_EMULATOR_URL"] + "/health"
        wait_until(lambda: dev.emulator_pid() not in (None, killed), 10, "a new emulator")
        wait_until(lambda: urllib.request.urlopen(health, timeout=5), 60, "the new emulator")
        # The job's process, orphaned by the emulator's death, was killed with it.
        assert job_processes(project) == []
    finally:
        assert dev.interrupt() == 0
    assert processes_using(port, grpc) == []
    assert job_processes(project) == []


def test_deliveries_for_a_production_base_url_reach_the_local_runserver(project, tmp_path):
    """A project whose settings name its production `base_url` works under tasks_dev unchanged:
    the emulator routes those deliveries (schedule fires too) to runserver."""
    settings_py = project / "exampleproject" / "settings.py"
    local = '"base_url": f"http://127.0.0.1:{PORT}/tasks/"'
    assert local in settings_py.read_text()
    settings_py.write_text(
        settings_py.read_text().replace(local, '"base_url": "https://app.example.com/tasks/"')
    )
    port, grpc = free_port(), free_port_pair()
    dev = TasksDev(project, tmp_path / "tasks_dev.log", port, "--emulator-port", str(grpc))
    try:
        dev.wait_for_runserver()
        app = ExampleApp(dev.base)
        done = app.wait_for(app.enqueue("welcome"), "SUCCESSFUL")
        assert done["return_value"] == "welcome email sent to user 42"
    finally:
        assert dev.interrupt() == 0
    assert "No response from https://app.example.com" not in dev.log()
