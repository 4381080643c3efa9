"""Benchmark of django-tasks-google 0.6.0's local ProcessBackend, for comparison.

    uv run python bench/dtg.py [--tasks 200] [--keep]

Builds a throwaway virtual environment (`uv venv` + `uv pip install django-tasks-google==0.6.0`
from PyPI) and a throwaway Django project on SQLite whose TASKS use its
`django_tasks_google.backends.ProcessBackend` (mode "cloud_tasks"). An enqueuer process enqueues
N trivial tasks; then its polling worker (`manage.py run_tasks`, one spawned interpreter per
task) runs until every row of `django_tasks_google_taskexecution` is SUCCESSFUL. Prints tasks/s
(worker start to last task done) and CPU ms per task of the enqueuer and of the worker's process
tree (os.wait4's rusage: the worker and every child it reaped). Nothing is asserted.
"""

import argparse
import os
import shutil
import signal
import sqlite3
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DEFAULT_TASKS, Figures, add_figures_argument, wait_cpu_seconds, write_figures

REQUIREMENT = "django-tasks-google==0.6.0"
#: The worker's options: its default pool, and a poll interval short enough not to dominate.
MAX_WORKERS = 4
POLL_INTERVAL_SECONDS = 0.1
#: Seconds without a task finishing after which the benchmark stops the worker.
STALL = 60

# The throwaway project is that library's user code, so it imports the task framework directly.
SETTINGS = f"""
SECRET_KEY = "bench-only"
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.contenttypes", "django.contrib.auth", "django_tasks_google", "dtgbench"
]
DATABASES = {{"default": {{"ENGINE": "django.db.backends.sqlite3", "NAME": "db.sqlite3"}}}}
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
TASKS = {{
    "default": {{
        "BACKEND": "django_tasks_google.backends.ProcessBackend",
        "OPTIONS": {{
            "mode": "cloud_tasks",
            "max_workers": {MAX_WORKERS},
            "poll_interval_seconds": {POLL_INTERVAL_SECONDS},
        }},
    }},
}}
"""
TASKS = """
from django.tasks import task


@task
def ping(n):
    return n
"""
ENQUEUE = """
import sys

import django

django.setup()
from dtgbench.tasks import ping

for i in range(int(sys.argv[1])):
    ping.enqueue(i)
"""
# As `startproject` writes it: the worker's spawned children import it as their __main__.
MANAGE = """
import sys

from django.core.management import execute_from_command_line

if __name__ == "__main__":
    execute_from_command_line(sys.argv)
"""


def uv() -> str:
    """The uv running this benchmark (`uv run` sets $UV), else the one on PATH."""
    found = os.environ.get("UV") or shutil.which("uv")
    if not found:
        raise SystemExit("uv not found: run the benchmark with `uv run`, or put uv on PATH")
    return found


def build(root: Path) -> Path:
    """The virtual environment and the project under `root`; returns the venv's python."""
    subprocess.run([uv(), "venv", "-q", "--python", sys.executable, str(root / "venv")], check=True)
    python = root / "venv" / "bin" / "python"
    subprocess.run([uv(), "pip", "install", "-q", "--python", str(python), REQUIREMENT], check=True)
    package = root / "dtgbench"
    package.mkdir()
    for path, text in {
        package / "__init__.py": "",
        package / "settings.py": SETTINGS,
        package / "tasks.py": TASKS,
        root / "enqueue.py": ENQUEUE,
        root / "manage.py": MANAGE,
    }.items():
        path.write_text(text.lstrip())
    os.environ["DJANGO_SETTINGS_MODULE"] = "dtgbench.settings"
    subprocess.run([python, "manage.py", "migrate", "-v", "0"], cwd=root, check=True)
    return python


def finished(database: Path) -> tuple[int, int]:
    """How many rows are SUCCESSFUL, and how many are finished (SUCCESSFUL or FAILED)."""
    with sqlite3.connect(database, timeout=30) as db:
        query = (
            "select sum(status = 'SUCCESSFUL'), sum(status in ('SUCCESSFUL', 'FAILED'))"
            " from django_tasks_google_taskexecution"
        )
        ok, done = db.execute(query).fetchone()
        return ok or 0, done or 0


def run_worker(python: Path, root: Path, tasks: int) -> tuple[float, float, int]:
    """Run `manage.py run_tasks` until every row is finished, or none has finished for STALL
    seconds: (wall s to the last one finished, CPU s of the worker's tree, rows SUCCESSFUL)."""
    started = last_progress = time.monotonic()
    log = (root / "worker.log").open("w")
    worker = subprocess.Popen([python, "manage.py", "run_tasks"], cwd=root, stderr=log)
    ok, done = 0, 0
    while done < tasks and time.monotonic() - last_progress < STALL:
        if worker.poll() is not None:
            raise SystemExit(f"the worker exited with {worker.returncode}: see {log.name}")
        time.sleep(0.05)
        now_ok, now_done = finished(root / "db.sqlite3")
        if now_done > done:
            last_progress = time.monotonic()
        ok, done = now_ok, now_done
    worker.send_signal(signal.SIGTERM)  # it drains: joins its children, then exits
    status, cpu = wait_cpu_seconds(worker.pid)
    worker.returncode = status
    if done < tasks:
        print(f"  {tasks - done} tasks never finished (left RUNNING or READY); see {log.name}")
    return last_progress - started, cpu, ok


def measure(tasks: int, root: Path) -> Figures:
    python = build(root)
    enqueuer = subprocess.Popen([python, "enqueue.py", str(tasks)], cwd=root)
    status, enqueue_cpu = wait_cpu_seconds(enqueuer.pid)
    enqueuer.returncode = status
    if status:
        raise SystemExit(f"enqueue.py exited with {status}")
    wall, worker_cpu, ok = run_worker(python, root, tasks)
    cpu_ms = {"worker tree": worker_cpu / tasks * 1000, "enqueuer": enqueue_cpu / tasks * 1000}
    figures = Figures("dtg 0.6.0 ProcessBackend", tasks, tasks / wall, sum(cpu_ms.values()))
    figures.cpu_by_process = cpu_ms
    print(f"{REQUIREMENT} ProcessBackend: {tasks} tasks, {ok} successful", end=", ")
    print(f"{figures.tasks_per_s:.1f} tasks/s")
    shares = ", ".join(f"{n} {ms:.2f}" for n, ms in cpu_ms.items())
    print(f"  CPU ms per task: {figures.cpu_ms_per_task:.2f} ({shares})")
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=DEFAULT_TASKS)
    parser.add_argument("--keep", action="store_true", help="leave the project in place")
    add_figures_argument(parser)
    options = parser.parse_args()
    root = Path(tempfile.mkdtemp(prefix="tasks-google-bench-dtg-"))
    try:
        write_figures(options.json, [measure(options.tasks, root)])
    finally:
        if options.keep:
            print(f"project kept in {root}")
        else:
            shutil.rmtree(root, ignore_errors=True)


if __name__ == "__main__":
    main()
