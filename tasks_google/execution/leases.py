"""Leases on executions: one attempt at a time runs a task, and a dead attempt is noticed.

A lease is taken with one conditional UPDATE (correct on SQLite and PostgreSQL alike, no row lock
held while the task runs), renewed by the process's one heartbeat thread (`heartbeats`), and
released when the outcome is written.
An attempt that dies keeps its lease only until `lease_expires_at`; the next delivery then takes it.
"""

import atexit
import logging
import os
import socket
import threading
import uuid
from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from types import TracebackType
from typing import Any

from tasks_google import clock
from tasks_google.config.sqlite import retry_if_locked
from tasks_google.execution import heartbeats
from tasks_google.models import TaskExecution

logger = logging.getLogger(__name__)

# Leases held by attempts running in this process: {owner token: execution id}.
_held: dict[str, str] = {}
_held_lock = threading.Condition()
# Lease takes under way (their UPDATE not yet answered), and whether the process is exiting: at
# exit no lease is taken any more, and those under way are waited for, so none is left held.
_taking = 0
_exiting = False
#: How long a clean exit waits for lease takes under way before expiring the leases held.
EXIT_WAIT_SECONDS = 5.0


def worker_id() -> str:
    """This process's worker id, as recorded in `TaskExecution.worker_ids`."""
    return f"{socket.gethostname()}:{os.getpid()}"


def new_lease_owner() -> str:
    """A token unique to one attempt (a process may run several attempts at once)."""
    return f"{worker_id()}:{uuid.uuid4().hex[:12]}"


def worker_of(owner: str) -> str:
    """The worker id in a lease owner token made by `new_lease_owner`."""
    return owner.rpartition(":")[0] or owner


def acquire(
    execution_id: str,
    owner: str,
    timeout: timedelta,
    *,
    previous_owner: str | None = None,
    now: datetime | None = None,
    read_count: int | None = None,
    start: Mapping[str, Any] | None = None,
) -> bool:
    """Take the lease if the execution is unfinished and nobody holds a live lease on it.

    With `previous_owner`, only if the lease is still the one the caller saw ("" for none):
    then the caller knows for sure whether it took over an expired lease or a free one. With
    `read_count` and `start`, the same UPDATE writes the attempt's start (`start`: field values
    computed from the row read with that attempt count), only while the row still has that count
    and no cancellation was requested.
    """
    global _taking
    now = now or clock.now()
    take = _taking_statement(execution_id, owner, timeout, now, previous_owner, read_count, start)
    with _held_lock:
        if _exiting:
            return False  # a delivery racing this process's exit: another process will run it
        _taking += 1
    taken = False
    try:
        taken = retry_if_locked(take)
    finally:
        with _held_lock:
            _taking -= 1
            if taken:
                _held[owner] = execution_id
            _held_lock.notify_all()
    return taken


def _taking_statement(
    execution_id: str,
    owner: str,
    timeout: timedelta,
    now: datetime,
    previous_owner: str | None,
    read_count: int | None,
    start: Mapping[str, Any] | None,
) -> Callable[[], bool]:
    """The UPDATE that takes the lease, as `acquire` describes it: the prepared statement of a
    delivery that read the row (every attempt's), else one the ORM builds."""
    if previous_owner is not None and read_count is not None and start is not None:
        read = (previous_owner, read_count)
        return lambda: TaskExecution.take_lease_and_start(
            execution_id, read, owner, now, timeout, start
        )
    rows = TaskExecution.objects.filter(pk=execution_id)
    if previous_owner is not None:
        rows = rows.held_by(previous_owner)
    if read_count is not None:
        rows = rows.filter(attempt_count=read_count, cancel_requested_at__isnull=True)
    return lambda: rows.take_lease(owner, now, timeout, start) == 1


def forget(owner: str) -> None:
    """The attempt holding `owner` is over (its outcome written or abandoned)."""
    with _held_lock:
        _held.pop(owner, None)


