"""``LocalCloud``: the emulated services over one clock, with a driver that moves time."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Protocol

from emulator.clock import Clock, VirtualClock
from emulator.cloud_tasks.engine import (
    DEFAULT_QUEUE_TOMBSTONE_TTL,
    DEFAULT_TASK_TOMBSTONE_TTL,
    CloudTasksEngine,
    IdTokenMinter,
)
from emulator.delivery import DeliveryRecord, Dispatcher


class _TimedEngine(Protocol):
    def next_due_time(self) -> datetime | None: ...

    def dispatch_due(self, limit: int | None = None) -> int: ...


class LocalCloud:
    """The emulated cloud: ``self.tasks`` is Cloud Tasks; ``advance``/``run_until_idle`` drive time.

    ``before_step`` is called before each search for due work (e.g. to flush pending enqueues).
    """

    def __init__(
        self,
        clock: Clock,
        dispatcher: Dispatcher,
        *,
        task_tombstone_ttl: timedelta = DEFAULT_TASK_TOMBSTONE_TTL,
        queue_tombstone_ttl: timedelta = DEFAULT_QUEUE_TOMBSTONE_TTL,
        before_step: Callable[[], None] | None = None,
        id_token_minter: IdTokenMinter | None = None,
    ) -> None:
        self.clock = clock
        self.tasks = CloudTasksEngine(
            clock,
            dispatcher,
            task_tombstone_ttl=task_tombstone_ttl,
            queue_tombstone_ttl=queue_tombstone_ttl,
            id_token_minter=id_token_minter,
        )
        self._engines: tuple[_TimedEngine, ...] = (self.tasks,)
        self._before_step = before_step

    def now(self) -> datetime:
        """The cloud's current time."""
        return self.clock.now()

    @property
    def deliveries(self) -> list[DeliveryRecord]:
        """Recent delivery attempts, oldest first."""
        return self.tasks.deliveries

    def advance(
        self,
        seconds: float = 0,
        *,
        minutes: float = 0,
        hours: float = 0,
        days: float = 0,
        max_deliveries: int = 100_000,
    ) -> int:
        """Move time forward, stopping at each due time in order to deliver what falls due.

        Returns the number of deliveries made. ``advance()`` with no argument delivers what is
        due now. Raises RuntimeError past ``max_deliveries`` (e.g. a zero-backoff retry loop).
        """
        clock = self._virtual_clock("advance")
        delta = timedelta(seconds=seconds, minutes=minutes, hours=hours, days=days)
        if delta < timedelta(0):
            raise ValueError(f"advance() cannot go backwards (got {delta}).")
        clock.catch_up()
        target = clock.now() + delta
        delivered = self._deliver_until(clock, target, max_deliveries, "advance")
        clock.move_to(target)
        return delivered

    def run_until_idle(
        self, *, horizon: timedelta = timedelta(days=31), max_deliveries: int = 100_000
    ) -> int:
        """Jump from due time to due time, delivering, until nothing is due within ``horizon``.

        Stops when no dispatchable task is left, or only tasks scheduled after now + ``horizon``
        (or in paused queues) remain; the clock is left at the last delivery. Returns the number
        of deliveries; raises RuntimeError past ``max_deliveries``.
        """
        clock = self._virtual_clock("run_until_idle")
        clock.catch_up()
        limit = clock.now() + horizon
        return self._deliver_until(clock, limit, max_deliveries, "run_until_idle")

    def _deliver_until(
        self, clock: VirtualClock, limit: datetime, max_deliveries: int, caller: str
    ) -> int:
        delivered = 0
        while True:
            due = self._next_due()
            if due is None or due > limit:
                return delivered
            if delivered >= max_deliveries:
                raise RuntimeError(
                    f"{caller}() stopped after max_deliveries={max_deliveries} deliveries with "
                    "work still due; a task may be retrying forever."
                )
            clock.move_to(due)
            for engine in self._engines:
                delivered += engine.dispatch_due(limit=max_deliveries - delivered)

    def _next_due(self) -> datetime | None:
        if self._before_step is not None:
            self._before_step()
        times = [t for engine in self._engines if (t := engine.next_due_time()) is not None]
        return min(times, default=None)

    def _virtual_clock(self, caller: str) -> VirtualClock:
        if not isinstance(self.clock, VirtualClock):
            raise TypeError(
                f"LocalCloud.{caller}() needs a VirtualClock, not {type(self.clock).__name__}."
            )
        return self.clock
