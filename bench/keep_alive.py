"""Benchmark of the app's server on a kept-alive connection: runserver against tasks_runserver.

    uv run python bench/keep_alive.py [--requests 300]

The emulator keeps its connections to the app alive, as Cloud Tasks does. This starts the example
project under each server command in turn (Django's `runserver`, then `tasks_runserver`, what
`tasks_dev` runs) and sends N POSTs to `tasks/execute/` on one kept-alive connection, after a
warm-up of 50. They carry no ID token, so each is answered 401 by the endpoint: the figures are
those of the server and Django's request handling, not of a task. Prints, per server, the wall
time per request (from the client) and the server's CPU per request. Nothing is asserted.
"""

import argparse
import http.client
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import MANAGE, free_port, tree_cpu_seconds, wait_http

SERVERS = ("runserver", "tasks_runserver")
WARM_UP = 50


def post_many(port: int, count: int) -> int:
    """POST `count` times on one connection; the last response's status."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
    status = 0
    for _ in range(count):
        headers = {"Content-Type": "application/json"}
        connection.request("POST", "/tasks/execute/", body=b"{}", headers=headers)
        response = connection.getresponse()
        response.read()
        status = response.status
    connection.close()
    return status


def measure(server: str, requests: int) -> None:
    port = free_port()
    argv = [*MANAGE, server, f"127.0.0.1:{port}", "--noreload"]
    quiet = {"stdout": subprocess.DEVNULL, "stderr": subprocess.DEVNULL}
    process = subprocess.Popen(argv, **quiet)
    try:
        wait_http(f"http://127.0.0.1:{port}/")
        post_many(port, WARM_UP)
        cpu, wall = tree_cpu_seconds(process.pid), time.perf_counter()
        status = post_many(port, requests)
        wall = time.perf_counter() - wall
        cpu = tree_cpu_seconds(process.pid) - cpu
    finally:
        process.terminate()
        process.wait(15)
    print(
        f"{server}: {requests} POSTs on one connection (answered {status}): "
        f"{wall / requests * 1000:.2f} ms wall, {cpu / requests * 1000:.2f} ms server CPU "
        "per request"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    options = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="tasks-google-bench-") as tmp:
        os.environ["EXAMPLE_DB"] = str(Path(tmp) / "bench.sqlite3")
        os.environ["DJANGO_SETTINGS_MODULE"] = "exampleproject.settings"
        subprocess.run([*MANAGE, "migrate", "-v", "0"], check=True)
        for server in SERVERS:
            measure(server, options.requests)


if __name__ == "__main__":
    main()
