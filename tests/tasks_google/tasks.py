"""Tasks the test suite enqueues (module level, as django.tasks requires)."""

import logging
import os
import sys
import time
from dataclasses import replace
from datetime import timedelta

from tasks_google import PermanentTaskError
from tasks_google.framework import DECORATOR_TAKES_TASK_FIELDS, TaskContext, task


@task
def noop_task(*args, **kwargs) -> None:
    return None


@task
async def noop_task_async(*args, **kwargs) -> None:
    return None


@task
def calculate_meaning_of_life() -> int:
    return 42


@task
async def calculate_meaning_of_life_async() -> int:
    return 42


@task
def echo(*args, **kwargs) -> dict:
    return {"args": list(args), "kwargs": kwargs}


@task
def failing_task_value_error() -> None:
    raise ValueError("This task failed due to ValueError")


@task
def failing_task_system_exit() -> None:
    sys.exit(1)


@task
def failing_task_keyboard_interrupt() -> None:
    raise KeyboardInterrupt("Simulated Ctrl-C")


@task
def complex_return_value() -> object:
    # A set is not JSON.
    return {1, 2, 3}


@task
def permanent_failure() -> None:
    raise PermanentTaskError("bad input, do not retry")


@task(takes_context=True)
def get_task_id(context: TaskContext) -> str:
    return context.task_result.id


@task(takes_context=True)
def test_context(context: TaskContext, attempt: int) -> None:
    assert isinstance(context, TaskContext)
    assert context.attempt == attempt


@task(takes_context=True)
def fails_until_attempt(context: TaskContext, succeed_on: int) -> int:
    """Fails on every attempt before `succeed_on`, then returns the attempt number."""
    if context.attempt < succeed_on:
        raise RuntimeError(f"attempt {context.attempt} fails on purpose")
    return context.attempt


@task(takes_context=True)
def dies_on_first_attempt(context: TaskContext) -> int:
    """Its first attempt dies as an interrupted process does (KeyboardInterrupt escapes the
    runtime, the lease stays held); later attempts return the attempt number."""
    if context.attempt == 1:
        raise KeyboardInterrupt
    return context.attempt


@task
def always_fails() -> None:
    raise RuntimeError("always fails")


@task
def sleeps(seconds: float) -> str:
    time.sleep(seconds)
    return "slept"


@task(queue_name="emails")
def send_email(to: str) -> str:
    return f"sent to {to}"


not_a_task = "tests.tasks_google.tasks is not only tasks"


@task
def enqueue_child() -> str:
    return noop_task.enqueue().id


@task
def purges_its_queue() -> int:
    """Purges the queue it runs on; returns how many waiting executions were cancelled."""
    from tasks_google import purge_queue

    return purge_queue().cancelled_executions


@task(takes_context=True)
def wait_for_cancel(context: TaskContext, seconds: float = 10) -> str:
    """Runs until cancelled (or `seconds` pass), then stops its own way."""
    from tasks_google import is_task_cancelled

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if is_task_cancelled(context):
            return "stopped early"
        time.sleep(0.02)
    return "ran to the end"


@task(takes_context=True)
def raise_when_cancelled(context: TaskContext) -> None:
    from tasks_google import TaskCancelledError, is_task_cancelled

    while not is_task_cancelled(context):
        time.sleep(0.02)
    raise TaskCancelledError("noticed the cancellation")


@task(takes_context=True)
def reports_progress(context: TaskContext, steps: int) -> int:
    from tasks_google import report_progress

    for step in range(1, steps + 1):
        report_progress(context, step, steps, f"step {step}")
    return steps


def bounded() -> str:
    return "done in time"


if DECORATOR_TAKES_TASK_FIELDS:
    bounded = task(timeout=timedelta(minutes=5))(bounded)
else:  # Django 6.0: the decorator takes Django's own fields only
    bounded = replace(task(bounded), timeout=timedelta(minutes=5))


