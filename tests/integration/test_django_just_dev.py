"""`just dev`: the emulator and runserver together, real HTTP both ways, the production adapter."""

import http.cookiejar
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]


def free_port_pair() -> int:
    """A port p such that p and p + 1 are both free (gRPC and the control API)."""
    for _ in range(50):
        with socket.socket() as probe:
            probe.bind(("127.0.0.1", 0))
            port = probe.getsockname()[1]
        try:
            with socket.socket() as a, socket.socket() as b:
                a.bind(("127.0.0.1", port))
                b.bind(("127.0.0.1", port + 1))
            return port
        except OSError:
            continue
    raise RuntimeError("no free pair of ports")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_until(check, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
            if value:
                return value
        except OSError:
            pass
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


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
    log = (tmp_path / "dev.log").open("w")
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
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(15)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
        log.close()
        print((tmp_path / "dev.log").read_text()[-3000:])


def test_just_dev_runs_example_tasks_through_the_emulator(dev_server):
    jar = http.cookiejar.CookieJar()
    opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(jar))
    opener.open(dev_server + "/", timeout=5)
    csrf = next(c.value for c in jar if c.name == "csrftoken")

    def enqueue(name: str) -> str:
        request = urllib.request.Request(
            f"{dev_server}/enqueue/{name}/",
            method="POST",
            headers={"X-CSRFToken": csrf, "Accept": "application/json", "Referer": dev_server},
        )
        return json.load(opener.open(request, timeout=10))["id"]

    def state(execution_id: str) -> dict:
        return json.load(opener.open(f"{dev_server}/api/executions/{execution_id}/", timeout=5))

    welcome, flaky, rejected = enqueue("welcome"), enqueue("flaky"), enqueue("reject")

    done = wait_until(lambda: (s := state(welcome))["status"] == "SUCCESSFUL" and s, 30, "welcome")
    assert done["return_value"] == "welcome email sent to user 42"
    # Fails twice, retried by the emulator after its backoff (1 s, then 2 s), then succeeds.
    done = wait_until(lambda: (s := state(flaky))["status"] == "SUCCESSFUL" and s, 40, "flaky")
    assert done["attempts"] == 3 and len(done["errors"]) == 2
    done = wait_until(lambda: (s := state(rejected))["status"] == "FAILED" and s, 30, "reject")
    assert done["attempts"] == 1
