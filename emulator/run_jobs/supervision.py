"""The supervisors of an engine's running executions, by execution name (R9).

RunJob starts one; CancelExecution, DeleteExecution and DeleteJob cancel it; it leaves the list
when its execution has finished. Closing or reloading the engine stops them all and waits until
their process trees are gone.
"""

from __future__ import annotations

import logging
import time
from dataclasses import replace

from emulator.kit.faults import ATTEMPT, RUN_JOBS, Effect, Faults
from emulator.run_jobs.model import ExecutionState, TaskState
from emulator.run_jobs.supervisor import ExecutionSupervisor, Supervision

logger = logging.getLogger(__name__)


class Supervisors:
    """The running executions' supervisors; ``shared.on_change`` hears every change they make.

    Every method but ``stop`` is called under ``shared.lock``, the engine's lock.
    """

    def __init__(self, shared: Supervision, faults: Faults) -> None:
        self._on_change = shared.on_change
        self._shared = replace(shared, on_change=self._changed)
        self._faults = faults
        self._by_name: dict[str, ExecutionSupervisor] = {}

    @property
    def kill_grace(self) -> float:
        """Seconds between SIGTERM and SIGKILL when an attempt is stopped (R9)."""
        return self._shared.kill_grace

    def start(self, execution: ExecutionState) -> None:
        """Start running ``execution``'s tasks; each attempt may meet an attempt fault rule."""
        job_name = execution.name.job.full

        def pick_fault() -> Effect | None:
            return self._faults.pick(RUN_JOBS, ATTEMPT, job=job_name)

        supervisor = ExecutionSupervisor(execution, self._shared, pick_fault)
        self._by_name[execution.name.full] = supervisor
        supervisor.start()

    def cancel(self, execution: str) -> None:
        """Cancel the supervisor of ``execution`` (a full name), if it still runs.

        It stays listed until its processes are gone, so ``stop`` waits for it.
        """
        supervisor = self._by_name.get(execution)
        if supervisor is not None:
            supervisor.cancel()

    def running(self) -> list[ExecutionSupervisor]:
        """The supervisors still listed."""
        return list(self._by_name.values())

    def forget_all(self) -> None:
        """Drop the list (the engine reloads: what ran was stopped, or an earlier engine's)."""
        self._by_name = {}

    def stop(self, supervisors: list[ExecutionSupervisor], grace: float | None) -> None:
        """Stop ``supervisors`` (outside the lock): SIGTERM, then SIGKILL after ``grace``
        seconds (default and upper bound: the kill grace); wait until they are gone."""
        grace = self.kill_grace if grace is None else min(grace, self.kill_grace)
        for supervisor in supervisors:
            supervisor.shutdown(grace)
        deadline = time.monotonic() + grace + 5.0
        for supervisor in supervisors:
            if not supervisor.join(max(0.0, deadline - time.monotonic())):
                logger.error(
                    "Execution %s did not stop in time; killing its processes.",
                    supervisor.execution.name.full,
                )
                supervisor.kill_now()

    def _changed(self, execution: ExecutionState, task: TaskState | None) -> None:
        if execution.terminal:
            self._by_name.pop(execution.name.full, None)
        self._on_change(execution, task)
