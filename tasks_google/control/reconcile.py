"""Leave no execution hanging: re-create remote work that was never created, and finish the
executions whose remote work ended without them.

- An execution is committed READY and its Cloud Task is created on commit. If the process dies
  in between, or the API call fails, the row is READY with an empty `remote_name` and nothing
  would ever deliver it. `reconcile()` finds such rows (one indexed query) and creates what is
  missing; the Cloud Task name derives from the execution id, so a task that did get created is
  not doubled.
- An unfinished execution whose remote work is over (its Cloud Task purged, deleted or given up
  on by Cloud Tasks; its Run Jobs execution ended while the last attempt was killed) would stay
  READY or RUNNING forever. `reconcile()` asks the service about the ones untouched for
  `stale` (one call each) and records those it no longer has FAILED, with an
  AbandonedExecutionError saying so.
- A forced cancel whose attempt was killed before it could record anything is recorded cancelled.

Cheap enough to run every minute (e.g. from Cloud Scheduler or cron).
"""

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.db.models import Q
from django.db.models.functions import Coalesce

from tasks_google import clock
from tasks_google.exceptions import AbandonedExecutionError
from tasks_google.execution import attempts
from tasks_google.executions import announce_failure, history_limit, with_error
from tasks_google.framework import InvalidTaskBackend, TaskResultStatus, task_backends
from tasks_google.models import TaskExecution

logger = logging.getLogger(__name__)

#: Rows younger than this are left alone: their on-commit creation may still be under way.
DEFAULT_GRACE = timedelta(seconds=60)
#: Unfinished executions untouched for this long are checked against the service.
DEFAULT_STALE = timedelta(minutes=10)
DEFAULT_LIMIT = 500


@dataclass
class ReconcileReport:
    recreated: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # backend gone or not reconcilable
    cancelled: list[str] = field(default_factory=list)  # forced cancels whose process died
    abandoned: list[str] = field(default_factory=list)  # remote work over: recorded FAILED


def orphans(grace: timedelta = DEFAULT_GRACE, limit: int = DEFAULT_LIMIT) -> list[TaskExecution]:
    """READY executions older than `grace` whose remote work was never created, oldest first."""
    return list(
        TaskExecution.objects.filter(
            status=TaskResultStatus.READY,
            remote_name="",
            enqueued_at__lt=clock.now() - grace,
        ).order_by("enqueued_at")[:limit]
    )


def killed_while_cancelling(limit: int = DEFAULT_LIMIT) -> list[TaskExecution]:
    """RUNNING executions whose cancellation was requested and whose lease has expired: the
    attempt was stopped (e.g. SIGKILL after ignoring SIGTERM) before it could record anything,
    and no further attempt will come."""
    return list(
        TaskExecution.objects.filter(status=TaskResultStatus.RUNNING)
        .cancel_requested()
        .with_expired_lease(clock.now())
        .order_by("enqueued_at")[:limit]
    )


def stale_executions(
    stale: timedelta = DEFAULT_STALE, limit: int = DEFAULT_LIMIT
) -> list[TaskExecution]:
    """Unfinished executions with remote work that nothing has touched for `stale`, oldest
    first: READY and unleased (not waiting for a `run_after` still ahead), or RUNNING with a
    lease that expired that long ago (and no cancellation requested: see
    `killed_while_cancelling`)."""
    cutoff = clock.now() - stale
    waiting = Q(status=TaskResultStatus.READY, lease_owner="", last_touched__lt=cutoff) & (
        Q(run_after__isnull=True) | Q(run_after__lt=cutoff)
    )
    dead = Q(
        status=TaskResultStatus.RUNNING,
        lease_expires_at__lt=cutoff,
        cancel_requested_at__isnull=True,
    )
    return list(
        TaskExecution.objects.annotate(last_touched=Coalesce("last_attempted_at", "enqueued_at"))
        .filter(waiting | dead)
        .exclude(remote_name="")
        .order_by("enqueued_at")[:limit]
    )


def record_abandoned(row: TaskExecution, how: str = "its remote work is over") -> bool:
    """Record `row` FAILED because its remote work is over (`how`: the backend's
    `remote_work_over`), if it is still as it was read (same status, lease and attempt count: no
    delivery came meanwhile). Its running attempt, if any, ends `lost`; `task_finished` is sent.
    Returns whether it was recorded."""
    now = clock.now()
    # `how` goes last: it may end with the lines a failed process wrote.
    error = AbandonedExecutionError(
        f"Nothing will run this execution again ({row.status} after {row.attempt_count} "
        "attempt(s)); re-enqueue it with tasks_google.retry_task() if it should still run. "
        f"Why: {how}"
    )
    row.errors = with_error(row.errors, error, keep=history_limit(row))
    if row.status == TaskResultStatus.RUNNING:
        row.attempts = attempts.ended(row.attempts, row.attempt_count, attempts.LOST, now, error)
    if not row.record_abandoned(now):
        return False
    announce_failure(row, error)
    return True


def reconcile(
    grace: timedelta = DEFAULT_GRACE,
    limit: int = DEFAULT_LIMIT,
    dry_run: bool = False,
    stale: timedelta = DEFAULT_STALE,
) -> ReconcileReport:
    """Create the missing remote work of up to `limit` orphaned executions, record as
    cancelled the executions whose forced cancel killed the attempt, and record FAILED up to
    `limit` stale executions whose remote work is over."""
    from tasks_google.execution.cancel_signals import finish_cancelled

    report = ReconcileReport()
    for row in killed_while_cancelling(limit):
        if dry_run or finish_cancelled(row, started=True, owner=row.lease_owner):
            report.cancelled.append(row.pk)
    for row in orphans(grace, limit):
        try:
            backend = task_backends[row.backend]
        except InvalidTaskBackend:
            report.skipped.append(row.pk)
            continue
        recreate = getattr(backend, "recreate_remote", None)
        if recreate is None:
            report.skipped.append(row.pk)
            continue
        if dry_run:
            report.recreated.append(row.pk)
            continue
        try:
            name = recreate(row)
        except Exception:
            logger.exception("Re-creating the remote work of execution %s failed", row.pk)
            report.failed.append(row.pk)
            continue
        TaskExecution.objects.filter(pk=row.pk, remote_name="").update(remote_name=name)
        report.recreated.append(row.pk)
    for row in stale_executions(stale, limit):
        try:
            over = task_backends[row.backend].remote_work_over(row)
        except (InvalidTaskBackend, AttributeError):
            report.skipped.append(row.pk)
            continue
        except Exception:
            logger.exception("Asking about the remote work of execution %s failed", row.pk)
            report.failed.append(row.pk)
            continue
        if over and (dry_run or record_abandoned(row, over)):
            report.abandoned.append(row.pk)
    return report
