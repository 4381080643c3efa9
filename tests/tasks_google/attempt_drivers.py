"""How tests stage attempts: one running on a thread of the test (so the test acts while it
runs), or a dead one still holding the lease."""

import threading
import time
from datetime import timedelta

from django.db import connections

from tasks_google import clock
from tasks_google.execution import runtime
from tasks_google.framework import TaskResultStatus
from tasks_google.models import TaskExecution


def run_in_thread(execution_id: str) -> tuple[threading.Thread, list[runtime.Outcome]]:
    """Start one attempt of the execution on a thread; its outcome lands in the list."""
    outcomes = []

    def target():
        try:
            outcomes.append(runtime.run_attempt(execution_id, attempts_made=0))
        finally:
            for conn in connections.all(initialized_only=True):
                conn.close()

    thread = threading.Thread(target=target)
    thread.start()
    return thread, outcomes


def wait_running(execution_id: str, timeout: float = 10) -> None:
    """Wait until an attempt of the execution holds its lease and has recorded its start."""
    deadline = time.monotonic() + timeout

    def started() -> bool:
        row = TaskExecution.objects.get(pk=execution_id)
        running = row.attempts and row.attempts[-1]["outcome"] == "running"
        return row.status == TaskResultStatus.RUNNING and bool(running)

    while not started():
        assert time.monotonic() < deadline, "the task never started"
        time.sleep(0.01)


def hold_lease(execution_id: str, owner: str = "other-worker:1:abc", seconds: float = 60) -> None:
    """Make the execution look taken by an attempt (of worker "other-worker:1") that died
    before recording anything: RUNNING, its lease live for `seconds` more."""
    TaskExecution.objects.filter(pk=execution_id).update(
        status=TaskResultStatus.RUNNING,
        lease_owner=owner,
        lease_expires_at=clock.now() + timedelta(seconds=seconds),
        attempt_count=1,
        worker_ids=["other-worker:1"],
        started_at=clock.now(),
    )


def new_row(task_path="tests.tasks_google.tasks.noop_task"):
    """An execution stored as enqueue stores it, without its Cloud Task."""
    return TaskExecution.objects.create(
        task_path=task_path, backend="default", queue="default", enqueued_at=clock.now()
    )
