"""What the task benchmarks share: defaults, process CPU readings, figures and their summary."""

import json
import os
import socket
import statistics
import subprocess
import sys
import time
import urllib.request
from collections.abc import Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
#: The example project the dev-loop benchmarks run, and its manage.py command.
EXAMPLE = REPO / "example"
MANAGE = [sys.executable, str(EXAMPLE / "manage.py")]
#: Trivial tasks per measured batch, unless `--tasks` says otherwise.
DEFAULT_TASKS = 200
#: The steady load of the dev loop: one enqueue every STEADY_INTERVAL s for STEADY_SECONDS s.
STEADY_INTERVAL = 0.1
STEADY_SECONDS = 10.0
#: The parts `run_all.py --only` chooses from, in the order they run.
PARTS = ("inprocess", "devloop", "dtg")


@dataclass
class Figures:
    """One measured run: what the summary table prints. None: not measured by that part."""

    part: str
    tasks: int
    tasks_per_s: float
    cpu_ms_per_task: float
    queries_per_task: float | None = None
    start_median_ms: float | None = None
    start_p95_ms: float | None = None
    #: CPU ms per task of each process taking part (name -> ms).
    cpu_by_process: dict[str, float] = field(default_factory=dict)


def add_figures_argument(parser) -> None:
    """`--json PATH`: where a part writes its figures for `run_all.py`."""
    parser.add_argument("--json", type=Path, help="write the figures here as JSON")


def write_figures(path: Path | None, figures: list[Figures]) -> None:
    if path is not None:
        path.write_text(json.dumps([asdict(f) for f in figures]))


def read_figures(path: Path) -> list[Figures]:
    return [Figures(**item) for item in json.loads(path.read_text())]


def percentile(values: list[float], fraction: float) -> float:
    """The value below which `fraction` of `values` lie (nearest rank)."""
    ordered = sorted(values)
    rank = max(1, round(fraction * len(ordered) + 0.5))
    return ordered[min(rank, len(ordered)) - 1]


def latency_ms(seconds: list[float]) -> tuple[float, float]:
    """Median and 95th percentile of `seconds`, in milliseconds."""
    return statistics.median(seconds) * 1000, percentile(seconds, 0.95) * 1000


def tree_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds of a live process, its finished (reaped) children and the
    children still running."""
    import psutil

    process = psutil.Process(pid)
    times = process.cpu_times()
    total = times.user + times.system + times.children_user + times.children_system
    for child in process.children(recursive=True):
        try:
            child_times = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += child_times.user + child_times.system
    return total


def rusage_cpu_seconds(rusage) -> float:
    """User + system CPU seconds of an `os.wait4` rusage (the process and its reaped children)."""
    return rusage.ru_utime + rusage.ru_stime


def wait_cpu_seconds(pid: int) -> tuple[int, float]:
    """Wait for child `pid` to end: its exit status and the CPU seconds of its process tree."""
    _, status, rusage = os.wait4(pid, 0)
    return os.waitstatus_to_exitcode(status), rusage_cpu_seconds(rusage)


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


def _cell(value: float | None, digits: int) -> str:
    return "-" if value is None else f"{value:.{digits}f}"


def print_summary(figures: list[Figures]) -> None:
    """One table of every part's figures, then each process's share of the CPU per task."""
    header = ("part", "tasks", "tasks/s", "CPU ms/task", "queries/task", "start p50", "p95")
    rows = [
        (
            f.part,
            str(f.tasks),
            _cell(f.tasks_per_s, 1),
            _cell(f.cpu_ms_per_task, 2),
            _cell(f.queries_per_task, 0),
            _cell(f.start_median_ms, 0),
            _cell(f.start_p95_ms, 0),
        )
        for f in figures
    ]
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    for row in [header, *rows]:
        print(
            "  ".join(
                cell.ljust(w) if i == 0 else cell.rjust(w)
                for i, (cell, w) in enumerate(zip(row, widths, strict=True))
            )
        )
    for f in figures:
        if f.cpu_by_process:
            shares = ", ".join(f"{name} {ms:.2f}" for name, ms in f.cpu_by_process.items())
            print(f"  {f.part}: CPU ms per task by process: {shares}")


def example_with_emulator(tmp: Path, queues: Sequence[str] = ()) -> subprocess.Popen:
    """Point the example project (this process's environment, inherited by what it starts) at
    a fresh SQLite database in `tmp` and at a new emulator server with `queues` (its --queue
    specs); migrate, start the emulator and wait until it answers. Returns its process."""
    grpc, http = free_port(), free_port()
    os.environ.update(
        {
            "EXAMPLE_DB": str(tmp / "bench.sqlite3"),
            "CLOUD_TASKS_EMULATOR_HOST": f"127.0.0.1:{grpc}",
            "CLOUD_RUN_EMULATOR_HOST": f"127.0.0.1:{grpc}",
            "TASKS_GOOGLE_EMULATOR_URL": f"http://127.0.0.1:{http}",
            "DJANGO_SETTINGS_MODULE": "exampleproject.settings",
        }
    )
    subprocess.run([*MANAGE, "migrate", "-v", "0"], check=True, stderr=subprocess.DEVNULL)
    argv = [sys.executable, "-m", "emulator", "--port", str(grpc), "--http-port", str(http)]
    argv += [arg for spec in queues for arg in ("--queue", spec)]
    emulator = subprocess.Popen(
        [*argv, "--log-level", "WARNING"], stdout=subprocess.DEVNULL, start_new_session=True
    )
    wait_http(f"http://127.0.0.1:{http}/health")
    return emulator
