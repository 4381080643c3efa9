"""Demo tasks: one of each behaviour worth watching."""

import logging
import time

from django.tasks import TaskContext, task

from tasks_google import (
    PermanentTaskError,
    TaskCancelledError,
    is_task_cancelled,
    periodic,
    report_progress,
)

logger = logging.getLogger(__name__)


@task(queue_name="emails")
def send_welcome_email(user_id: int) -> str:
    time.sleep(0.5)
    return f"welcome email sent to user {user_id}"


@task(takes_context=True)
def flaky_import(context: TaskContext, fail_times: int = 2) -> str:
    """Fails on its first `fail_times` attempts, then succeeds: watch the retries."""
    if context.attempt <= fail_times:
        raise ConnectionError(f"upstream unavailable (attempt {context.attempt})")
    return f"imported on attempt {context.attempt}"


@task(queue_name="reports")
def build_report(rows: int = 5) -> dict:
    """Takes a few seconds."""
    total = 0
    for row in range(rows):
        time.sleep(0.5)
        total += row
    return {"rows": rows, "total": total}


@task
def reject_order(order_id: int) -> None:
    raise PermanentTaskError(f"order {order_id} is invalid; retrying will not help")


@task(queue_name="emails")
def send_reminder(user_id: int) -> str:
    """Enqueued with run_after: delivered only once its time comes."""
    return f"reminder sent to user {user_id}"


@task(backend="jobs", queue_name="batch", takes_context=True)
def rebuild_catalogue(context: TaskContext, items: int = 40) -> dict:
    """Long batch work on Cloud Run Jobs: reports progress, stops when cancelled either way."""
    done = 0
    try:
        for done in range(1, items + 1):
            if is_task_cancelled(context):  # graceful: finish our own way
                logger.info("catalogue rebuild cancelled after %d items", done - 1)
                return {"rebuilt": done - 1, "stopped": "cancelled"}
            time.sleep(0.5)
            report_progress(context, done, items, f"item {done} of {items}")
    except TaskCancelledError:  # forced: SIGTERM raised it here
        logger.info("catalogue rebuild stopped by force after %d items; cleaning up", done)
        raise
    return {"rebuilt": items}


@task
def ping(n: int) -> int:
    """The smallest task: what the benchmark measures the machinery with."""
    return n


@task(takes_context=True)
def wait_until_cancelled(context: TaskContext, seconds: float = 30) -> str:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if is_task_cancelled(context):
            return "cancelled"
        time.sleep(0.01)
    return "timed out"


@periodic("* * * * *", name="minute-stats", description="Every minute, in the runserver log")
@task
def minute_stats() -> dict:
    """A schedule firing every minute (synced by `manage.py schedule_tasks`)."""
    from tasks_google.models import TaskExecution

    counts = {status: 0 for status in ("READY", "RUNNING", "SUCCESSFUL", "FAILED")}
    for status in TaskExecution.objects.values_list("status", flat=True):
        counts[status] += 1
    logger.info("minute-stats: %s", counts)
    return counts
