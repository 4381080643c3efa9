"""One heartbeat thread per process serves every running attempt: it renews each lease, notices
each lost one, polls each for a cancellation, and stopping one attempt leaves the others alone."""

import os
import threading
import time
from contextlib import contextmanager
from datetime import timedelta

import pytest
from django.db import connections

from tasks_google import cancel_task
from tasks_google.execution import heartbeats, leases
from tasks_google.models import TaskExecution
from tests.settings import TASKS
from tests.tasks_google import tasks
from tests.tasks_google.attempt_drivers import new_row, run_in_thread, wait_running

pytestmark = pytest.mark.django_db(transaction=True)

ATTEMPTS = 20
TIMEOUT = timedelta(seconds=30)
BEAT = timedelta(seconds=0.02)


@pytest.fixture
def fast_heartbeats(settings):
    """Leases renewed every 0.05 s, cancellations polled every 0.05 s."""
    options = {
        **TASKS["default"]["OPTIONS"],
        "heartbeat_interval_seconds": 0.05,
        "heartbeat_timeout_seconds": 30,
        "cancel_poll_interval_seconds": 0.05,
    }
    settings.TASKS = {"default": {**TASKS["default"], "OPTIONS": options}}


def wait_until(condition, what: str, timeout: float = 15) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting until {what}"
        time.sleep(0.01)


def heartbeat_threads() -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name == heartbeats.THREAD_NAME]


def beats_of(ids) -> dict:
    return dict(TaskExecution.objects.filter(pk__in=ids).values_list("pk", "heartbeat_at"))


def renewed_since(before: dict) -> bool:
    now = beats_of(before)
    return all(now[pk] > before[pk] for pk in before)


def new_execution(task, *args) -> str:
    """An execution stored as enqueue stores it, without its Cloud Task; the test delivers it.
    (On the wall clock: under the emulator's virtual clock heartbeat_at would stand still.)"""
    row = new_row(task.module_path)
    TaskExecution.objects.filter(pk=row.pk).update(args=list(args))
    return row.pk


@contextmanager
def running(ids, marker):
    """Deliver each execution on its own thread; once all run, yield their (thread, outcomes).
    On the way out, release `runs_until` tasks with `marker` and wait for every attempt."""
    started = [run_in_thread(pk) for pk in ids]
    try:
        for pk in ids:
            wait_running(pk)
        yield started
    finally:
        marker.write_text("go")
        for thread, _outcomes in started:
            thread.join(timeout=15)


def test_many_running_attempts_share_one_heartbeat_thread(fast_heartbeats, tmp_path):
    marker = tmp_path / "release"
    ids = [new_execution(tasks.runs_until, str(marker)) for _ in range(ATTEMPTS)]
    before = set(threading.enumerate())
    with running(ids, marker) as started:
        # Every lease is renewed while all of them run...
        first_beats = beats_of(ids)
        wait_until(lambda: renewed_since(first_beats), "every lease was renewed")
        # ...by one thread besides the attempts' own.
        assert len(heartbeat_threads()) == 1
        attempt_threads = {thread for thread, _outcomes in started}
        assert set(threading.enumerate()) - before - attempt_threads <= set(heartbeat_threads())
    assert [o.kind for _thread, outcomes in started for o in outcomes] == ["succeeded"] * ATTEMPTS
    assert len(heartbeat_threads()) == 1


def test_cancelling_one_of_many_running_attempts_stops_that_one_only(fast_heartbeats, tmp_path):
    marker = tmp_path / "release"
    cancelled = new_execution(tasks.wait_for_cancel, 30)
    ids = [new_execution(tasks.runs_until, str(marker)) for _ in range(5)]
    with running([cancelled, *ids], marker) as started:
        assert cancel_task(cancelled).state == "requested"
        (cancelled_thread, cancelled_outcomes), *others = started
        cancelled_thread.join(timeout=15)
        assert [o.kind for o in cancelled_outcomes] == ["cancelled"]
        # The others still run, and their leases are still renewed.
        assert all(thread.is_alive() for thread, _outcomes in others)
        first_beats = beats_of(ids)
        wait_until(lambda: renewed_since(first_beats), "the other leases were renewed")
    assert [o.kind for _thread, outcomes in others for o in outcomes] == ["succeeded"] * 5


def held_rows(count: int) -> list[TaskExecution]:
    rows = [new_row() for _ in range(count)]
    for row in rows:
        assert leases.acquire(row.pk, f"owner-{row.pk}", TIMEOUT)
    return rows


