"""Pruning old finished executions: `prune_executions` and `manage.py prune_tasks`."""

import io
from datetime import timedelta

import pytest
from django.core.management import CommandError, call_command

from tasks_google import clock, prune_executions
from tasks_google.framework import TaskResultStatus
from tasks_google.models import ScheduleFire, TaskExecution

pytestmark = pytest.mark.django_db

DAY = timedelta(days=1)


def execution(status: str, finished_days_ago: float | None, **fields) -> TaskExecution:
    now = clock.now()
    finished = now - finished_days_ago * DAY if finished_days_ago is not None else None
    return TaskExecution.objects.create(
        task_path="tests.tasks_google.tasks.noop_task",
        backend="default",
        queue="default",
        status=status,
        enqueued_at=(finished or now) - timedelta(minutes=1),
        finished_at=finished,
        **fields,
    )


@pytest.fixture
def history() -> dict[str, TaskExecution]:
    return {
        "old_success": execution(TaskResultStatus.SUCCESSFUL, 40),
        "old_failure": execution(TaskResultStatus.FAILED, 31),
        "old_cancelled": execution(
            TaskResultStatus.FAILED, 35, cancelled_at=clock.now() - 35 * DAY
        ),
        "recent_success": execution(TaskResultStatus.SUCCESSFUL, 2),
        # Unfinished for weeks (a paused queue, a long run_after): never deleted.
        "old_ready": execution(TaskResultStatus.READY, None, run_after=clock.now() + DAY),
        "old_running": execution(TaskResultStatus.RUNNING, None),
    }


def remaining() -> set[str]:
    return set(TaskExecution.objects.values_list("pk", flat=True))


def test_only_executions_finished_before_the_cutoff_are_deleted(history):
    TaskExecution.objects.filter(
        pk__in=[history["old_ready"].pk, history["old_running"].pk]
    ).update(enqueued_at=clock.now() - 60 * DAY)
    report = prune_executions(30 * DAY, batch_size=2)  # two rows per statement: two batches
    assert report.executions == 3
    keep = ("recent_success", "old_ready", "old_running")
    assert remaining() == {history[name].pk for name in keep}


def test_a_dry_run_counts_and_deletes_nothing(history):
    report = prune_executions(30 * DAY, dry_run=True)
    assert report.executions == 3
    assert remaining() == {row.pk for row in history.values()}


def test_old_schedule_fire_records_go_too_and_recent_ones_stay(history):
    now = clock.now()
    old = ScheduleFire.objects.create(
        job_name="jobs/a",
        schedule_time=now - 40 * DAY,
        received_at=now - 40 * DAY,
        execution=history["old_success"],
    )
    recent = ScheduleFire.objects.create(
        job_name="jobs/a",
        schedule_time=now - DAY,
        received_at=now - DAY,
        execution=history["recent_success"],
    )
    assert prune_executions(30 * DAY).fires == 1
    assert list(ScheduleFire.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not ScheduleFire.objects.filter(pk=old.pk).exists()


def test_the_command_reports_and_refuses_bad_arguments(history):
    out = io.StringIO()
    call_command("prune_tasks", "--days", "30", "--dry-run", stdout=out)
    assert out.getvalue().strip() == (
        "Would delete 3 finished execution(s) and 0 schedule fire record(s) older than 30 day(s)."
    )
    call_command("prune_tasks", stdout=out)  # 30 days by default
    assert history["recent_success"].pk in remaining() and len(remaining()) == 3
    with pytest.raises(CommandError, match=r"--days must be 0 or more \(got -1\)"):
        call_command("prune_tasks", "--days", "-1")
    with pytest.raises(CommandError, match=r"--batch-size must be at least 1 \(got 0\)"):
        call_command("prune_tasks", "--batch-size", "0")


def test_bad_arguments_of_the_function_name_themselves():
    with pytest.raises(ValueError, match="older_than must be 0 or more"):
        prune_executions(-DAY)
    with pytest.raises(ValueError, match="batch_size must be at least 1"):
        prune_executions(DAY, batch_size=0)
