"""Benchmark of the dashboard with a large history: first paint, refresh, scrolling, memory.

    uv run python bench/tui_paint.py [--rows 1000 10000 100000]

For each size, a fresh process fills a temporary SQLite database with that many
`TaskExecution` rows, runs the dashboard headless (Textual's `run_test`, 160x50) and prints:
first paint (app start to the first screen of rows composited), refresh (one poll: the reads in
a worker thread and the repaint), a jump to the middle of the list (window fetch and repaint),
the reads alone, and memory (peak RSS; Python allocations during the app run). Prints figures;
nothing is asserted.
"""

import argparse
import asyncio
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
SIZE = (160, 50)
STATUSES = ("SUCCESSFUL", "SUCCESSFUL", "SUCCESSFUL", "FAILED", "READY", "RUNNING")


def configure(database: Path) -> None:
    import django
    from django.conf import settings

    settings.configure(
        DEBUG=False,
        USE_TZ=True,
        SECRET_KEY="bench",
        INSTALLED_APPS=["django.contrib.contenttypes", "django.contrib.auth", "tasks_google"],
        DATABASES={"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": str(database)}},
        DEFAULT_AUTO_FIELD="django.db.models.BigAutoField",
        TASKS={
            "default": {
                "BACKEND": "tasks_google.backends.CloudTasksBackend",
                "QUEUES": ["default", "emails"],
                "OPTIONS": {
                    "project_id": "demo-project",
                    "location": "us-central1",
                    "base_url": "http://127.0.0.1:8000/tasks/",
                    "emulator_host": "127.0.0.1:8123",
                },
            }
        },
    )
    django.setup()


def fill(rows: int) -> float:
    """Insert `rows` executions; returns the seconds it took."""
    from django.core.management import call_command

    from tasks_google import TaskExecution

    call_command("migrate", verbosity=0)
    began = time.perf_counter()
    start = datetime(2026, 1, 1, tzinfo=UTC)
    batch = []
    for n in range(rows):
        status = STATUSES[n % len(STATUSES)]
        enqueued = start + timedelta(seconds=n)
        batch.append(
            TaskExecution(
                task_path=f"shop.tasks.task_number_{n % 37}",
                backend="default",
                queue="emails" if n % 5 == 0 else "default",
                status=status,
                enqueued_at=enqueued,
                started_at=None if status == "READY" else enqueued + timedelta(seconds=1),
                finished_at=enqueued + timedelta(seconds=3) if status in STATUSES[:4] else None,
                attempt_count=0 if status == "READY" else 1 + n % 3,
                cancelled_at=enqueued if n % 60 == 3 else None,
                progress_done=n % 100 if status == "RUNNING" else None,
                progress_total=100 if status == "RUNNING" else None,
                args=[n],
                kwargs={"order": n},
            )
        )
        if len(batch) == 5000:
            TaskExecution.objects.bulk_create(batch)
            batch = []
    TaskExecution.objects.bulk_create(batch)
    return time.perf_counter() - began


async def measure(rows: int) -> dict[str, float]:
    from textual.pilot import Pilot

    from tui.app import TasksDashboard

    figures: dict[str, float] = {}
    app = TasksDashboard(poll_interval=3600)  # polls only when asked
    view = app.executions_view

    def painted(pilot: Pilot) -> bool:
        lines = [s.text for s in pilot.app.screen._compositor.render_strips()]
        return any(line.startswith(("✓", "✗", "…", "▶", "⊘")) for line in lines)

    async def wait(pilot: Pilot, condition) -> None:
        while not condition():
            await pilot.pause(0.001)

    began = time.perf_counter()
    async with app.run_test(size=SIZE) as pilot:
        await wait(pilot, lambda: painted(pilot))
        figures["first paint"] = time.perf_counter() - began

        refreshes = []
        for _ in range(10):
            polls = view.polls
            t0 = time.perf_counter()
            view.poll_now()
            await wait(pilot, lambda polls=polls: view.polls > polls)
            app.screen._compositor.render_strips()
            refreshes.append(time.perf_counter() - t0)
        figures["refresh (median of 10)"] = statistics.median(refreshes)

        t0 = time.perf_counter()
        view.execution_list.cursor = rows // 2
        await wait(pilot, lambda: view.execution_list.row_at(rows // 2) is not None)
        app.screen._compositor.render_strips()
        figures["jump to the middle"] = time.perf_counter() - t0

        moves = []
        for _ in range(20):
            t0 = time.perf_counter()
            view.execution_list.action_cursor_down()
            await wait(pilot, lambda: view.detail.shown_id == view.execution_list.selected_id)
            app.screen._compositor.render_strips()
            moves.append(time.perf_counter() - t0)
        figures["cursor move + detail"] = statistics.median(moves)
        figures["reads of one poll"] = view.snapshot.seconds if view.snapshot else float("nan")
    return figures


def rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def child(step: str, rows: int, database: Path) -> None:
    """One step in a fresh process: fill the database, time the app, or trace its memory."""
    configure(database)
    if step == "fill":
        print(f"{rows:>7,} rows (inserted in {fill(rows):.1f} s)")
        return
    import textual.app  # noqa: F401 - imported before the baseline, as any run does

    import tui.app  # noqa: F401

    before = rss_mib()
    if step == "time":
        for name, seconds in asyncio.run(measure(rows)).items():
            print(f"    {name:<24} {seconds * 1000:8.1f} ms")
        print(f"    {'peak RSS':<24} {rss_mib():8.1f} MiB (before the app: {before:.1f} MiB)")
        return
    tracemalloc.start()
    asyncio.run(measure(rows))
    _, peak = tracemalloc.get_traced_memory()
    print(f"    {'Python allocations peak':<24} {peak / 2**20:8.1f} MiB (tracemalloc, app run)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, nargs="+", default=[1_000, 10_000, 100_000])
    parser.add_argument("--child", nargs=3, help=argparse.SUPPRESS)
    options = parser.parse_args()
    if options.child is not None:
        step, rows, database = options.child
        child(step, int(rows), Path(database))
        return
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    for rows in options.rows:
        with tempfile.TemporaryDirectory(prefix="tui-bench-") as tmp:
            database = str(Path(tmp) / "bench.sqlite3")
            for step in ("fill", "time", "memory"):
                command = [sys.executable, __file__, "--child", step, str(rows), database]
                subprocess.run(command, check=True, env=env)


if __name__ == "__main__":
    main()
