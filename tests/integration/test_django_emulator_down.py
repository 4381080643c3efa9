"""In a user's project with the emulator variables set but no emulator running: an enqueue
reports it within about a second, naming the host it tried and how to start the emulator."""

import subprocess

from tasks_google.config.dev_emulator import emulator_env
from tests.integration.dev_processes import free_port_pair
from tests.integration.dev_project import example_project, manage, project_env

ENQUEUE = """
import time
from shop.tasks import send_welcome_email
started = time.monotonic()
result = send_welcome_email.enqueue(user_id=1)
print(f"{result.id} {time.monotonic() - started:.3f}")
"""


def test_enqueue_reports_an_emulator_that_is_not_running_within_about_a_second(tmp_path):
    project = example_project(tmp_path)
    host = f"127.0.0.1:{free_port_pair()}"  # nothing listens there
    port = int(host.rsplit(":", 1)[1])
    shell = subprocess.run(
        [*manage(project), "shell", "-v", "0", "-c", ENQUEUE],
        cwd=project,
        env={**project_env(), **emulator_env("127.0.0.1", port, None)},
        capture_output=True,
        text=True,
        check=True,
    )

    execution_id, seconds = shell.stdout.split()
    # The enqueue is stored, its Cloud Task's creation failed and is logged (reconcile_tasks
    # creates it later): without loading Google's clients first, that takes milliseconds.
    assert f"execution {execution_id} stays READY" in shell.stderr
    assert f"EmulatorUnavailableError: The emulator at {host} does not answer" in shell.stderr
    assert "Start it with `python manage.py tasks_dev`" in shell.stderr
    assert float(seconds) < 1.0, shell.stderr
