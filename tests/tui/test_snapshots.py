"""Snapshot tests of the dashboard's main screens (pytest-textual-snapshot).

Every snapshot is rendered at a fixed virtual time (`emulated(start=...)`: the dashboard reads
the time tasks_google records, so durations, ages and the sparkline are stable) from rows with
fixed ids, workers and timestamps. After a deliberate change to a screen, look at the new
rendering and accept it with ``uv run pytest tests/tui/test_snapshots.py --snapshot-update``.
"""

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest

from emulator.kit.faults import FaultRule, HttpStatus
from tasks_google import schedule_task
from tasks_google.framework import TaskResultStatus
from tasks_google.testing import EmulatedCloud, emulated
from tests.tasks_google import tasks
from tests.tui.conftest import SIZE, screen_text, until
from tui.app import TasksDashboard

NOW = datetime(2026, 11, 22, 9, 30, tzinfo=UTC)
WORKER = "web-7f9c:4121"


@pytest.fixture
def frozen_cloud(transactional_db) -> Iterator[EmulatedCloud]:
    with emulated(start=NOW) as cloud:
        yield cloud


def history(make_execution) -> None:
    """A small, fixed history: one execution in each state, a retried one, a cancelled one."""
    at = NOW - timedelta(minutes=4)
    make_execution(
        id="9d2b6c1e4f7a4e0b8c3d5a6f7e8d9c01",
        task_path="shop.tasks.send_receipt",
        queue="emails",
        enqueued_at=at,
    )
    make_execution(
        id="4c1f0e9d8b7a46c5a3e2f1d0c9b8a702",
        task_path="shop.tasks.rebuild_search_index",
        backend="jobs",
        queue="batch",
        status=TaskResultStatus.RUNNING,
        attempt_count=1,
        worker_ids=[WORKER],
        enqueued_at=at - timedelta(seconds=30),
        started_at=NOW - timedelta(minutes=3, seconds=12),
        last_attempted_at=NOW - timedelta(minutes=3, seconds=12),
        lease_owner=f"{WORKER}:3e1d2c4b5a69",
        lease_expires_at=NOW + timedelta(seconds=50),
        heartbeat_at=NOW - timedelta(seconds=10),
        progress_done=620,
        progress_total=1000,
        progress_message="indexed 620 of 1000 products",
    )
    make_execution(
        id="7e6d5c4b3a2948f1e0d9c8b7a6f5e403",
        task_path="shop.tasks.send_receipt",
        queue="emails",
        status=TaskResultStatus.SUCCESSFUL,
        attempt_count=1,
        worker_ids=[WORKER],
        enqueued_at=at - timedelta(seconds=60),
        started_at=at - timedelta(seconds=59),
        finished_at=at - timedelta(seconds=58, milliseconds=600),
        return_value={"sent": True, "to": "ada@example.com"},
    )
    make_execution(
        id="2b3c4d5e6f7a48b9c0d1e2f3a4b5c604",
        task_path="shop.tasks.charge_card",
        status=TaskResultStatus.FAILED,
        attempt_count=3,
        worker_ids=[WORKER, WORKER, WORKER],
        args=[1234],
        kwargs={"currency": "EUR"},
        enqueued_at=at - timedelta(seconds=90),
        started_at=at - timedelta(seconds=89),
        finished_at=at - timedelta(seconds=19),
        attempts=[
            {
                "number": number,
                "worker": WORKER,
                "started_at": (at - timedelta(seconds=start)).isoformat(),
                "finished_at": (at - timedelta(seconds=start - 1)).isoformat(),
                "outcome": outcome,
                "error": "shop.payments.CardDeclined",
            }
            for number, start, outcome in ((1, 89, "retry"), (2, 79, "retry"), (3, 59, "failed"))
        ],
        errors=[
            {
                "exception_class_path": "shop.payments.CardDeclined",
                "traceback": (
                    "Traceback (most recent call last):\n"
                    '  File "/app/shop/tasks.py", line 41, in charge_card\n'
                    "    gateway.charge(order.total, currency)\n"
                    "shop.payments.CardDeclined: insufficient funds\n"
                ),
            }
        ]
        * 3,
    )
    make_execution(
        id="0a1b2c3d4e5f4a6b8c7d9e0f1a2b3c05",
        task_path="shop.tasks.export_orders",
        backend="jobs",
        queue="batch",
        status=TaskResultStatus.FAILED,
        attempt_count=1,
        worker_ids=[WORKER],
        enqueued_at=at - timedelta(seconds=120),
        started_at=at - timedelta(seconds=118),
        finished_at=at - timedelta(seconds=100),
        cancel_requested_at=at - timedelta(seconds=101),
        cancelled_at=at - timedelta(seconds=100),
    )


async def loaded(pilot) -> None:
    """Wait until the list and the detail pane show the data."""
    await until(pilot, lambda: "send_receipt" in screen_text(pilot))
    await until(pilot, lambda: "Enqueued" in screen_text(pilot))


def test_executions_view(snap_compare, frozen_cloud, make_execution):
    history(make_execution)
    app = TasksDashboard(poll_interval=0.05)
    app.slow_read_seconds = float("inf")

    async def run_before(pilot) -> None:
        await loaded(pilot)
        await pilot.press("down", "down", "down")  # the failed charge_card
        await until(pilot, lambda: "2b3c4d5e6f7a48b9c0d1e2f3a4b5c604" in screen_text(pilot))
        await until(pilot, lambda: "#3  ✗ failed" in screen_text(pilot))

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_executions_view_filtered(snap_compare, frozen_cloud, make_execution):
    history(make_execution)
    app = TasksDashboard(poll_interval=0.05)
    app.slow_read_seconds = float("inf")

    async def run_before(pilot) -> None:
        await loaded(pilot)
        await pilot.press("slash", *"backend:jobs", "enter")
        await until(pilot, lambda: "send_receipt" not in screen_text(pilot))
        await until(pilot, lambda: "indexed 620" in screen_text(pilot))

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_help_screen(snap_compare, frozen_cloud, make_execution):
    history(make_execution)
    app = TasksDashboard(poll_interval=0.05)
    app.slow_read_seconds = float("inf")

    async def run_before(pilot) -> None:
        await loaded(pilot)
        await pilot.press("question_mark")
        await until(pilot, lambda: "Keys" in screen_text(pilot))

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)


def test_cloud_view(snap_compare, frozen_cloud, make_execution):
    tasks.noop_task.enqueue()
    tasks.noop_task.using(run_after=NOW + timedelta(minutes=5)).enqueue()
    schedule_task("nightly-report", tasks.noop_task, "0 3 * * *", time_zone="Europe/Paris")
    schedule_task("minute-stats", tasks.noop_task, "* * * * *")
    frozen_cloud.cloud.faults.add(
        FaultRule(operation="dispatch", queue="emails", effect=HttpStatus(503), count=3)
    )
    app = TasksDashboard(poll_interval=0.05)
    app.slow_read_seconds = float("inf")

    async def run_before(pilot) -> None:
        await pilot.press("2")
        await until(pilot, lambda: "Fault rules" in screen_text(pilot))

    assert snap_compare(app, terminal_size=SIZE, run_before=run_before)
