"""Deleting what is no longer needed: old finished executions and old schedule fire records.

Nothing is pruned behind your back; run `manage.py prune_tasks` (e.g. daily) to keep the tables,
and the dashboard's history, to a chosen age. Unfinished executions (READY, RUNNING) are never
deleted, however old.
"""

from dataclasses import dataclass
from datetime import timedelta

from django.db.models import QuerySet

from tasks_google import clock
from tasks_google.models import ScheduleFire, TaskExecution

#: Rows deleted per statement: bounded transactions and locks on a large table.
DEFAULT_BATCH_SIZE = 1000


@dataclass(frozen=True)
class PruneReport:
    """How many rows were deleted (or, for a dry run, would be)."""

    executions: int
    fires: int


def prune_executions(
    older_than: timedelta, *, batch_size: int = DEFAULT_BATCH_SIZE, dry_run: bool = False
) -> PruneReport:
    """Delete the executions that finished (SUCCESSFUL, FAILED, cancelled) more than
    `older_than` ago, and the schedule fire records received before then.

    A fire record only de-duplicates retries of one Cloud Scheduler fire (hours at most), so it
    goes with the same age. Deletes in batches of `batch_size`, oldest first. Raises ValueError
    for a negative `older_than` or a `batch_size` below 1.
    """
    if older_than < timedelta(0):
        raise ValueError(f"older_than must be 0 or more, not {older_than}.")
    if batch_size < 1:
        raise ValueError(f"batch_size must be at least 1, not {batch_size}.")
    cutoff = clock.now() - older_than
    finished = TaskExecution.objects.finished().filter(finished_at__lt=cutoff)
    fires = ScheduleFire.objects.filter(received_at__lt=cutoff)
    if dry_run:
        return PruneReport(executions=finished.count(), fires=fires.count())
    return PruneReport(
        executions=_delete_in_batches(finished.order_by("finished_at"), batch_size),
        fires=_delete_in_batches(fires.order_by("received_at"), batch_size),
    )


def _delete_in_batches(rows: QuerySet, batch_size: int) -> int:
    """Delete `rows` `batch_size` at a time, each batch re-checked by the same filter; return
    how many of them were deleted."""
    label = rows.model._meta.label
    deleted = 0
    while True:
        batch = list(rows.values_list("pk", flat=True)[:batch_size])
        if not batch:
            return deleted
        _, per_model = rows.filter(pk__in=batch).delete()
        deleted += per_model.get(label, 0)
