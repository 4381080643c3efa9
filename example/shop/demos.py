"""The demo tasks the page and `manage.py enqueue_demo` enqueue, by name."""

from collections.abc import Callable
from datetime import timedelta
from typing import NamedTuple

from django.tasks import TaskResult
from django.utils import timezone

from shop import tasks


class Demo(NamedTuple):
    description: str  # what to watch for, shown on the page
    enqueue: Callable[[], TaskResult]


DEMOS: dict[str, Demo] = {
    "welcome": Demo(
        "succeeds after half a second", lambda: tasks.send_welcome_email.enqueue(user_id=42)
    ),
    "flaky": Demo(
        "fails twice, then succeeds on a retry", lambda: tasks.flaky_import.enqueue(fail_times=2)
    ),
    "report": Demo("a few seconds of work", lambda: tasks.build_report.enqueue(rows=6)),
    "reject": Demo("fails for good, never retried", lambda: tasks.reject_order.enqueue(order_id=7)),
    "batch": Demo(
        "a Cloud Run Jobs execution reporting progress",
        lambda: tasks.rebuild_catalogue.enqueue(items=40),
    ),
    "later": Demo(
        "deferred by ten seconds",
        lambda: tasks.send_reminder.using(run_after=timezone.now() + timedelta(seconds=10)).enqueue(
            user_id=42
        ),
    ),
}