@atexit.register
def expire_held_leases() -> None:
    """On a clean interpreter exit (Ctrl-C, a server restarting), expire this process's leases.

    Their attempts will never write an outcome, so the next delivery may take over at once
    instead of waiting for `heartbeat_timeout_seconds`. A killed process cannot do this; its
    leases simply expire.
    """
    global _exiting
    with _held_lock:
        _exiting = True
        # A request thread may be taking a lease right now (a delivery arriving as the server
        # stops): let it finish, so that its lease is expired below rather than left held.
        _held_lock.wait_for(lambda: _taking == 0, timeout=EXIT_WAIT_SECONDS)
        held = dict(_held)
        _held.clear()
    if not held:
        return
    expired_at = clock.now() - timedelta(microseconds=1)
    for owner, execution_id in held.items():
        try:
            TaskExecution.objects.filter(pk=execution_id).expire_lease(owner, expired_at)
        except Exception:
            logger.exception("Could not expire the lease of execution %s at exit", execution_id)


def renew(execution_id: str, owner: str, timeout: timedelta) -> bool:
    """Extend a held lease; False if it was lost (taken over after it expired)."""
    now = clock.now()
    rows = TaskExecution.objects.filter(pk=execution_id)
    renewed = retry_if_locked(lambda: rows.renew_lease(owner, now, timeout))
    return renewed == 1


class Heartbeat:
    """Renews a lease every `interval` while an attempt runs, and polls for its cancellation.

    The work is done by the process's one heartbeat thread (`heartbeats`), shared by every
    attempt running in it.
    """

    def __init__(
        self,
        execution_id: str,
        owner: str,
        interval: timedelta,
        timeout: timedelta,
        renew_lease: Callable[[str, str, timedelta], bool] = renew,
        *,
        cancel_flag: threading.Event | None = None,
        cancel_poll: timedelta | None = None,
    ) -> None:
        self.execution_id = execution_id
        self.owner = owner
        self.interval = interval
        self.timeout = timeout
        self.lost = False
        self.cancel_flag = cancel_flag
        self.cancel_poll = cancel_poll if cancel_flag is not None else None
        self._renew = renew_lease
        self._registration: heartbeats.Registration | None = None

    def start(self) -> None:
        """Start renewing (and polling) on the process's heartbeat thread."""
        jobs: list[tuple[float, heartbeats.Job]] = [(self.interval.total_seconds(), self._beat)]
        if self.cancel_poll:
            jobs.append((self.cancel_poll.total_seconds(), self._poll_cancellation))
        self._registration = heartbeats.schedule(jobs)

    def stop(self) -> None:
        """Stop renewing (idempotent); once it returns, no renewal or poll runs any more."""
        if self._registration is not None:
            self._registration.cancel()

    def __enter__(self) -> "Heartbeat":
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.stop()

    def _beat(self) -> bool:
        """Renew the lease; False once it is lost (nothing more to do then)."""
        try:
            if not self._renew(self.execution_id, self.owner, self.timeout):
                self.lost = True
                logger.warning("Execution %s: lease %s was lost", self.execution_id, self.owner)
                return False
        except Exception:
            # A missed beat is not fatal: the lease outlives several intervals.
            logger.exception("Execution %s: heartbeat failed", self.execution_id)
        return True

    def _poll_cancellation(self) -> bool:
        """Set the cancel flag once cancelling was requested; False when polling is over."""
        if self.lost or self.cancel_flag.is_set():
            return False
        try:
            requested = (
                TaskExecution.objects.filter(pk=self.execution_id).cancel_requested().exists()
            )
        except Exception:
            logger.exception("Execution %s: checking for cancellation failed", self.execution_id)
            return True
        if requested:
            self.cancel_flag.set()
        return not requested


def seconds_left(expires_at: datetime | None) -> float:
    """Seconds until a lease expires (0 if it has)."""
    if expires_at is None:
        return 0.0
    return max(0.0, (expires_at - clock.now()).total_seconds())
