"""Executions an earlier emulator left running, found when the engine loads the store.

What is left of their process trees (an emulator killed with ``kill -9``) is killed, and they are
recorded as failed (interrupted).
"""

from __future__ import annotations

import logging
from datetime import datetime

from emulator.kit.store import Change
from emulator.run_jobs.model import INTERRUPTED_MESSAGE, ExecutionState, JobState
from emulator.run_jobs.processes import kill_leftover_tree, kill_unrecorded_attempts

logger = logging.getLogger(__name__)


def record_interrupted(execution: ExecutionState, job: JobState, now: datetime) -> list[Change]:
    """Kill the leftovers of ``execution`` (of ``job``, not finished) and record it as failed;
    return the store writes that record it."""
    _kill_leftovers(execution)
    changes: list[Change] = [task.put() for task in execution.interrupt(now)]
    changes.append(execution.put())
    if job.follow(execution):
        changes.append(job.put())
    logger.warning("Execution %s: %s", execution.name.full, INTERRUPTED_MESSAGE)
    return changes


def _kill_leftovers(execution: ExecutionState) -> None:
    """Kill the processes of the attempts still open, then any the records do not name."""
    for task in execution.tasks:
        attempt = task.open_attempt
        if task.finished or attempt is None or attempt.pid is None:
            continue
        if kill_leftover_tree(attempt.pid, attempt.pid_create_time):
            logger.warning(
                "Killed process %d of task %s, left running by an earlier emulator.",
                attempt.pid,
                task.task_id,
            )
    name = execution.name
    for pid in kill_unrecorded_attempts(name.job.job_id, name.execution_id):
        logger.warning(
            "Killed process %d of %s, left running by an earlier emulator.", pid, name.full
        )
