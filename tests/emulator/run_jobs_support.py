"""Helpers for Cloud Run Jobs tests: jobs whose container is a small Python program, waiting
with deadlines, and psutil checks that no process was left behind."""

from __future__ import annotations

import json
import sys
import time
from collections.abc import Callable, Iterable
from datetime import timedelta
from pathlib import Path
from typing import Any

import psutil
from google.cloud import run_v2
from google.longrunning import operations_pb2

from emulator.run_jobs import RunJobsEngine

PARENT = "projects/demo/locations/local"
KILL_GRACE = 0.3
"""Seconds between SIGTERM and SIGKILL in these tests."""

# A child that ignores SIGTERM, records its pid, then sleeps: only SIGKILL stops it.
STUBBORN = (
    "import os, signal, sys, time\n"
    "signal.signal(signal.SIGTERM, signal.SIG_IGN)\n"
    "open(sys.argv[1], 'w').write(str(os.getpid()))\n"
    "time.sleep(60)\n"
)


def python(code: str) -> list[str]:
    """A container command running ``code`` with this interpreter."""
    return [sys.executable, "-c", code]


def ignoring_sigterm(command: list[str]) -> list[str]:
    """``command`` started with SIGTERM already ignored (an ignored disposition survives exec),
    so no SIGTERM can arrive before the program sets up its own handling."""
    return ["sh", "-c", 'trap "" TERM; exec "$@"', "sh", *command]


def job_spec(
    command: list[str],
    *,
    args: Iterable[str] = (),
    env: dict[str, str] | None = None,
    task_count: int = 0,
    parallelism: int = 0,
    max_retries: int | None = None,
    timeout: float | None = None,
) -> run_v2.Job:
    """A Job message with one container and the given template settings."""
    container = run_v2.Container(
        name="main",
        command=command,
        args=list(args),
        env=[run_v2.EnvVar(name=k, value=v) for k, v in (env or {}).items()],
    )
    task = run_v2.TaskTemplate(containers=[container])
    if max_retries is not None:
        task.max_retries = max_retries
    if timeout is not None:
        task.timeout = timedelta(seconds=timeout)
    return run_v2.Job(
        template=run_v2.ExecutionTemplate(
            task_count=task_count, parallelism=parallelism, template=task
        )
    )


def create_job(engine: RunJobsEngine, job_id: str, command: list[str], **settings: Any) -> str:
    """Create job ``job_id`` in PARENT; return its full name."""
    engine.create_job(
        run_v2.CreateJobRequest(parent=PARENT, job_id=job_id, job=job_spec(command, **settings))
    )
    return f"{PARENT}/jobs/{job_id}"


def run_job(
    engine: RunJobsEngine, job: str, overrides: run_v2.RunJobRequest.Overrides | None = None
) -> tuple[str, operations_pb2.Operation]:
    """RunJob; return the new execution's name and the operation."""
    request = run_v2.RunJobRequest(name=job)
    if overrides is not None:
        request.overrides = overrides
    operation = engine.run_job(request)
    return execution_of(operation).name, operation


def execution_of(operation: operations_pb2.Operation) -> run_v2.Execution:
    """The Execution an operation carries as metadata."""
    return run_v2.Execution.deserialize(operation.metadata.value)


def tasks_of(engine: RunJobsEngine, execution: str) -> list[run_v2.Task]:
    """The execution's tasks, by index."""
    return list(engine.list_tasks(run_v2.ListTasksRequest(parent=execution)).tasks)


def wait_until[T](check: Callable[[], T], timeout: float = 10.0, what: str = "condition") -> T:
    """Poll ``check`` until it returns something truthy; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not (value := check()):
        assert time.monotonic() < deadline, f"{what} not met within {timeout}s"
        time.sleep(0.02)
    return value


def read_pid(path: Path, timeout: float = 10.0) -> int:
    """The pid a child wrote to ``path``."""
    return int(wait_until(lambda: path.exists() and path.read_text(), timeout, f"{path.name}"))


def alive(pid: int) -> bool:
    """True if ``pid`` runs (a zombie waiting for an unrelated parent counts as gone)."""
    try:
        return psutil.Process(pid).status() != psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return False


def assert_gone(pids: Iterable[int], timeout: float = 30.0) -> None:
    """Fail unless every pid has stopped running within ``timeout`` seconds (generous: a loaded
    machine may take seconds to start the process that stops them)."""
    pids = list(pids)
    wait_until(lambda: not any(alive(p) for p in pids), timeout, f"processes {pids} gone")


def read_json_files(directory: Path, pattern: str) -> list[dict[str, Any]]:
    """Every JSON file matching ``pattern`` in ``directory``, sorted by name."""
    return [json.loads(p.read_text()) for p in sorted(directory.glob(pattern))]
