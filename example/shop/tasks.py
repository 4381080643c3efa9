"""Demo tasks: one of each behaviour worth watching."""

import time

from django.tasks import TaskContext, task

from tasks_google import PermanentTaskError


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
