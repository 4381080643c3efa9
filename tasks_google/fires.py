"""What a schedule's fire does: enqueue its task once per slot."""

import logging
from datetime import datetime
from typing import Any

from django.db import IntegrityError, transaction

from tasks_google import clock
from tasks_google.executions import load_task
from tasks_google.models import ScheduledTask, ScheduleFire, TaskExecution

logger = logging.getLogger(__name__)


def fire(name: str, job_name: str, slot: datetime) -> dict[str, Any]:
    """Enqueue the task of schedule `name` for `slot`, unless that slot was already enqueued.

    Always acknowledged (the caller answers 2xx): an unknown or disabled schedule and a
    duplicate fire are final outcomes, not errors worth Cloud Scheduler's retries.
    """
    row = ScheduledTask.objects.filter(name=name).first()
    if row is None:
        logger.warning("Fire for unknown schedule %r acknowledged", name)
        return {"outcome": "unknown"}
    if not row.enabled:
        return {"outcome": "disabled"}
    slot = clock.for_django(slot)
    try:
        with transaction.atomic():
            record = ScheduleFire.objects.create(
                job_name=job_name or row.name, schedule_time=slot, received_at=clock.now()
            )
            task = load_task(row.task_path).using(backend=row.backend, queue_name=row.queue)
            result = task.enqueue(*row.args, **row.kwargs)
            record.execution = TaskExecution(pk=result.id)
            record.save(update_fields=["execution"])
    except IntegrityError:
        logger.info("Duplicate fire of %s for %s ignored", name, slot.isoformat())
        return {"outcome": "duplicate"}
    ScheduledTask.objects.filter(pk=row.pk).update(last_fired_slot=slot)
    return {"outcome": "enqueued", "execution_id": result.id}
