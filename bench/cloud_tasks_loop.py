"""Benchmark of the development loop on Cloud Tasks: the emulator server, runserver, real HTTP.

    uv run python bench/cloud_tasks_loop.py [--tasks 200] [--steady-seconds 10] [--server S]
        [--queue SPEC]

The example project's trivial task goes through the production adapter (official client -> emulator
server -> HTTP -> the app's server -> SQLite; the server is `tasks_runserver`, what `tasks_dev`
runs, or with `--server runserver` Django's own), first as a burst of N enqueues, then as a steady
load (one enqueue every 100 ms). For each: throughput, enqueue-to-start latency (median, p95) and
CPU ms per task of each process (the emulator server, runserver and the enqueuer: psutil's CPU
times of the servers' process trees before and after; the enqueuer's own CPU over its enqueue
calls). Last, how long a running task takes to see a graceful cancel. Nothing is asserted.
"""

import argparse
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import (
    DEFAULT_TASKS,
    EXAMPLE,
    MANAGE,
    STEADY_INTERVAL,
    STEADY_SECONDS,
    Figures,
    add_figures_argument,
    example_with_emulator,
    free_port,
    latency_ms,
    tree_cpu_seconds,
    wait_http,
    write_figures,
)

#: How long a phase may take to finish its tasks before the benchmark gives up.
PHASE_TIMEOUT = 300
#: The app's server commands it can run: what tasks_dev runs (the default), Django's own.
SERVERS = ("tasks_runserver", "runserver")


def start_servers(tmp: Path, server: str, queues: list[str]) -> dict[str, subprocess.Popen]:
    """Migrate a fresh database, start the emulator server and the app's `server` command,
    wait for both."""
    port = free_port()
    os.environ["DEV_PORT"] = str(port)  # the example's base_url
    emulator = example_with_emulator(tmp, queues)
    app = subprocess.Popen(
        [*MANAGE, server, f"127.0.0.1:{port}", "--noreload"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    wait_http(f"http://127.0.0.1:{port}/")
    return {"emulator": emulator, "runserver": app}


def wait_finished(ids: list[str]) -> None:
    from tasks_google.framework import TaskResultStatus
    from tasks_google.models import TaskExecution

    finished = (TaskResultStatus.SUCCESSFUL, TaskResultStatus.FAILED)
    deadline = time.monotonic() + PHASE_TIMEOUT
    while TaskExecution.objects.filter(pk__in=ids).exclude(status__in=finished).exists():
        if time.monotonic() > deadline:
            raise SystemExit(f"tasks still unfinished after {PHASE_TIMEOUT} s")
        time.sleep(0.05)


def run_phase(name: str, servers: dict, tasks: int, interval: float) -> Figures:
    """Enqueue `tasks` pings `interval` s apart (0: a burst), wait for all: their figures."""
    from shop.tasks import ping

    from tasks_google.models import TaskExecution

    before = {n: tree_cpu_seconds(p.pid) for n, p in servers.items()}
    enqueuer_cpu, ids = 0.0, []
    started = time.monotonic()
    for i in range(tasks):
        if interval:
            time.sleep(max(0.0, started + i * interval - time.monotonic()))
        cpu = time.process_time()
        ids.append(ping.enqueue(i).id)
        enqueuer_cpu += time.process_time() - cpu
    wait_finished(ids)
    cpu_ms = {n: (tree_cpu_seconds(p.pid) - before[n]) / tasks * 1000 for n, p in servers.items()}
    cpu_ms["enqueuer"] = enqueuer_cpu / tasks * 1000
    rows = list(TaskExecution.objects.filter(pk__in=ids))
    last_finish = max(r.finished_at for r in rows)
    seconds = (last_finish - min(r.enqueued_at for r in rows)).total_seconds()
    median, p95 = latency_ms([(r.started_at - r.enqueued_at).total_seconds() for r in rows])
    ok = sum(r.status == "SUCCESSFUL" for r in rows)
    figures = Figures(name, tasks, tasks / seconds, sum(cpu_ms.values()), None, median, p95, cpu_ms)
    print(f"{name}: {tasks} tasks, {ok} successful, {figures.tasks_per_s:.1f} tasks/s")
    print(f"  enqueue -> start: median {median:.0f} ms, p95 {p95:.0f} ms")
    shares = ", ".join(f"{n} {ms:.2f}" for n, ms in cpu_ms.items())
    print(f"  CPU ms per task: {figures.cpu_ms_per_task:.2f} ({shares})")
    return figures


def graceful_cancel_delays(rounds: int = 5) -> list[float]:
    """Seconds between `cancel_task()` and a running task's execution being finished."""
    from shop import tasks

    from tasks_google import cancel_task
    from tasks_google.framework import TaskResultStatus
    from tasks_google.models import TaskExecution

    delays = []
    for _ in range(rounds):
        result = tasks.wait_until_cancelled.enqueue()
        while TaskExecution.objects.get(pk=result.id).status != TaskResultStatus.RUNNING:
            time.sleep(0.01)
        asked = time.monotonic()
        cancel_task(result)
        while TaskExecution.objects.get(pk=result.id).finished_at is None:
            time.sleep(0.01)
        delays.append(time.monotonic() - asked)
    return delays


def measure(
    tasks: int, steady_seconds: float, server: str = SERVERS[0], queues: list[str] | None = None
) -> list[Figures]:
    tmp = Path(tempfile.mkdtemp(prefix="tasks-google-bench-"))
    servers = start_servers(tmp, server, queues or [])
    try:
        sys.path.insert(0, str(EXAMPLE))
        import django

        django.setup()
        from shop.tasks import ping

        from tasks_google.models import TaskExecution

        ping.enqueue(0)  # warm up: client channel, queue creation
        time.sleep(1)
        TaskExecution.objects.all().delete()
        steady_tasks = round(steady_seconds / STEADY_INTERVAL)
        figures = [
            run_phase("dev loop burst", servers, tasks, 0),
            run_phase("dev loop steady", servers, steady_tasks, STEADY_INTERVAL),
        ]
        delays = graceful_cancel_delays()
        print(f"graceful cancel seen after: median {statistics.median(delays):.2f} s")
        return figures
    finally:
        for proc in servers.values():
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(10)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=DEFAULT_TASKS, help="burst size")
    parser.add_argument("--steady-seconds", type=float, default=STEADY_SECONDS)
    parser.add_argument("--server", choices=SERVERS, default=SERVERS[0], help="the app's server")
    parser.add_argument(
        "--queue",
        action="append",
        default=[],
        metavar="SPEC",
        help="the emulator's --queue (e.g. default:max_concurrent_dispatches=1); repeatable",
    )
    add_figures_argument(parser)
    options = parser.parse_args()
    figures = measure(options.tasks, options.steady_seconds, options.server, options.queue)
    write_figures(options.json, figures)


if __name__ == "__main__":
    main()
