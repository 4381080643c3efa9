"""How the drivers take an engine's due work (Cloud Tasks and Cloud Scheduler alike): what is due
is claimed under the engine's lock and delivered without it.

``earliest_due(now, newest_seq)`` names the next due piece of work (None when nothing is due),
leaving out work (re)scheduled after ``newest_seq`` unless that is None. ``claim(due, now)``
starts its attempt, or returns None when the work turned out to need no delivery.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from threading import RLock

from emulator.kit.clock import Clock


def deliver_due_in_turn[D, C](
    lock: RLock,
    clock: Clock,
    newest_seq: Callable[[], int],
    earliest_due: Callable[[datetime, int | None], D | None],
    claim: Callable[[D, datetime], C | None],
    deliver: Callable[[C], None],
    limit: int | None,
) -> int:
    """Deliver, one at a time, the work due at the current time; return how many attempts were
    delivered (at most ``limit``). Work (re)scheduled during the call is left for the next."""
    with lock:
        now = clock.now()
        newest = newest_seq()
    delivered = 0
    while limit is None or delivered < limit:
        with lock:
            due = earliest_due(now, newest)
            if due is None:
                break
            claimed = claim(due, now)
        if claimed is not None:
            deliver(claimed)
            delivered += 1
    return delivered


def claim_due_work[D, C](
    lock: RLock,
    clock: Clock,
    earliest_due: Callable[[datetime, int | None], D | None],
    claim: Callable[[D, datetime], C | None],
    limit: int,
) -> list[C]:
    """Start up to ``limit`` attempts due now, for the caller to deliver."""
    claimed: list[C] = []
    with lock:
        now = clock.now()
        while len(claimed) < limit:
            due = earliest_due(now, None)
            if due is None:
                break
            attempt = claim(due, now)
            if attempt is not None:
                claimed.append(attempt)
    return claimed
