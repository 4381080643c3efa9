"""The statements of every attempt, built once per database: what they read is what the ORM
reads, what they write is what the ORM reads back, and their conditions hold."""

from datetime import timedelta

import pytest
from django.db import connection
from django.forms.models import model_to_dict

from tasks_google import clock
from tasks_google.framework import TaskResultStatus
from tasks_google.models import TaskExecution

pytestmark = pytest.mark.django_db(transaction=True)


def a_row(**fields) -> TaskExecution:
    now = clock.now()
    values = {
        "task_path": "shop.tasks.ping",
        "args": [1, "two", {"three": [3.0, None]}],
        "kwargs": {"ünïcode": "✓"},
        "backend": "default",
        "queue": "default",
        "enqueued_at": now,
        "run_after": now + timedelta(seconds=5),
        "errors": [{"exception_class_path": "ValueError", "traceback": "…"}],
        "progress_total": 2**40,
        **fields,
    }
    return TaskExecution.objects.create(**values)


def everything(row: TaskExecution) -> dict:
    return {**model_to_dict(row), "id": row.pk}


def test_a_row_reads_as_the_orm_reads_it():
    row = a_row()
    read = TaskExecution.read(row.pk)
    assert everything(read) == everything(TaskExecution.objects.get(pk=row.pk))
    assert read.run_after.tzinfo is not None and read.args[2] == {"three": [3.0, None]}
    assert read._state.adding is False and read._state.db == connection.alias


def test_an_unknown_id_reads_as_none():
    assert TaskExecution.read("0" * 32) is None


def test_taking_the_lease_with_the_start_writes_what_the_orm_reads_back():
    row = a_row()
    now, timeout = clock.now(), timedelta(seconds=30)
    start = {
        "errors": [],
        "worker_ids": ["web-1:42"],
        "attempts": [{"number": 1, "worker": "web-1:42", "outcome": "running"}],
        "started_at": now,
    }
    assert TaskExecution.take_lease_and_start(row.pk, ("", 0), "me", now, timeout, start)
    taken = TaskExecution.objects.get(pk=row.pk)
    assert (taken.status, taken.lease_owner, taken.attempt_count) == ("RUNNING", "me", 1)
    assert (taken.lease_expires_at, taken.heartbeat_at) == (now + timeout, now)
    assert (taken.worker_ids, taken.attempts, taken.started_at) == (
        start["worker_ids"],
        start["attempts"],
        now,
    )


@pytest.mark.parametrize(
    "change, read",
    [
        ({"lease_owner": "other", "lease_expires_at": None}, ("", 0)),  # taken meanwhile
        ({"attempt_count": 1}, ("", 0)),  # another attempt came and went
        ({"cancel_requested_at": "now"}, ("", 0)),  # asked to cancel
        ({"status": TaskResultStatus.SUCCESSFUL}, ("", 0)),  # finished
        ({"lease_owner": "old", "lease_expires_at": "later"}, ("old", 0)),  # a live lease
    ],
)
def test_the_lease_is_not_taken_unless_the_row_is_still_as_read(change, read):
    now = clock.now()
    times = {"now": now, "later": now + timedelta(minutes=1)}
    row = a_row(**{k: times.get(v, v) if isinstance(v, str) else v for k, v in change.items()})
    start = {"errors": [], "worker_ids": [], "attempts": [], "started_at": now}
    before = everything(TaskExecution.objects.get(pk=row.pk))
    assert not TaskExecution.take_lease_and_start(
        row.pk, read, "me", now, timedelta(seconds=30), start
    )
    assert everything(TaskExecution.objects.get(pk=row.pk)) == before


def test_an_expired_lease_is_taken_over():
    now = clock.now()
    row = a_row(lease_owner="old", lease_expires_at=now - timedelta(seconds=1), status="RUNNING")
    start = {"errors": [], "worker_ids": [], "attempts": [], "started_at": now}
    assert TaskExecution.take_lease_and_start(
        row.pk, ("old", 0), "me", now, timedelta(seconds=30), start
    )
    assert TaskExecution.objects.get(pk=row.pk).lease_owner == "me"


def test_an_outcome_is_written_only_while_the_lease_is_held_and_unless_cancelled():
    now = clock.now()
    row = a_row(lease_owner="me", status="RUNNING", lease_expires_at=now + timedelta(minutes=1))
    row.status, row.return_value, row.finished_at = "SUCCESSFUL", {"ok": [1, 2]}, now
    fields = ["status", "return_value", "finished_at"]
    assert not row.record_outcome("someone-else", fields)
    assert TaskExecution.objects.get(pk=row.pk).status == "RUNNING"
    TaskExecution.objects.filter(pk=row.pk).update(cancel_requested_at=now)
    assert not row.record_outcome("me", fields, unless_cancelled=True)
    assert row.record_outcome("me", fields)
    done = TaskExecution.objects.get(pk=row.pk)
    assert (done.status, done.return_value, done.finished_at) == ("SUCCESSFUL", {"ok": [1, 2]}, now)
    assert (done.lease_owner, done.lease_expires_at) == ("", None)
