"""What a pending Cloud Task costs the in-process emulator in memory.

    uv run python bench/emulator_memory.py [--tasks 100000] [--sample 20000] [--top 8]

Creates N pending tasks in one queue of the in-process engine (`LocalCloud`, virtual clock), each
as the Django backend sends them: one OIDC token, one header, a ~50-byte body, scheduled a day
ahead so none is delivered. Then prints:

- the peak RSS of the process with the N tasks (the interpreter and its libraries included);
- the bytes of Python objects per task by tracemalloc, over `--sample` more tasks created in a
  fresh engine after a warm-up, and the `--top` allocation sites still held.

tracemalloc slows creation and uses memory of its own, so it runs only after the RSS reading.
Nothing is asserted.
"""

import argparse
import gc
import resource
import tracemalloc
from datetime import UTC, datetime, timedelta

from google.cloud import tasks_v2

from emulator import LocalCloud
from emulator.kit.clock import VirtualClock

LOCATION = "projects/p/locations/l"
QUEUE = f"{LOCATION}/queues/q"
WARM_UP = 100


def new_queue() -> LocalCloud:
    """A fresh in-process cloud holding the benchmark's queue (deliveries go nowhere)."""
    cloud = LocalCloud(VirtualClock(), lambda delivery: None)
    cloud.cloud_tasks.create_queue(
        tasks_v2.CreateQueueRequest(parent=LOCATION, queue=tasks_v2.Queue(name=QUEUE))
    )
    return cloud


def create_tasks(cloud: LocalCloud, first: int, count: int) -> None:
    """Create tasks ``first`` .. ``first + count - 1``, all pending for a day."""
    later = datetime.now(UTC) + timedelta(days=1)
    for i in range(first, first + count):
        http = tasks_v2.HttpRequest(
            url="https://app.example.com/tasks/execute/",
            http_method=tasks_v2.HttpMethod.POST,
            headers={"Content-Type": "application/json"},
            body=b'{"execution_id": "%032x"}' % i,
            oidc_token=tasks_v2.OidcToken(
                service_account_email="tasks-invoker@p.iam.gserviceaccount.com",
                audience="https://app.example.com",
            ),
        )
        task = tasks_v2.Task(name=f"{QUEUE}/tasks/{i:032x}", schedule_time=later, http_request=http)
        cloud.cloud_tasks.create_task(tasks_v2.CreateTaskRequest(parent=QUEUE, task=task))


def peak_rss_mib(tasks: int) -> float:
    """Peak RSS (MiB) of this process once ``tasks`` pending tasks exist."""
    cloud = new_queue()
    create_tasks(cloud, 0, tasks)
    gc.collect()
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def traced_bytes_per_task(sample: int, top: int) -> tuple[float, list[tracemalloc.Statistic]]:
    """Bytes of Python objects held per task over ``sample`` tasks, and the top sites."""
    cloud = new_queue()
    create_tasks(cloud, 0, WARM_UP)
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    create_tasks(cloud, WARM_UP, sample)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0]
    sites = tracemalloc.take_snapshot().statistics("lineno")[:top]
    tracemalloc.stop()
    return (after - before) / sample, sites


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--tasks", type=int, default=100_000, help="tasks for the peak RSS")
    parser.add_argument("--sample", type=int, default=20_000, help="tasks traced by tracemalloc")
    parser.add_argument("--top", type=int, default=8, help="allocation sites to list")
    args = parser.parse_args()
    if args.tasks < 1 or args.sample < 1 or args.top < 0:
        parser.error("--tasks and --sample must be at least 1, --top at least 0")
    print(f"{args.tasks} pending tasks: peak RSS {peak_rss_mib(args.tasks):.0f} MiB")
    per_task, sites = traced_bytes_per_task(args.sample, args.top)
    print(f"tracemalloc: {per_task:.0f} bytes per pending task ({args.sample} tasks)")
    for site in sites:
        print(f"  {site}")


if __name__ == "__main__":
    main()
