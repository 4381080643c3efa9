"""The task benchmarks in one run, then one summary table and the comparisons.

    uv run python bench/run_all.py [--only inprocess|devloop|dtg ...] [--tasks 200]

Each part runs in a process of its own (each sets Django up its own way): bench/inprocess.py,
bench/cloud_tasks_loop.py and bench/dtg.py. Figures, never pass/fail: on a shared machine
compare CPU ms per task and the ratios; wall-clock figures move with the load.
"""

import argparse
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import DEFAULT_TASKS, PARTS, Figures, print_summary, read_figures

SCRIPTS = {"inprocess": "inprocess.py", "devloop": "cloud_tasks_loop.py", "dtg": "dtg.py"}


def run_part(part: str, tasks: int, output: Path) -> list[Figures]:
    script = Path(__file__).resolve().parent / SCRIPTS[part]
    print(f"== {part}", flush=True)
    command = [sys.executable, str(script), "--tasks", str(tasks), "--json", str(output)]
    subprocess.run(command, check=True)
    return read_figures(output)


def print_ratios(figures: list[Figures]) -> None:
    """Each of ours against django-tasks-google's ProcessBackend: how many times faster
    (tasks/s) and how many times less CPU per task."""
    theirs = [f for f in figures if f.part.startswith("dtg")]
    if not theirs:
        return
    base = theirs[0]
    for ours in figures:
        if ours is base:
            continue
        speed = ours.tasks_per_s / base.tasks_per_s
        cpu = base.cpu_ms_per_task / ours.cpu_ms_per_task
        print(f"  {ours.part} vs {base.part}: {speed:.1f}x tasks/s, {cpu:.1f}x less CPU per task")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--only", choices=PARTS, action="append", help="run only this part (repeatable)"
    )
    parser.add_argument("--tasks", type=int, default=DEFAULT_TASKS, help="tasks per batch")
    options = parser.parse_args()
    if options.tasks < 1:
        parser.error("--tasks must be 1 or more")
    chosen = [p for p in PARTS if p in (options.only or PARTS)]
    figures: list[Figures] = []
    with tempfile.TemporaryDirectory(prefix="tasks-google-bench-") as tmp:
        for part in chosen:
            figures += run_part(part, options.tasks, Path(tmp) / f"{part}.json")
    print("\n== summary (CPU per task and ratios are the figures to compare)")
    print_summary(figures)
    print_ratios(figures)


if __name__ == "__main__":
    main()
