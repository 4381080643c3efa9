"""The wall-clock driver of the emulator server: due work is delivered when it falls due.

One scheduler thread sleeps on a condition until the next due time, or until something may have
changed it (a task created, a queue resumed, an attempt ended, a fault rule changed). It then
claims the due attempts, within the queues' rate limits and concurrency (T8) and the free
delivery workers, and hands them to a pool of daemon worker threads, which deliver in parallel
without holding any engine lock.
"""

from __future__ import annotations

import logging
import queue
import threading
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from emulator.kit.clock import Clock

logger = logging.getLogger(__name__)

DEFAULT_MAX_PARALLEL = 64
MAX_SLEEP_SECONDS = 1.0
"""The scheduler re-checks at least this often, whatever it was told."""
IDLE_FLOOR_SECONDS = 0.005
"""Shortest sleep after a round that claimed nothing (guards against a busy loop)."""


class RealTimeEngine(Protocol):
    """What the driver needs from an engine (``CloudTasksEngine`` has it)."""

    def next_due_time(self) -> datetime | None: ...

    def claim_due(self, limit: int) -> Sequence[Any]: ...

    def deliver(self, claimed: Any) -> None: ...

    def subscribe(self, listener: Callable[[], None]) -> None: ...

    def set_delivery_executor(
        self, executor: Callable[[Callable[[], None]], None] | None
    ) -> None: ...


class RealTimeDriver:
    """Delivers the engines' due work on the wall clock, up to ``max_parallel`` at a time."""

    def __init__(
        self,
        clock: Clock,
        engines: Sequence[RealTimeEngine],
        *,
        max_parallel: int = DEFAULT_MAX_PARALLEL,
    ) -> None:
        if max_parallel < 1:
            raise ValueError(f"max_parallel must be at least 1, got {max_parallel}.")
        self._clock = clock
        self._engines = tuple(engines)
        self._max_parallel = max_parallel
        self._cond = threading.Condition()
        self._woken = False
        self._stopping = False
        self._outstanding = 0
        self._work: queue.SimpleQueue[Callable[[], None] | None] = queue.SimpleQueue()
        self._threads: list[threading.Thread] = []
        self._scheduler: threading.Thread | None = None
        for engine in self._engines:
            engine.subscribe(self.wake)

    @property
    def outstanding(self) -> int:
        """Deliveries handed to the workers and not finished yet."""
        with self._cond:
            return self._outstanding

    def start(self) -> None:
        """Start the workers and the scheduler; RunTask deliveries go to the workers too."""
        if self._scheduler is not None:
            raise RuntimeError("RealTimeDriver.start() was already called.")
        for index in range(self._max_parallel):
            worker = threading.Thread(
                target=self._work_loop, name=f"emulator-delivery-{index}", daemon=True
            )
            worker.start()
            self._threads.append(worker)
        for engine in self._engines:
            engine.set_delivery_executor(self.submit)
        self._scheduler = threading.Thread(
            target=self._schedule_loop, name="emulator-scheduler", daemon=True
        )
        self._scheduler.start()

    def wake(self) -> None:
        """Make the scheduler look for due work now."""
        with self._cond:
            self._woken = True
            self._cond.notify_all()

    def submit(self, delivery: Callable[[], None]) -> None:
        """Run ``delivery`` on a worker (used for RunTask, which bypasses the scheduler)."""
        with self._cond:
            self._outstanding += 1
        self._work.put(delivery)

    def stop(self, grace: float = 5.0) -> None:
        """Stop scheduling, wait up to ``grace`` seconds for deliveries in flight, then return.

        Deliveries still running after the grace are abandoned (their threads are daemons);
        with a persistent store their tasks are delivered again after a restart.
        """
        with self._cond:
            self._stopping = True
            self._cond.notify_all()
        for engine in self._engines:
            engine.set_delivery_executor(None)
        if self._scheduler is not None:
            self._scheduler.join(timeout=grace)
        deadline = time.monotonic() + grace
        with self._cond:
            while self._outstanding and time.monotonic() < deadline:
                self._cond.wait(timeout=max(0.0, deadline - time.monotonic()))
        for _ in self._threads:
            self._work.put(None)

    def _schedule_loop(self) -> None:
        while True:
            with self._cond:
                if self._stopping:
                    return
                self._woken = False
            claimed = 0
            try:
                claimed = self._claim_round()
                wait = self._seconds_until_due()
            except Exception:
                logger.exception("The emulator scheduler failed a round; retrying shortly.")
                wait = MAX_SLEEP_SECONDS
            if claimed == 0:
                wait = max(wait, IDLE_FLOOR_SECONDS)
            with self._cond:
                if self._stopping:
                    return
                if self._outstanding >= self._max_parallel:
                    wait = MAX_SLEEP_SECONDS  # all workers busy: a finishing one wakes us
                if not self._woken and wait > 0:
                    self._cond.wait(timeout=wait)

    def _claim_round(self) -> int:
        claimed = 0
        for engine in self._engines:
            with self._cond:
                free = self._max_parallel - self._outstanding
            if free <= 0:
                break
            for attempt in engine.claim_due(free):
                self.submit(lambda engine=engine, attempt=attempt: engine.deliver(attempt))
                claimed += 1
        return claimed

    def _seconds_until_due(self) -> float:
        times = [t for engine in self._engines if (t := engine.next_due_time()) is not None]
        if not times:
            return MAX_SLEEP_SECONDS
        seconds = (min(times) - self._clock.now()).total_seconds()
        return min(MAX_SLEEP_SECONDS, max(0.0, seconds))

    def _work_loop(self) -> None:
        while True:
            delivery = self._work.get()
            if delivery is None:
                return
            try:
                delivery()
            except Exception:
                logger.exception("A delivery failed outside the engine's own error handling.")
            finally:
                with self._cond:
                    self._outstanding -= 1
                    self._woken = True
                    self._cond.notify_all()
