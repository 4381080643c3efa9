"""``LocalCloud``: the emulated services over one clock, store, fault list and OIDC issuer."""

from __future__ import annotations

import os
import warnings
from collections.abc import Callable, Collection, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from emulator.cloud_tasks.engine import (
    DEFAULT_QUEUE_TOMBSTONE_TTL,
    DEFAULT_TASK_TOMBSTONE_TTL,
    CloudTasksEngine,
    IdTokenMinter,
)
from emulator.kit.clock import Clock, VirtualClock
from emulator.kit.delivery import DeliveryRecord, Dispatcher
from emulator.kit.faults import Faults
from emulator.kit.oidc import DEFAULT_ISSUER, OidcIssuer
from emulator.kit.store import MemoryStore, Put, Record, Store
from emulator.run_jobs.engine import DEFAULT_KILL_GRACE_SECONDS, RunJobsEngine
from emulator.scheduler.engine import SchedulerEngine

OIDC_KEY_KIND = "meta"
OIDC_KEY_KEY = "oidc_signing_key"
FORMER_NAME = "LocalCloud.{} is now LocalCloud.{}; the former name will be removed."


class _TimedEngine(Protocol):
    def next_due_time(self) -> datetime | None: ...

    def dispatch_due(self, limit: int | None = None) -> int: ...

    def reload(self) -> None: ...


