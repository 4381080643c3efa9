"""`manage.py tasks_tui` in a user's project, in a terminal: next to a running `tasks_dev` or
`tasks_emulator` it watches that emulator though the shell exports nothing; with none running it
says so and how to start one, never that Google permissions are missing."""

import os
import re
import signal
import subprocess
import urllib.request

from tasks_google.config.dev_emulator import RECORD_NAME
from tests.integration.dev_processes import free_port, free_port_pair, wait_until
from tests.integration.dev_project import (
    TasksDev,
    Terminal,
    example_project,
    manage,
    project_env,
)


def dashboard(project) -> Terminal:
    return Terminal([*manage(project), "tasks_tui"], project, project_env())


def shows_the_emulator(project, grpc: int) -> None:
    tui = dashboard(project)
    try:
        tui.wait_for(re.escape(f"EMULATOR (127.0.0.1:{grpc})"))
        tui.press("2")
        tui.wait_for(re.escape(f"Emulator (http://127.0.0.1:{grpc + 1})"))
        tui.wait_for(r"\bemails\b")  # a queue of the project, read from the emulator
        assert "GCP" not in tui.text()
    finally:
        tui.close()


def says_none_is_running(project) -> None:
    tui = dashboard(project)
    try:
        tui.wait_for(re.escape("EMULATOR (not running)"))
        tui.press("2")
        tui.wait_for(re.escape("No emulator is configured or running for demo-project"))
        tui.wait_for(re.escape("Start it with `python manage.py tasks_dev`"))
        assert "IAM" not in tui.text()
    finally:
        tui.close()


def test_tasks_tui_finds_the_emulator_of_a_running_tasks_dev(tmp_path):
    project = example_project(tmp_path)
    port, grpc = free_port(), free_port_pair()
    dev = TasksDev(project, tmp_path / "dev.log", port, "--emulator-port", str(grpc), "--memory")
    try:
        dev.wait_for_runserver()
        shows_the_emulator(project, grpc)
    finally:
        assert dev.interrupt() == 0
    assert not (project / ".emulator-data" / RECORD_NAME).exists()
    says_none_is_running(project)


def test_tasks_tui_finds_the_emulator_of_tasks_emulator_and_forgets_it_once_stopped(tmp_path):
    project = example_project(tmp_path)
    grpc = free_port_pair()
    emulator = subprocess.Popen(
        [*manage(project), "tasks_emulator", "--emulator-port", str(grpc), "--memory"],
        cwd=project,
        env=project_env(),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        health = f"http://127.0.0.1:{grpc + 1}/health"
        wait_until(lambda: urllib.request.urlopen(health, timeout=5), 60, "the emulator")
        shows_the_emulator(project, grpc)
    finally:
        os.killpg(emulator.pid, signal.SIGINT)
        assert emulator.wait(30) == 0
    # Its record outlives it (it became the emulator); a dead one is ignored and removed.
    says_none_is_running(project)
    assert not (project / ".emulator-data" / RECORD_NAME).exists()
