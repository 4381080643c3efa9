"""One thread per process runs the periodic work of every attempt running in it.

An attempt registers its jobs (renew the lease, poll for a cancellation) with `schedule`; a single
daemon thread, started on first use (and again in a forked child), runs each job when it is due,
one at a time, so a slow job delays the others by no more than itself. The thread sleeps until
the earliest due time; a registration wakes it only when it is due before that, and an
unregistration only when it leaves none behind the thread must tidy up after, so a stream of
short attempts (each over before its first heartbeat) costs no thread switch per attempt. Its
database connections are closed as Django closes a request's (`close_old_connections`) after
each round of work, and all of them once no attempt is registered.
"""

import heapq
import itertools
import logging
import os
import threading
import time
from collections.abc import Callable, Sequence

from django.db import close_old_connections, connections

logger = logging.getLogger(__name__)

#: A job runs once per call and answers whether it should run again after its interval.
Job = Callable[[], bool]
#: The name of the scheduler thread, one per process.
THREAD_NAME = "tasks-google-heartbeats"


class Registration:
    """The jobs of one attempt, as registered with the scheduler; `cancel()` ends them."""

    def __init__(self, scheduler: "_Scheduler", jobs: Sequence[tuple[float, Job]]) -> None:
        self.jobs = list(jobs)
        self._scheduler = scheduler
        # Held while one of these jobs runs, so cancel() can wait for it to end.
        self._lock = threading.Lock()
        self._active = True

    def cancel(self) -> None:
        """Unregister (idempotent); once this returns, none of its jobs runs, now or later."""
        with self._lock:
            self._active = False
        self._scheduler.remove(self)

    def run(self, index: int) -> bool:
        """Run job `index` unless cancelled; whether it should run again."""
        with self._lock:
            if not self._active:
                return False
            return self.jobs[index][1]()


class _Scheduler:
    """The registered jobs by due time, and the thread that runs them."""

    def __init__(self) -> None:
        self.pid = os.getpid()
        self._cond = threading.Condition()
        # (due time on the monotonic clock, tie-breaker, registration, job index)
        self._due: list[tuple[float, int, Registration, int]] = []
        self._registered: set[Registration] = set()
        self._order = itertools.count()
        self._thread: threading.Thread | None = None
        # When the sleeping thread wakes by itself (None: only when notified).
        self._wakes_at: float | None = None
        # Whether the thread ran a job (used connections) since it last tidied them, and
        # since it last closed them all.
        self._used_connections = False
        self._open_connections = False

    def add(self, jobs: Sequence[tuple[float, Job]]) -> Registration:
        registration = Registration(self, jobs)
        now = time.monotonic()
        with self._cond:
            self._registered.add(registration)
            for index, (interval, _job) in enumerate(registration.jobs):
                self._push(now + interval, registration, index)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._loop, name=THREAD_NAME, daemon=True)
                self._thread.start()
            elif self._wakes_at is None or self._due[0][0] < self._wakes_at:
                self._cond.notify()
        return registration

    def remove(self, registration: Registration) -> None:
        with self._cond:
            if registration not in self._registered:
                return
            self._registered.discard(registration)
            self._due = [entry for entry in self._due if entry[2] is not registration]
            heapq.heapify(self._due)
            if not self._registered and self._open_connections:
                self._cond.notify()  # none is left: the thread closes its connections

    def _push(self, due: float, registration: Registration, index: int) -> None:
        heapq.heappush(self._due, (due, next(self._order), registration, index))

    def _loop(self) -> None:
        try:
            while True:
                with self._cond:
                    entry = self._pop_due()
                    idle = not self._registered
                    if entry is not None:
                        self._used_connections = self._open_connections = True
                    elif self._used_connections or (idle and self._open_connections):
                        self._used_connections = False
                        self._open_connections = self._open_connections and not idle
                    else:
                        self._sleep()
                        continue
                if entry is None:
                    _tidy_connections(close_all=idle)
                else:
                    self._run(*entry)
        finally:
            _tidy_connections(close_all=True)

    def _sleep(self) -> None:
        """Wait (holding the condition) until the earliest due time or a notification."""
        timeout = self._seconds_to_next()
        self._wakes_at = None if timeout is None else time.monotonic() + timeout
        self._cond.wait(timeout)
        self._wakes_at = 0.0  # awake: registrations need not notify

    def _pop_due(self) -> tuple[float, Registration, int] | None:
        if not self._due or self._due[0][0] > time.monotonic():
            return None
        due, _order, registration, index = heapq.heappop(self._due)
        return due, registration, index

    def _seconds_to_next(self) -> float | None:
        return max(0.0, self._due[0][0] - time.monotonic()) if self._due else None

    def _run(self, due: float, registration: Registration, index: int) -> None:
        try:
            again = registration.run(index)
        except Exception:
            # A job reports its own failures; this only keeps the thread serving the others.
            logger.exception("A heartbeat job failed")
            again = True
        if not again:
            return
        interval = registration.jobs[index][0]
        with self._cond:
            if registration in self._registered:
                # Behind schedule (a slow job): run once now, not once per missed interval.
                self._push(max(due + interval, time.monotonic()), registration, index)


def _tidy_connections(*, close_all: bool) -> None:
    """Close this thread's unusable or expired connections, or all of them."""
    if not close_all:
        close_old_connections()
        return
    for conn in connections.all(initialized_only=True):
        conn.close()


_scheduler: _Scheduler | None = None
_scheduler_lock = threading.Lock()


def _reset_after_fork() -> None:
    global _scheduler_lock
    # The parent's lock may have been held by a thread the child does not have.
    _scheduler_lock = threading.Lock()


os.register_at_fork(after_in_child=_reset_after_fork)


def schedule(jobs: Sequence[tuple[float, Job]]) -> Registration:
    """Run each `(interval in seconds, job)` every interval from now, until `cancel()`."""
    global _scheduler
    with _scheduler_lock:
        if _scheduler is None or _scheduler.pid != os.getpid():
            _scheduler = _Scheduler()  # first use, or a forked child: its own thread and state
        scheduler = _scheduler
    return scheduler.add(jobs)
