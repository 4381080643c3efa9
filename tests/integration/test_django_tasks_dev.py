"""`manage.py tasks_dev`: code changes restart runserver; Ctrl-C leaves no process behind."""

import os
import shutil
import signal
import subprocess
import sys
import urllib.request
from pathlib import Path

from tests.integration.dev_processes import (
    ExampleApp,
    free_port,
    free_port_pair,
    processes_using,
    wait_until,
)

REPO = Path(__file__).resolve().parents[2]


def test_code_change_restarts_runserver_and_ctrl_c_stops_everything(tmp_path):
    project = tmp_path / "example"
    shutil.copytree(
        REPO / "example", project, ignore=shutil.ignore_patterns("*.sqlite3", "__pycache__")
    )
    port, grpc = free_port(), free_port_pair()
    env = {**os.environ, "DEV_PORT": str(port), "EXAMPLE_DB": str(tmp_path / "db.sqlite3")}
    env.pop("DJANGO_SETTINGS_MODULE", None)
    manage = [sys.executable, str(project / "manage.py")]
    subprocess.run([*manage, "migrate", "-v", "0"], env=env, check=True)
    log_path = tmp_path / "tasks_dev.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen(
            [*manage, "tasks_dev", f"127.0.0.1:{port}", "--emulator-port", str(grpc), "--memory"],
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
        try:
            base = f"http://127.0.0.1:{port}"
            wait_until(lambda: urllib.request.urlopen(base + "/", timeout=2), 60, "runserver")
            app = ExampleApp(base)
            first = app.wait_for(app.enqueue("welcome"), "SUCCESSFUL")
            assert first["return_value"] == "welcome email sent to user 42"

            tasks_py = project / "shop" / "tasks.py"
            tasks_py.write_text(tasks_py.read_text().replace("welcome email sent", "hello"))

            def new_code_runs():
                app = ExampleApp(base)
                done = app.wait_for(app.enqueue("welcome"), "SUCCESSFUL")
                return done["return_value"].startswith("hello")

            wait_until(new_code_runs, 60, "runserver to restart with the new code")
        finally:
            os.killpg(proc.pid, signal.SIGINT)
            try:
                assert proc.wait(20) == 0
            finally:
                print(log_path.read_text()[-5000:])
    assert processes_using(port, grpc) == []
