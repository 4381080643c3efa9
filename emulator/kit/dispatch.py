"""The delivery frame Cloud Tasks and Cloud Scheduler share: due work is claimed under the
engine's lock, sent without it (under a dispatch fault), then settled under the lock again.

An engine holds a ``Dispatch`` and supplies only its own parts (``EngineParts``):

- ``load()``: rebuild the engine's state from the store (called under the lock);
- ``earliest_due(now, newest_seq)``: the next piece of work due at ``now`` (None when nothing
  is), leaving out work numbered (``next_seq``) after ``newest_seq`` unless that is None;
- ``claim(due, now)``: start that work's attempt, or None when it needs no delivery;
- ``settle(claimed, outcome)``: apply how an attempt ended;
- ``record(claimed, status, fault, duplicate)``: the history entry of an attempt.

The ``Dispatch`` does the rest, for both drivers: ``LocalCloud`` in virtual time
(``dispatch_due``, one delivery at a time) and the server's real-time driver (``claim_due``, then
``deliver`` on its worker threads, in parallel).
"""

from __future__ import annotations

import itertools
import logging
import threading
from collections import deque
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from emulator.kit.clock import Clock, VirtualClock
from emulator.kit.delivery import (
    AttemptSender,
    Delivery,
    DeliveryExecutor,
    Dispatcher,
    IdTokenMinter,
    deliver_now_or_later,
    response_outcome,
)
from emulator.kit.faults import DISPATCH, Effect, Faults, effect_to_json
from emulator.kit.store import Change, MemoryStore, Store

HISTORY_LIMIT = 10_000
"""How many attempt records an engine keeps (oldest dropped first)."""


@dataclass(frozen=True)
class ClaimedAttempt[W]:
    """An attempt started under the engine's lock, to be delivered (without it) by ``deliver``.

    ``work`` is the engine's own: what the attempt is of. ``queue`` and ``job`` are what dispatch
    fault rules match. ``fault`` is a dispatch fault picked already (Cloud Scheduler's Duplicate
    fire fault); without one, a dispatch fault is picked when the attempt is sent.
    """

    work: W
    delivery: Delivery
    oidc: tuple[str, str] | None  # (service account, audience) to mint a token for
    retry_count: int  # attempts before this one
    dispatch_time: datetime
    queue: str | None = None
    job: str | None = None
    fault: Effect | None = None


@dataclass(frozen=True)
class Outcome:
    """How a sent attempt ended, for the engine to settle."""

    status: int | None  # HTTP status; None = no response, or one after the deadline (T11, S7)
    response_time: datetime
    headers: Mapping[str, str]  # the response's (Retry-After, T10)


@dataclass(frozen=True)
class EngineParts[D, W, R]:
    """What an engine supplies to its ``Dispatch`` (see the module's docstring)."""

    load: Callable[[], None]
    earliest_due: Callable[[datetime, int | None], D | None]
    claim: Callable[[D, datetime], ClaimedAttempt[W] | None]
    settle: Callable[[ClaimedAttempt[W], Outcome], None]
    record: Callable[[ClaimedAttempt[W], int | None, str | None, bool], R]


