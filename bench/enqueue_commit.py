"""Benchmark of the enqueue side: many enqueues in one transaction, sent to the emulator server.

    uv run python bench/enqueue_commit.py [--tasks 1000]

The example project enqueues N `ping` tasks (deferred an hour, so nothing is delivered meanwhile)
in one transaction; their Cloud Tasks are created through the official client and the emulator
server's gRPC port when it commits, MAX_CONCURRENT_STARTS at a time. The same is then measured
with one creation at a time, for the ratio. Prints enqueues/s (from the first enqueue to the
commit's return) and CPU ms per task of the enqueuing process and of the emulator server. Nothing
is asserted.
"""

import argparse
import subprocess
import sys
import tempfile
import time
from datetime import timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import EXAMPLE, example_with_emulator, tree_cpu_seconds


def enqueue_in_one_transaction(tasks: int, emulator: subprocess.Popen, label: str) -> None:
    from django.db import transaction
    from shop.tasks import ping

    from tasks_google import clock

    deferred = ping.using(run_after=clock.now() + timedelta(hours=1))
    emulator_cpu, cpu, wall = (
        tree_cpu_seconds(emulator.pid),
        time.process_time(),
        time.perf_counter(),
    )
    with transaction.atomic():
        for i in range(tasks):
            deferred.enqueue(i)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    emulator_cpu = tree_cpu_seconds(emulator.pid) - emulator_cpu
    print(
        f"{label}: {tasks} enqueues in one transaction, {tasks / wall:.0f} enqueues/s; "
        f"CPU ms per task: enqueuer {cpu / tasks * 1000:.2f}, "
        f"emulator {emulator_cpu / tasks * 1000:.2f}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tasks", type=int, default=1000)
    options = parser.parse_args()
    emulator = example_with_emulator(Path(tempfile.mkdtemp(prefix="tasks-google-bench-")))
    try:
        sys.path.insert(0, str(EXAMPLE))
        import django

        django.setup()
        from tasks_google.backends import remote_starts

        enqueue_in_one_transaction(10, emulator, "warm-up")  # channel, queue creation
        concurrent = remote_starts.MAX_CONCURRENT_STARTS
        enqueue_in_one_transaction(options.tasks, emulator, f"{concurrent} at a time")
        remote_starts.MAX_CONCURRENT_STARTS = 1
        enqueue_in_one_transaction(options.tasks, emulator, "one at a time")
    finally:
        emulator.terminate()
        emulator.wait(15)


if __name__ == "__main__":
    main()
