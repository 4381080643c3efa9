"""Leases: one attempt at a time holds an execution; heartbeats renew it; a clean exit ends it."""

from datetime import timedelta

import pytest

from tasks_google import clock
from tasks_google.execution import leases
from tasks_google.framework import TaskResultStatus
from tasks_google.models import TaskExecution
from tests.tasks_google import tasks
from tests.tasks_google.attempt_drivers import hold_lease, new_row
from tests.tasks_google.deliveries import post_execute

pytestmark = pytest.mark.django_db


def test_lease_is_taken_by_one_attempt_only():
    row = new_row()
    timeout = timedelta(seconds=30)
    assert leases.acquire(row.pk, "a", timeout)
    assert not leases.acquire(row.pk, "b", timeout)
    row.refresh_from_db()
    assert row.lease_owner == "a" and row.attempt_count == 1


def test_a_lease_is_taken_only_if_it_is_still_the_one_the_caller_read():
    row = new_row()
    timeout = timedelta(seconds=30)
    assert leases.acquire(row.pk, "a", timeout)
    TaskExecution.objects.filter(pk=row.pk).update(lease_expires_at=clock.now())
    # "a" records its outcome (a retry) after the caller read its expired lease:
    TaskExecution.objects.filter(pk=row.pk).update(status=TaskResultStatus.READY, lease_owner="")
    assert not leases.acquire(row.pk, "b", timeout, previous_owner="a")  # not a takeover
    assert leases.acquire(row.pk, "b", timeout, previous_owner="")  # a fresh attempt


def test_an_attempt_that_records_its_outcome_while_the_next_one_starts_was_not_lost(
    tasks_emulator, monkeypatch
):
    """The delivery reads an expired lease; before it takes the lease, the slow attempt that
    held it records a retry. The new attempt is a retry, not a takeover: nothing is lost."""
    result = tasks.noop_task.enqueue()
    hold_lease(result.id, owner="slow-worker:1:abc", seconds=-1)
    real_acquire = leases.acquire
    interleaved = []

    def acquire_after_the_slow_attempt_records_a_retry(*args, **kwargs):
        if not interleaved:
            interleaved.append(True)
            TaskExecution.objects.filter(pk=result.id).update(
                status=TaskResultStatus.READY, lease_owner="", lease_expires_at=None
            )
        return real_acquire(*args, **kwargs)

    monkeypatch.setattr(leases, "acquire", acquire_after_the_slow_attempt_records_a_retry)
    assert post_execute(result.id, retry_count=1).status_code == 200
    row = TaskExecution.objects.get(pk=result.id)
    assert row.status == TaskResultStatus.SUCCESSFUL
    assert not any("LostAttemptError" in e["exception_class_path"] for e in row.errors)
    assert [a["outcome"] for a in row.attempts] == ["succeeded"]


def test_heartbeat_renews_the_lease(transactional_db):
    row = new_row()
    timeout = timedelta(seconds=30)
    assert leases.acquire(row.pk, "me", timeout)
    row.refresh_from_db()
    first_beat = row.heartbeat_at
    with leases.Heartbeat(row.pk, "me", timedelta(seconds=0.05), timeout) as beat:
        import time

        time.sleep(0.3)
    row.refresh_from_db()
    assert not beat.lost
    assert row.heartbeat_at > first_beat
    assert row.lease_expires_at == row.heartbeat_at + timeout


def test_heartbeat_notices_a_lost_lease(transactional_db):
    row = new_row()
    assert leases.acquire(row.pk, "me", timedelta(seconds=30))
    TaskExecution.objects.filter(pk=row.pk).update(lease_owner="someone-else")
    with leases.Heartbeat(row.pk, "me", timedelta(seconds=0.02), timedelta(seconds=30)) as beat:
        import time

        time.sleep(0.2)
    assert beat.lost


def test_clean_exit_expires_the_leases_of_unfinished_attempts(monkeypatch):
    monkeypatch.setattr(leases, "_exiting", False)  # restored for the tests after this one
    row = new_row()
    assert leases.acquire(row.pk, "this-process:1:abc", timedelta(seconds=60))
    leases.expire_held_leases()  # what the interpreter runs at exit
    row.refresh_from_db()
    assert row.lease_expires_at < clock.now()
    # So the next delivery takes over at once (this test process plays the next one).
    leases._exiting = False
    assert leases.acquire(row.pk, "next-process:2:def", timedelta(seconds=60))


def test_no_lease_is_taken_once_the_process_exits(monkeypatch):
    """A delivery arriving while the server stops must not leave a lease nobody will release."""
    monkeypatch.setattr(leases, "_exiting", False)
    row = new_row()
    leases.expire_held_leases()
    assert not leases.acquire(row.pk, "this-process:1:abc", timedelta(seconds=60))
    row.refresh_from_db()
    assert row.lease_owner in ("", None)


@pytest.mark.django_db(transaction=True)
def test_a_lease_taken_while_the_process_exits_is_expired(monkeypatch):
    import threading

    monkeypatch.setattr(leases, "_exiting", False)
    row = new_row()
    monkeypatch.setattr(leases, "_taking", 1)  # a request thread is taking a lease right now
    exiting = threading.Thread(target=leases.expire_held_leases)
    exiting.start()
    exiting.join(0.2)
    assert exiting.is_alive()  # the exit waits for that take
    # The take succeeds and is registered.
    TaskExecution.objects.filter(pk=row.pk).update(
        lease_owner="racing:1:abc", lease_expires_at=clock.now() + timedelta(seconds=60)
    )
    with leases._held_lock:
        leases._held["racing:1:abc"] = row.pk
        leases._taking = 0
        leases._held_lock.notify_all()
    exiting.join(5)
    row.refresh_from_db()
    assert row.lease_expires_at < clock.now()


def test_finished_attempts_leave_no_lease_behind(tasks_emulator):
    result = tasks.calculate_meaning_of_life.enqueue()
    assert post_execute(result.id).status_code == 200
    assert leases._held == {}