class Dispatch[D, W, R]:
    """One engine's delivery frame: the drivers' entry points, its history of attempts (``R``
    records), the listeners told when work may have become due, and the delivery executor.

    ``lock`` is the engine's lock; it is never held while an attempt is sent, so a handler may
    call back into the engine.
    """

    def __init__(
        self,
        service: str,
        lock: threading.RLock,
        clock: Clock,
        store: Store,
        faults: Faults,
        parts: EngineParts[D, W, R],
        dispatcher: Dispatcher,
        id_token_minter: IdTokenMinter | None,
        log: logging.Logger,
    ) -> None:
        self._service = service
        self._lock = lock
        self._clock = clock
        self._store = store
        self._faults = faults
        self._sender = AttemptSender(
            dispatcher, id_token_minter, real_time=not isinstance(clock, VirtualClock), log=log
        )
        self._parts = parts
        self._seq = itertools.count(1)
        self._newest_seq = 0
        self._history: deque[R] = deque(maxlen=HISTORY_LIMIT)
        self._listeners: list[Callable[[], None]] = []
        self._executor: DeliveryExecutor | None = None

    # ----------------------------------------------------------------- listeners, state

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (no arguments, must not block) whenever work may have become due."""
        self._listeners.append(listener)

    def notify(self) -> None:
        """Tell the listeners that work may have become due (call without the lock)."""
        for listener in list(self._listeners):
            listener()

    def set_executor(self, executor: DeliveryExecutor | None) -> None:
        """Make ``deliver_soon`` hand deliveries to ``executor`` (None: deliver at once)."""
        self._executor = executor

    def reload(self, *changes: Change) -> None:
        """Write ``changes`` to the store, forget the history, rebuild the engine's state from
        the store (all under the lock), then tell the listeners."""
        with self._lock:
            if changes:
                self._store.write(*changes)
            self._history.clear()
            self._parts.load()
        self.notify()

    def history(self) -> list[R]:
        """The recent records, oldest first (the last ``HISTORY_LIMIT``)."""
        with self._lock:
            return list(self._history)

    def add_record(self, entry: R) -> None:
        """Add an entry the engine made itself to the history (under the lock)."""
        self._history.append(entry)

    def next_seq(self) -> int:
        """Number a piece of work (re)scheduled now (under the lock): ``dispatch_due`` leaves
        work numbered after it started for its next call."""
        self._newest_seq = next(self._seq)
        return self._newest_seq

    # ------------------------------------------------------------------------- delivery

    def dispatch_due(self, limit: int | None = None) -> int:
        """Deliver, one at a time, the work due at the current time; return how many attempts
        were delivered (at most ``limit``). Work (re)scheduled during the call is left for the
        next."""
        with self._lock:
            now, newest = self._clock.now(), self._newest_seq
        delivered = 0
        while limit is None or delivered < limit:
            with self._lock:
                claimed = self._claim_due(1, now, newest)
            if not claimed:
                break
            self.deliver(claimed[0])
            delivered += 1
        return delivered

    def claim_due(self, limit: int) -> list[ClaimedAttempt[W]]:
        """Start up to ``limit`` attempts due now, for the caller to ``deliver``."""
        with self._lock:
            return self._claim_due(limit, self._clock.now(), None)

    def _claim_due(self, limit: int, now: datetime, newest: int | None) -> list[ClaimedAttempt[W]]:
        """Claim due work (under the lock) until ``limit`` attempts started or nothing is due."""
        claimed: list[ClaimedAttempt[W]] = []
        while len(claimed) < limit:
            due = self._parts.earliest_due(now, newest)
            if due is None:
                break
            attempt = self._parts.claim(due, now)
            if attempt is not None:
                claimed.append(attempt)
        return claimed

    def deliver_soon(self, claimed: ClaimedAttempt[W]) -> None:
        """``deliver`` on the executor, in the background; without one, now."""
        deliver_now_or_later(self._executor, lambda: self.deliver(claimed))

    def deliver(self, claimed: ClaimedAttempt[W]) -> None:
        """Send a claimed attempt without the lock (under a dispatch fault), then record and
        settle it under the lock; a Duplicate fault's second copy is recorded too."""
        effect = claimed.fault
        if effect is None:
            effect = self._faults.pick(self._service, DISPATCH, claimed.queue, job=claimed.job)
        result, duplicate = self._sender.send(claimed.delivery, claimed.oidc, effect)
        fault = effect_to_json(effect)["type"] if effect is not None else None
        # a response after the deadline came too late: a timeout (T11, S7)
        status, response_time = response_outcome(
            result, claimed.dispatch_time, claimed.delivery.deadline
        )
        with self._lock:
            self._history.append(self._parts.record(claimed, status, fault, False))
            self._parts.settle(claimed, Outcome(status, response_time, result.headers))
            if duplicate is not None:
                self._history.append(self._parts.record(claimed, duplicate.status, fault, True))
        self.notify()


class TimedEngine[D, W, R]:
    """The shared half of a timed engine (Cloud Tasks, Cloud Scheduler): its clock, store, fault
    list and lock, and its ``Dispatch``, to which the drivers' calls are handed.

    The engine sets up its own state, then calls ``__init__`` with its parts; the state is loaded
    from the store at the end.
    """

    def __init__(
        self,
        service: str,
        clock: Clock,
        *,
        parts: EngineParts[D, W, R],
        dispatcher: Dispatcher,
        id_token_minter: IdTokenMinter | None,
        faults: Faults | None,
        store: Store | None,
        log: logging.Logger,
    ) -> None:
        self._clock = clock
        self._faults = faults if faults is not None else Faults()
        self._store: Store = store if store is not None else MemoryStore()
        self._lock = threading.RLock()
        self._dispatch = Dispatch(
            service,
            self._lock,
            clock,
            self._store,
            self._faults,
            parts,
            dispatcher,
            id_token_minter,
            log,
        )
        self._dispatch.reload()

    def subscribe(self, listener: Callable[[], None]) -> None:
        """Call ``listener`` (no arguments, must not block) whenever work may have become due."""
        self._dispatch.subscribe(listener)

    def set_delivery_executor(self, executor: DeliveryExecutor | None) -> None:
        """Make RunTask / RunJob hand its delivery to ``executor`` and return at once, as Google
        does. Without one (the default, for virtual time) the call delivers before it returns."""
        self._dispatch.set_executor(executor)

    def reload(self) -> None:
        """Rebuild the state from the store (after it was reset or imported); the history of
        attempts is forgotten."""
        self._dispatch.reload()

    def dispatch_due(self, limit: int | None = None) -> int:
        """Deliver, in due order and one at a time, the work due at the current time; return how
        many attempts were delivered (at most ``limit``). Work that becomes due during the call
        (created by a handler, or retried with no backoff) is left for the next call."""
        return self._dispatch.dispatch_due(limit)

    def claim_due(self, limit: int) -> list[ClaimedAttempt[W]]:
        """Start up to ``limit`` attempts due now; the caller delivers each with ``deliver`` (on
        any thread, in parallel)."""
        return self._dispatch.claim_due(limit)

    def deliver(self, claimed: ClaimedAttempt[W]) -> None:
        """Send a claimed attempt (under a dispatch fault) without the lock, then settle it."""
        self._dispatch.deliver(claimed)