def start_heartbeats(rows, **kwargs) -> list[leases.Heartbeat]:
    beats = [leases.Heartbeat(row.pk, f"owner-{row.pk}", BEAT, TIMEOUT, **kwargs) for row in rows]
    for beat in beats:
        beat.start()
    return beats


def test_a_lost_lease_is_noticed_by_the_attempt_that_lost_it_only():
    rows = held_rows(5)
    beats = start_heartbeats(rows)
    try:
        TaskExecution.objects.filter(pk=rows[0].pk).update(lease_owner="someone-else")
        wait_until(lambda: beats[0].lost, "the lost lease was noticed")
        first_beats = beats_of([row.pk for row in rows[1:]])
        wait_until(lambda: renewed_since(first_beats), "the other leases were renewed")
        assert [beat.lost for beat in beats] == [True, False, False, False, False]
    finally:
        for beat in beats:
            beat.stop()


def test_a_stopped_heartbeat_renews_no_more_while_the_others_go_on():
    rows = held_rows(5)
    beats = start_heartbeats(rows)
    try:
        started_at = beats_of([rows[0].pk])
        wait_until(lambda: renewed_since(started_at), "the first lease was renewed")
        beats[0].stop()
        stopped_at = beats_of([rows[0].pk])
        for _ in range(3):
            others = beats_of([row.pk for row in rows[1:]])
            wait_until(lambda o=others: renewed_since(o), "the other leases were renewed")
        assert beats_of([rows[0].pk]) == stopped_at
        assert not any(beat.lost for beat in beats)
    finally:
        for beat in beats:
            beat.stop()


def test_stop_waits_for_a_renewal_under_way_but_not_for_another_attempts():
    entered, release = threading.Event(), threading.Event()
    calls = []

    def slow_renew(execution_id, owner, timeout):
        calls.append(execution_id)
        entered.set()
        release.wait(15)
        return True

    slow = leases.Heartbeat("slow", "me", BEAT, TIMEOUT, renew_lease=slow_renew)
    other = leases.Heartbeat("other", "me", BEAT, TIMEOUT, renew_lease=lambda *args: True)
    other.start()
    slow.start()
    try:
        assert entered.wait(15)
        other.stop()  # returns while the slow renewal is still under way
        stopping = threading.Thread(target=slow.stop)
        stopping.start()
        stopping.join(0.2)
        assert stopping.is_alive()  # the renewal under way finishes first
        release.set()
        stopping.join(15)
        assert not stopping.is_alive()
        renewals = len(calls)
        # The scheduler goes on serving others, but not the stopped one.
        ran = threading.Event()
        with leases.Heartbeat("next", "me", BEAT, TIMEOUT, renew_lease=lambda *a: ran.set() or 1):
            assert ran.wait(15)
        assert len(calls) == renewals
    finally:
        release.set()
        slow.stop()
        other.stop()


def test_the_heartbeat_thread_closes_its_connection_once_no_attempt_is_registered():
    used, ran = [], threading.Event()

    def job() -> bool:
        connection = connections["default"]
        connection.ensure_connection()
        connection.close_at = None  # a persistent connection (CONN_MAX_AGE None): kept after use
        used.append(connection)
        ran.set()
        return True

    registration = heartbeats.schedule([(0.01, job)])
    try:
        assert ran.wait(15)
    finally:
        registration.cancel()
    [connection, *_] = used
    assert connection is not connections["default"]  # the heartbeat thread's own
    wait_until(lambda: connection.connection is None, "the heartbeat thread closed its connection")


@pytest.mark.skipif(not hasattr(os, "fork"), reason="needs fork")
@pytest.mark.filterwarnings("ignore::DeprecationWarning")
def test_a_forked_process_starts_its_own_heartbeat_thread():
    with leases.Heartbeat("parent", "me", BEAT, TIMEOUT, renew_lease=lambda *args: True):
        read_end, write_end = os.pipe()
        pid = os.fork()
        if pid == 0:  # the child: only the parent's forking thread exists here
            ran = threading.Event()
            registration = heartbeats.schedule([(0.01, lambda: ran.set() or False)])
            ok = ran.wait(10) and len(heartbeat_threads()) == 1
            registration.cancel()
            os.write(write_end, b"1" if ok else b"0")
            os._exit(0)
        os.close(write_end)
        answer = os.read(read_end, 1)
        os.close(read_end)
        os.waitpid(pid, 0)
    assert answer == b"1"
