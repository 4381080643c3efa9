"""Concurrent deliveries on a real SQLite file: each body runs once, nothing is lost or stuck."""

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections

from tasks_google.execution import runtime
from tasks_google.framework import TaskResultStatus
from tasks_google.models import TaskExecution
from tests.tasks_google import tasks

pytestmark = pytest.mark.django_db(transaction=True)


def deliver(execution_id):
    try:
        return runtime.run_attempt(execution_id, attempts_made=0)
    finally:
        for conn in connections.all(initialized_only=True):
            conn.close()


def test_duplicate_deliveries_run_the_body_once(tasks_emulator):
    result = tasks.sleeps.enqueue(0.3)
    start = threading.Barrier(4)

    def racer(_):
        start.wait()
        return deliver(result.id)

    with ThreadPoolExecutor(4) as pool:
        outcomes = list(pool.map(racer, range(4)))
    kinds = sorted(o.kind for o in outcomes)
    # One attempt ran it; the others were turned away while it held the lease (or found it done).
    assert kinds.count("succeeded") == 1
    assert all(k in ("busy", "finished", "succeeded") for k in kinds)
    assert all(not o.final for o in outcomes if o.kind == "busy")
    result.refresh()
    assert result.status == TaskResultStatus.SUCCESSFUL and result.attempts == 1


def test_burst_of_deliveries_all_finish(tasks_emulator):
    results = [tasks.echo.enqueue(i) for i in range(60)]
    ids = [r.id for r in results] * 2  # every execution delivered twice

    with ThreadPoolExecutor(6) as pool:
        outcomes = list(pool.map(deliver, ids))
    assert not [o for o in outcomes if o.kind not in ("succeeded", "finished", "busy")]
    rows = TaskExecution.objects.filter(pk__in=[r.id for r in results])
    assert {row.status for row in rows} == {TaskResultStatus.SUCCESSFUL}
    assert {row.attempt_count for row in rows} == {1}
    assert all(row.lease_owner == "" for row in rows)