class LocalCloud:
    """The emulated cloud: ``self.cloud_tasks`` is Cloud Tasks, ``self.scheduler`` Cloud Scheduler;
    ``advance``/``run_until_idle`` drive time.

    ``before_step`` is called before each search for due work (e.g. to flush pending enqueues).
    ``faults`` is the fault list (``fault_seed`` seeds its dice); ``oidc`` the issuer whose
    tokens tasks with ``oidc_token`` carry (T23), unless ``id_token_minter`` replaces it.
    ``store`` keeps the state (in memory by default); a persistent store also keeps the OIDC
    signing key, so tokens verify against the same keys after a restart.

    ``self.run_jobs`` is Cloud Run Jobs: task attempts are real subprocesses supervised on the wall
    clock, whatever ``clock`` is. ``job_kill_grace`` (s, SIGTERM to SIGKILL),
    ``default_job_command``, ``default_job_workdir`` and ``default_job_parents`` configure it
    (see ``RunJobsEngine``); ``close()`` kills every process tree it still runs.
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
        oidc_issuer: str = DEFAULT_ISSUER,
        faults: Faults | None = None,
        fault_seed: int | None = None,
        store: Store | None = None,
        job_kill_grace: float = DEFAULT_KILL_GRACE_SECONDS,
        default_job_command: Sequence[str] | None = None,
        default_job_workdir: str | os.PathLike[str] | None = None,
        default_job_parents: Collection[str] | None = None,
    ) -> None:
        self.clock = clock
        self.store: Store = store if store is not None else MemoryStore()
        self.faults = faults if faults is not None else Faults(seed=fault_seed)
        self.oidc = OidcIssuer(oidc_issuer, key_pem=self._stored_key())
        if self.store.persistent:
            self._save_key()
        self.cloud_tasks = CloudTasksEngine(
            clock,
            dispatcher,
            task_tombstone_ttl=task_tombstone_ttl,
            queue_tombstone_ttl=queue_tombstone_ttl,
            id_token_minter=id_token_minter or self.oidc.mint,
            faults=self.faults,
            store=self.store,
        )
        self.scheduler = SchedulerEngine(
            clock,
            dispatcher,
            id_token_minter=id_token_minter or self.oidc.mint,
            faults=self.faults,
            store=self.store,
        )
        self._engines: tuple[_TimedEngine, ...] = (self.cloud_tasks, self.scheduler)
        self._before_step = before_step
        self.run_jobs = RunJobsEngine(
            clock,
            store=self.store,
            faults=self.faults,
            kill_grace=job_kill_grace,
            default_job_command=default_job_command,
            default_job_workdir=default_job_workdir,
            default_job_parents=default_job_parents,
        )

    @property
    def tasks(self) -> CloudTasksEngine:
        """Former name of ``cloud_tasks`` (deprecated)."""
        warnings.warn(FORMER_NAME.format("tasks", "cloud_tasks"), DeprecationWarning, stacklevel=2)
        return self.cloud_tasks

    @property
    def run(self) -> RunJobsEngine:
        """Former name of ``run_jobs`` (deprecated)."""
        warnings.warn(FORMER_NAME.format("run", "run_jobs"), DeprecationWarning, stacklevel=2)
        return self.run_jobs

    def now(self) -> datetime:
        """The cloud's current time."""
        return self.clock.now()

    @property
    def deliveries(self) -> list[DeliveryRecord]:
        """Recent delivery attempts, oldest first."""
        return self.cloud_tasks.deliveries

    # -------------------------------------------------------------------------- state

    def reset(self) -> None:
        """Forget everything: queues, tasks, tombstones, delivery history and fault rules.

        The OIDC signing key is kept, so verifiers that cached the keys keep working.
        """
        with self.run_jobs.replacing_state():  # running executions are killed and forgotten
            self.store.reset()
        if self.store.persistent:
            self._save_key()
        self.faults.clear()
        for engine in self._engines:
            engine.reload()

    def export_state(self) -> dict[str, Any]:
        """Everything the store holds, as a JSON-able dict for ``import_state``."""
        return self.store.export()

    def import_state(self, data: dict[str, Any]) -> None:
        """Replace the state with an ``export_state()`` dict (ValueError if malformed).

        The running OIDC key is kept (an imported key takes effect at the next start).
        """
        with self.run_jobs.replacing_state():
            self.store.import_state(data)
        if self.store.persistent and self._stored_key() is None:
            self._save_key()
        for engine in self._engines:
            engine.reload()

    def close(self) -> None:
        """Stop the Run Jobs executions (killing their process trees), then release the store."""
        self.run_jobs.close()
        self.store.close()

    # --------------------------------------------------------------------------- time

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
        (or in paused queues) remain; the clock is left at the last delivery. Rate limits (T8)
        are honoured: a queue out of tokens is resumed when its next token is due. Returns the
        number of deliveries; raises RuntimeError past ``max_deliveries``.

        Cloud Scheduler schedules recur forever, so their slots alone never keep it going:
        it waits for the retries and late fires of runs already started, and the slots that
        fall due while it moves time for that work fire as usual.
        """
        clock = self._virtual_clock("run_until_idle")
        clock.catch_up()
        limit = clock.now() + horizon
        return self._deliver_until(clock, limit, max_deliveries, "run_until_idle", until_idle=True)

    def _deliver_until(
        self,
        clock: VirtualClock,
        limit: datetime,
        max_deliveries: int,
        caller: str,
        *,
        until_idle: bool = False,
    ) -> int:
        delivered = 0
        while True:
            due = self._next_due()
            if due is None or due > limit:
                return delivered
            if until_idle and due > clock.now():
                work = self._next_finite_work()
                if work is None or work > limit:
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

    def _next_finite_work(self) -> datetime | None:
        """The next due time of work that ends: everything but the slots of schedules."""
        times = [self.scheduler.next_run_due_time()] + [
            engine.next_due_time() for engine in self._engines if engine is not self.scheduler
        ]
        return min((t for t in times if t is not None), default=None)

    def _virtual_clock(self, caller: str) -> VirtualClock:
        if not isinstance(self.clock, VirtualClock):
            raise TypeError(
                f"LocalCloud.{caller}() needs a VirtualClock, not {type(self.clock).__name__}."
            )
        return self.clock

    # ---------------------------------------------------------------------------- oidc

    def _stored_key(self) -> bytes | None:
        record = self.store.records(OIDC_KEY_KIND).get(OIDC_KEY_KEY)
        return record.value["pem"].encode() if record is not None else None

    def _save_key(self) -> None:
        pem = self.oidc.key_pem.decode()
        self.store.write(Put(Record(OIDC_KEY_KIND, OIDC_KEY_KEY, {"pem": pem})))
