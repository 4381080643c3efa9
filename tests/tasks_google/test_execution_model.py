"""TaskExecution and its QuerySet: the selections, and state changes guarded by the lease."""

from datetime import timedelta

import pytest

from tasks_google import clock
from tasks_google.framework import TaskResultStatus
from tasks_google.models import TaskExecution

pytestmark = pytest.mark.django_db

TIMEOUT = timedelta(seconds=30)


def new_row(**fields):
    return TaskExecution.objects.create(
        task_path="tests.tasks_google.tasks.noop_task",
        backend="default",
        queue="default",
        enqueued_at=clock.now(),
        **fields,
    )


def rows_of(row):
    return TaskExecution.objects.filter(pk=row.pk)


def test_finished_and_unfinished_split_the_statuses():
    ready, running = new_row(), new_row(status=TaskResultStatus.RUNNING)
    done, failed = new_row(status=TaskResultStatus.SUCCESSFUL), new_row(status="FAILED")
    assert set(TaskExecution.objects.unfinished()) == {ready, running}
    assert set(TaskExecution.objects.finished()) == {done, failed}
    assert done.is_finished and failed.is_finished and not running.is_finished


def test_a_live_lease_is_not_taken_an_expired_one_is():
    row = new_row()
    now = clock.now()
    assert rows_of(row).take_lease("a", now, TIMEOUT) == 1
    assert rows_of(row).take_lease("b", now, TIMEOUT) == 0
    assert rows_of(row).with_expired_lease(now + TIMEOUT * 2).exists()
    assert rows_of(row).take_lease("b", now + TIMEOUT * 2, TIMEOUT) == 1
    row.refresh_from_db()
    assert row.lease_owner == "b" and row.attempt_count == 2
    assert row.status == TaskResultStatus.RUNNING


def test_a_finished_execution_is_never_leased():
    row = new_row(status=TaskResultStatus.SUCCESSFUL)
    assert rows_of(row).take_lease("a", clock.now(), TIMEOUT) == 0


def test_only_the_holder_renews_or_records_an_outcome():
    row = new_row()
    now = clock.now()
    rows_of(row).take_lease("a", now, TIMEOUT)
    assert rows_of(row).renew_lease("b", now, TIMEOUT) == 0
    assert rows_of(row).renew_lease("a", now, TIMEOUT) == 1
    row.refresh_from_db()
    row.status = TaskResultStatus.SUCCESSFUL
    assert not row.record_outcome("b", ["status"])
    assert row.record_outcome("a", ["status"])
    row.refresh_from_db()
    assert row.status == TaskResultStatus.SUCCESSFUL and row.lease_owner == ""


def test_a_cancellation_before_start_needs_a_waiting_row():
    row = new_row()
    rows_of(row).take_lease("a", clock.now(), TIMEOUT)
    row.refresh_from_db()
    assert not row.record_cancellation(clock.now())
    assert row.record_cancellation(clock.now(), owner="a")
    row.refresh_from_db()
    assert row.status == TaskResultStatus.FAILED and row.cancelled_at is not None
    assert row.cancel_requested_at is not None and row.lease_owner == ""
