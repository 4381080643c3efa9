"""Benchmark of the development loop on Cloud Tasks: the emulator server, runserver, real HTTP.

    uv run python bench/cloud_tasks_loop.py [--tasks 200]

Enqueues a burst of trivial tasks through the production adapter (official client -> emulator)
and reports throughput and enqueue-to-start latency, then measures how long a running task
takes to see a graceful cancel. Prints medians; nothing is asserted.
"""

import argparse
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
EXAMPLE = REPO / "example"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_http(url: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            urllib.request.urlopen(url, timeout=1)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise SystemExit(f"{url} did not answer") from None
            time.sleep(0.1)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=200)
    options = parser.parse_args()

    tmp = Path(tempfile.mkdtemp(prefix="tasks-google-bench-"))
    port, grpc, http = free_port(), free_port(), free_port()
    os.environ.update(
        {
            "DEV_PORT": str(port),
            "EXAMPLE_DB": str(tmp / "bench.sqlite3"),
            "CLOUD_TASKS_EMULATOR_HOST": f"127.0.0.1:{grpc}",
            "CLOUD_RUN_EMULATOR_HOST": f"127.0.0.1:{grpc}",
            "TASKS_GOOGLE_EMULATOR_URL": f"http://127.0.0.1:{http}",
            "DJANGO_SETTINGS_MODULE": "exampleproject.settings",
        }
    )
    manage = [sys.executable, str(EXAMPLE / "manage.py")]
    subprocess.run([*manage, "migrate", "-v", "0"], check=True)
    emulator = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "emulator",
            "--port",
            str(grpc),
            "--http-port",
            str(http),
            "--log-level",
            "WARNING",
        ],
        stdout=subprocess.DEVNULL,
        start_new_session=True,
    )
    server = subprocess.Popen(
        [*manage, "runserver", f"127.0.0.1:{port}", "--noreload"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    try:
        wait_http(f"http://127.0.0.1:{http}/health")
        wait_http(f"http://127.0.0.1:{port}/")
        sys.path.insert(0, str(EXAMPLE))
        import django

        django.setup()
        from shop import tasks

        from tasks_google import cancel_task
        from tasks_google.framework import TaskResultStatus
        from tasks_google.models import TaskExecution

        tasks.ping.enqueue(0)  # warm up: client channel, queue creation
        time.sleep(1)
        TaskExecution.objects.all().delete()

        started = time.monotonic()
        ids = [tasks.ping.enqueue(i).id for i in range(options.tasks)]
        enqueue_seconds = time.monotonic() - started
        finished = (TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED)
        while TaskExecution.objects.filter(pk__in=ids).exclude(status__in=finished).exists():
            time.sleep(0.05)
        total_seconds = time.monotonic() - started
        rows = TaskExecution.objects.filter(pk__in=ids)
        latencies = [(r.started_at - r.enqueued_at).total_seconds() for r in rows]
        ok = rows.filter(status=TaskResultStatus.SUCCESSFUL).count()

        cancel_delays = []
        for _ in range(5):
            result = tasks.wait_until_cancelled.enqueue()
            while TaskExecution.objects.get(pk=result.id).status != TaskResultStatus.RUNNING:
                time.sleep(0.01)
            asked = time.monotonic()
            cancel_task(result)
            while TaskExecution.objects.get(pk=result.id).finished_at is None:
                time.sleep(0.01)
            cancel_delays.append(time.monotonic() - asked)

        print(f"tasks: {options.tasks}, successful: {ok}")
        print(f"enqueue: {options.tasks / enqueue_seconds:.0f} enqueues/s")
        print(f"throughput: {options.tasks / total_seconds:.1f} tasks/s (enqueue to last finish)")
        print(f"enqueue -> start: median {statistics.median(latencies) * 1000:.0f} ms")
        print(f"graceful cancel seen after: median {statistics.median(cancel_delays):.2f} s")
    finally:
        for proc in (server, emulator):
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)


if __name__ == "__main__":
    main()