@task
def cleans_up_when_stopped(marker: str) -> str:
    """Runs until stopped; its `finally` writes `marker` (observable cleanup)."""
    from pathlib import Path

    try:
        Path(marker + ".started").write_text("started")
        time.sleep(30)
        return "not stopped"
    finally:
        Path(marker).write_text("cleaned up")


@task(backend="jobs", queue_name="batch", takes_context=True)
def batch_job(context: TaskContext, items: int, marker: str = "") -> dict:
    """Long work for Run Jobs: progress, graceful and forced cancellation, cleanup."""
    from pathlib import Path

    from tasks_google import is_task_cancelled, report_progress

    done = 0
    try:
        if marker:
            Path(marker + ".started").write_text("started")
        for done in range(1, items + 1):
            if is_task_cancelled(context):
                return {"done": done - 1, "stopped": "cancelled"}
            time.sleep(0.05)
            report_progress(context, done, items)
        return {"done": items}
    finally:
        if marker:
            Path(marker).write_text(f"cleaned up after {done}")


@task(backend="jobs", queue_name="batch", takes_context=True)
def batch_fails_once(context: TaskContext) -> int:
    if context.attempt == 1:
        raise RuntimeError("first attempt fails")
    return context.attempt


@task(backend="jobs", queue_name="batch")
def ignores_sigterm(marker: str) -> None:
    import signal
    from pathlib import Path

    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    Path(marker + ".started").write_text(str(__import__("os").getpid()))
    time.sleep(60)


@task(backend="jobs", queue_name="batch")
def batch_always_fails() -> None:
    raise ValueError("the batch input is malformed")


def _count_attempt(counter: str, attempt: int) -> None:
    """Append the attempt number to the file `counter`: one line per run of a task's body."""
    with open(counter, "a") as lines:
        lines.write(f"{attempt}\n")


@task(takes_context=True)
def counts_then_dies(context: TaskContext, counter: str) -> int:
    """Counts its run; its first attempt then dies as an interrupted process does
    (KeyboardInterrupt escapes the runtime, the lease stays held)."""
    _count_attempt(counter, context.attempt)
    if context.attempt == 1:
        raise KeyboardInterrupt
    return context.attempt


@task(takes_context=True)
def counts_then_fails(context: TaskContext, counter: str) -> None:
    """Counts its run, then fails with a retryable error."""
    _count_attempt(counter, context.attempt)
    raise RuntimeError(f"attempt {context.attempt} fails on purpose")


@task(backend="jobs", queue_name="batch", takes_context=True)
def batch_counts_then_dies(context: TaskContext, counter: str) -> int:
    """Counts its run; its first attempt's process then dies on the spot (no outcome recorded,
    the lease left to expire)."""
    import os

    _count_attempt(counter, context.attempt)
    if context.attempt == 1:
        os._exit(3)
    return context.attempt


@task(backend="jobs", queue_name="batch", takes_context=True)
def batch_counts_then_fails(context: TaskContext, counter: str) -> None:
    """Counts its run, then fails with a retryable error."""
    _count_attempt(counter, context.attempt)
    raise RuntimeError(f"attempt {context.attempt} fails on purpose")


@task
def runs_until(marker: str, seconds: float = 30) -> str:
    """Runs until the file `marker` exists (or `seconds` pass)."""
    from pathlib import Path

    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if Path(marker).exists():
            return "released"
        time.sleep(0.02)
    return "never released"


@task
def logs_a_line(message: str) -> None:
    """Logs `message` as a warning, and an error with the traceback of a caught exception."""
    log = logging.getLogger("tests.tasks_google.tasks")
    log.warning(message)
    try:
        raise ValueError("caught on purpose")
    except ValueError:
        log.exception("%s failed", message)


@task(backend="jobs", queue_name="batch")
def batch_reads_env(name: str) -> str | None:
    """The value of the environment variable `name` in the Run Jobs execution's process."""
    return os.environ.get(name)
