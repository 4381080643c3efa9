"""Re-create the remote work of executions whose creation never happened.

An execution is committed READY and its Cloud Task is created on commit. If the process dies
in between, or the API call fails, the row is READY with an empty `remote_name` and nothing would
ever deliver it. `reconcile()` finds such rows (one indexed query) and creates what is missing;
the Cloud Task name derives from the execution id, so a task that did get created is not doubled.
Cheap enough to run every minute (e.g. from Cloud Scheduler or cron).
"""

import logging
from dataclasses import dataclass, field
from datetime import timedelta

from django.tasks import TaskResultStatus, task_backends
from django.tasks.exceptions import InvalidTaskBackend

from tasks_google import clock
from tasks_google.models import TaskExecution

logger = logging.getLogger(__name__)

#: Rows younger than this are left alone: their on-commit creation may still be under way.
DEFAULT_GRACE = timedelta(seconds=60)
DEFAULT_LIMIT = 500


@dataclass
class ReconcileReport:
    recreated: list[str] = field(default_factory=list)
    failed: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)  # backend gone or not reconcilable
    cancelled: list[str] = field(default_factory=list)  # forced cancels whose process died


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
        TaskExecution.objects.filter(
            status=TaskResultStatus.RUNNING,
            cancel_requested_at__isnull=False,
            lease_expires_at__lt=clock.now(),
        ).order_by("enqueued_at")[:limit]
    )


def reconcile(
    grace: timedelta = DEFAULT_GRACE, limit: int = DEFAULT_LIMIT, dry_run: bool = False
) -> ReconcileReport:
    """Create the missing remote work of up to `limit` orphaned executions, and record as
    cancelled the executions whose forced cancel killed the attempt."""
    from tasks_google.cancellation import finish_cancelled

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
    return report
