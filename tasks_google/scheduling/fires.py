"""What a schedule's fire does: enqueue its task once per slot."""

import logging
from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from tasks_google import clock
from tasks_google.config.scheduler_jobs import PERIODIC_RUNNER_PATH
from tasks_google.executions import load_task
from tasks_google.models import ScheduledTask, ScheduleFire, TaskExecution
from tasks_google.scheduling.declarations import Fire
from tasks_google.scheduling.rules import TASK_NOT_FOUND, task_problem

logger = logging.getLogger(__name__)

#: Outcomes of a fire whose task cannot run: the task is missing, or refuses the arguments.
TASK_NOT_FOUND_OUTCOME = "task_not_found"
ARGUMENTS_REJECTED_OUTCOME = "arguments_rejected"

#: The prefix of the headers Cloud Scheduler adds to every fire (`X-CloudScheduler`,
#: `X-CloudScheduler-JobName`, `X-CloudScheduler-ScheduleTime`).
SCHEDULER_HEADER_PREFIX = "x-cloudscheduler"
#: Headers a `Fire` never carries, even when the job sets them: credentials and hop-by-hop.
NOT_CARRIED = frozenset(
    {
        "authorization",
        "proxy-authorization",
        "proxy-authenticate",
        "connection",
        "keep-alive",
        "te",
        "trailer",
        "transfer-encoding",
        "upgrade",
    }
)


def fire(
    name: str, job_name: str, slot: datetime, headers: Mapping[str, str] | None = None
) -> dict[str, Any]:
    """Enqueue the task of schedule `name` for `slot`, unless that slot was already enqueued.

    A `PeriodicTask`'s runner also gets the `Fire` (`slot`, the job, and of the request's
    `headers` the Cloud Scheduler ones and the job's own), which `run()` reads as `self.fire`.
    An unknown or disabled schedule and a duplicate fire are final outcomes, acknowledged. A
    task that cannot run (gone, or refusing the schedule's arguments) enqueues nothing: the
    reason is logged, recorded on the schedule (`fire_error`) and returned as `error`.
    """
    row = ScheduledTask.objects.filter(name=name).first()
    if row is None:
        logger.warning("Fire for unknown schedule %r acknowledged", name)
        return {"outcome": "unknown"}
    if not row.enabled:
        return {"outcome": "disabled"}
    problem = task_problem(row.task_path, row.args, row.kwargs)
    if problem is not None:
        logger.warning("Schedule %r cannot run its task: %s", name, problem.msg)
        ScheduledTask.objects.filter(pk=row.pk).update(fire_error=problem.msg)
        outcome = (
            TASK_NOT_FOUND_OUTCOME if problem.id == TASK_NOT_FOUND else ARGUMENTS_REJECTED_OUTCOME
        )
        return {"outcome": outcome, "error": problem.msg}
    slot = clock.for_django(slot)
    try:
        with transaction.atomic():
            record = ScheduleFire.objects.create(
                job_name=job_name or row.name, schedule_time=slot, received_at=clock.now()
            )
            task = load_task(row.task_path).using(backend=row.backend, queue_name=row.queue)
            fired = Fire(clock.as_utc(slot), record.job_name, _carried(headers, row))
            result = task.enqueue(*_arguments(row, fired), **row.kwargs)
            record.execution = TaskExecution(pk=result.id)
            record.save(update_fields=["execution"])
    except IntegrityError:
        logger.info("Duplicate fire of %s for %s ignored", name, slot.isoformat())
        return {"outcome": "duplicate"}
    ScheduledTask.objects.filter(pk=row.pk).update(last_fired_slot=slot, fire_error="")
    return {"outcome": "enqueued", "execution_id": result.id}


def _arguments(row: ScheduledTask, fired: Fire) -> Sequence[Any]:
    """The task's positional arguments: the row's, with the fire after a `PeriodicTask`'s class
    path (the runner's second argument)."""
    if row.task_path != PERIODIC_RUNNER_PATH or not row.args:
        return row.args
    return [row.args[0], fired.as_argument(), *row.args[1:]]


def _carried(headers: Mapping[str, str] | None, row: ScheduledTask) -> dict[str, str]:
    """The headers worth passing to `run()`: Cloud Scheduler's and the job's own, by lower-case
    name, never credentials nor hop-by-hop ones (the arguments stay small)."""
    own = {header.lower() for header in row.headers}
    return {
        name.lower(): value
        for name, value in (headers or {}).items()
        if (name.lower().startswith(SCHEDULER_HEADER_PREFIX) or name.lower() in own)
        and name.lower() not in NOT_CARRIED
    }
