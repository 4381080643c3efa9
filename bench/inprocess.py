"""Benchmark of the in-process emulator: tasks_google's own cost per task, without network.

    uv run python bench/inprocess.py [--tasks 200]

Django runs with bench/inprocess_settings.py on SQLite in memory (as a test suite does; `--file`:
a temporary file), under
`tasks_google.testing.emulated()`: N trivial tasks are enqueued in a loop, then
`run_until_idle()` delivers them (Django's test client, no socket). A first batch warms up
(imports, caches, the queue's creation) and is not counted. Prints tasks/s, CPU ms per task
(`time.process_time`, this one process does everything) and the SQL queries one task costs
(enqueue + execution). Nothing is asserted.
"""

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DEFAULT_TASKS, Figures, add_figures_argument, write_figures

#: SQLite in memory, shared by this process's threads (the heartbeat thread has a connection of
#: its own): how a project's test suite runs the in-process emulator.
IN_MEMORY = "file:tasks-google-bench?mode=memory&cache=shared"


def setup_django(database: Path | str) -> None:
    os.environ["BENCH_DB"] = str(database)
    os.environ["DJANGO_SETTINGS_MODULE"] = "inprocess_settings"
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)


def run_batch(cloud, tasks: int) -> tuple[float, float]:
    """Enqueue `tasks` pings, then deliver them all: (wall seconds, CPU seconds)."""
    from inprocess_app import ping

    wall, cpu = time.perf_counter(), time.process_time()
    for i in range(tasks):
        ping.enqueue(i)
    delivered = cloud.run_until_idle()
    if delivered != tasks:
        raise SystemExit(f"delivered {delivered} of {tasks} tasks")
    return time.perf_counter() - wall, time.process_time() - cpu


def queries_per_task(cloud) -> int:
    """The SQL queries of one warm task: its enqueue and its execution."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext
    from inprocess_app import ping

    with CaptureQueriesContext(connection) as captured:
        ping.enqueue(0)
        cloud.run_until_idle()
    return len(captured)


def measure(tasks: int, on_file: bool = False) -> Figures:
    with tempfile.TemporaryDirectory(prefix="tasks-google-bench-") as tmp:
        setup_django(Path(tmp) / "inprocess.sqlite3" if on_file else IN_MEMORY)
        from tasks_google.models import TaskExecution
        from tasks_google.testing import emulated

        with emulated() as cloud:
            run_batch(cloud, min(tasks, 50))  # warm-up, not counted
            wall, cpu = run_batch(cloud, tasks)
            queries = queries_per_task(cloud)
        ok = TaskExecution.objects.filter(status="SUCCESSFUL").count()
        print(f"in-process: {tasks} tasks (+ warm-up), successful rows in all: {ok}")
        print(f"  throughput: {tasks / wall:.0f} tasks/s (enqueue loop + run_until_idle)")
        print(f"  CPU: {cpu / tasks * 1000:.2f} ms per task; SQL: {queries} queries per task")
    return Figures(
        part="in-process",
        tasks=tasks,
        tasks_per_s=tasks / wall,
        cpu_ms_per_task=cpu / tasks * 1000,
        queries_per_task=queries,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=DEFAULT_TASKS)
    parser.add_argument(
        "--file", action="store_true", help="SQLite in a file (default: in memory, as in tests)"
    )
    add_figures_argument(parser)
    options = parser.parse_args()
    write_figures(options.json, [measure(options.tasks, options.file)])


if __name__ == "__main__":
    main()
