"""The supervisor of one execution: a wall-clock thread that runs its tasks as real processes.

It keeps up to ``parallelism`` tasks running (R2), starts each attempt with the container's
command, args, working directory and env plus the ``CLOUD_RUN_*`` variables (R6), retries a
failed task up to ``max_retries`` times (R3), stops an attempt that outlives the task timeout
(R4), and records exit codes and signals (R5). Stopping an attempt (timeout, CancelExecution,
the emulator closing) sends SIGTERM to its whole process tree and SIGKILL after the kill grace
(R9). Whatever the cloud's clock, supervision runs on the wall clock (``time.monotonic``);
timestamps in the records come from the cloud's clock.

All state changes happen under the engine's lock and are reported through ``on_change``;
processes are started, polled and signalled outside it.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from emulator.kit.clock import Clock
from emulator.kit.faults import DelayStart, Effect, KillAttempt
from emulator.run_jobs.model import (
    CANCELLED_MESSAGE,
    CANCELLING_MESSAGE,
    INTERRUPTED_MESSAGE,
    SUCCEEDED_MESSAGE,
    AttemptRecord,
    ExecutionState,
    ExecutionStatus,
    Outcome,
    TaskState,
    TaskStatus,
    seconds_text,
)
from emulator.run_jobs.processes import AttemptProcess

logger = logging.getLogger(__name__)

POLL_SECONDS = 0.02
"""How often a supervisor checks its processes (exits, timeouts, grace periods)."""

ChangeListener = Callable[[ExecutionState, TaskState | None], None]
"""Called under the engine lock after the execution (and ``task``, if given) changed."""
FaultPicker = Callable[[], Effect | None]
"""Picks the fault (if any) for an attempt about to start."""


@dataclass(frozen=True)
class Supervision:
    """What an engine's supervisors share: its lock, the cloud's clock, the kill grace (s,
    SIGTERM to SIGKILL, R9) and the listener of their changes."""

    lock: threading.RLock
    clock: Clock
    kill_grace: float
    on_change: ChangeListener


@dataclass(eq=False)
class _Slot:
    """A task holding one of the execution's parallel slots: waiting to start, or running."""

    task: TaskState
    start_at: float  # monotonic; later than now under a DelayStart fault
    kill: KillAttempt | None = None
    process: AttemptProcess | None = None
    record: AttemptRecord | None = None
    started_at: float = 0.0
    stop_reason: Outcome | None = None  # TIMEOUT, CANCELLED or INTERRUPTED once we stop it
    term_sent_at: float | None = None
    sigkill_sent: bool = False
    kill_fired: bool = False


class ExecutionSupervisor:
    """Runs one execution's tasks to the end on its own daemon thread."""

    def __init__(
        self, execution: ExecutionState, shared: Supervision, pick_fault: FaultPicker
    ) -> None:
        self.execution = execution
        self._shared = shared
        self._grace = shared.kill_grace  # a shutdown may shorten it
        self._pick_fault = pick_fault
        self._pending: deque[TaskState] = deque(
            t for t in execution.tasks if t.status == TaskStatus.PENDING
        )
        self._slots: list[_Slot] = []
        self._stop: Outcome | None = None  # CANCELLED or INTERRUPTED once asked to stop
        self._wake = threading.Event()
        self._thread = threading.Thread(
            target=self._run, name=f"run-execution-{execution.name.execution_id}", daemon=True
        )

    # ---------------------------------------------------------------- requests (any thread)

    def start(self) -> None:
        """Start the supervisor thread."""
        self._thread.start()

    def cancel(self) -> bool:
        """CancelExecution: stop pending and running tasks (R9). False if already stopping."""
        with self._shared.lock:
            if self._stop is not None or self.execution.terminal:
                return False
            self._stop = Outcome.CANCELLED
            execution = self.execution
            execution.status = ExecutionStatus.CANCELLING
            execution.message = CANCELLING_MESSAGE
            execution.reason = "CANCELLING"
            execution.update_time = self._shared.clock.now()
            self._shared.on_change(execution, None)
        self._wake.set()
        return True

    def shutdown(self, grace: float | None = None) -> None:
        """The emulator is stopping: stop every attempt, with ``grace`` (default: the kill
        grace) before SIGKILL; tasks not finished by then are recorded as interrupted."""
        with self._shared.lock:
            if grace is not None:
                self._grace = min(self._grace, grace)
            if self._stop is None:
                self._stop = Outcome.INTERRUPTED
        self._wake.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the thread to end; True if it did."""
        if self._thread.ident is not None:
            self._thread.join(timeout)
        return not self._thread.is_alive()

    def kill_now(self) -> None:
        """Last resort when the thread does not end: SIGKILL every process tree at once."""
        for slot in list(self._slots):
            if slot.process is not None:
                slot.process.kill_tree()

    # ------------------------------------------------------------------------ the thread

    def _run(self) -> None:
        try:
            self._loop()
        except Exception:
            logger.exception(
                "The supervisor of execution %s failed; killing its processes.",
                self.execution.name.full,
            )
            self.kill_now()
            with self._shared.lock:
                self._finish_all_unfinished(Outcome.INTERRUPTED, "The emulator failed.")
                self._finalize()

    def _loop(self) -> None:
        while True:
            self._wake.clear()
            now = time.monotonic()
            with self._shared.lock:
                stop = self._stop
                if stop is not None and self._pending:
                    self._end_pending(stop)
                self._fill_slots(stop, now)
            for slot in list(self._slots):
                self._step(slot, stop, time.monotonic())
            if not self._slots and not self._pending:
                with self._shared.lock:
                    self._finalize()
                return
            self._wake.wait(POLL_SECONDS)

    def _fill_slots(self, stop: Outcome | None, now: float) -> None:
        while stop is None and self._pending and len(self._slots) < self.execution.plan.parallelism:
            task = self._pending.popleft()
            effect = self._pick_fault()
            delay = effect.seconds if isinstance(effect, DelayStart) else 0.0
            kill = effect if isinstance(effect, KillAttempt) else None
            self._slots.append(_Slot(task, start_at=now + delay, kill=kill))

    def _step(self, slot: _Slot, stop: Outcome | None, now: float) -> None:
        process = slot.process
        if process is None:
            if stop is not None:
                with self._shared.lock:
                    self._slots.remove(slot)
                    self._end_task(slot.task, stop)
            elif now >= slot.start_at:
                self._start(slot)
            return
        code = process.poll()
        if code is not None:
            process.clean_up_after_exit()
            stderr = process.stderr_tail()
            with self._shared.lock:
                self._slots.remove(slot)
                self._settle(slot, code, stderr)
            return
        process.refresh_descendants()
        if slot.stop_reason is None:
            if stop is not None:
                self._terminate(slot, stop, now)
            elif now - slot.started_at >= self.execution.plan.timeout.total_seconds():
                self._terminate(slot, Outcome.TIMEOUT, now)
            elif (
                slot.kill is not None
                and not slot.kill_fired
                and now - slot.started_at >= slot.kill.after_seconds
            ):
                slot.kill_fired = True
                logger.info(
                    "Fault: sending %s to attempt %d of task %s.",
                    signal.Signals(slot.kill.signal).name,
                    slot.record.attempt if slot.record else 0,
                    slot.task.task_id,
                )
                process.signal_tree(slot.kill.signal)
                if slot.kill.signal != signal.SIGKILL and slot.term_sent_at is None:
                    slot.term_sent_at = now
        if (
            slot.term_sent_at is not None
            and not slot.sigkill_sent
            and now - slot.term_sent_at >= self._grace
        ):
            slot.sigkill_sent = True
            logger.info(
                "Task %s did not exit within the %gs grace period; sending SIGKILL.",
                slot.task.task_id,
                self._grace,
            )
            process.signal_tree(signal.SIGKILL)

    def _terminate(self, slot: _Slot, reason: Outcome, now: float) -> None:
        """SIGTERM the attempt's tree; SIGKILL follows after the grace (R9)."""
        slot.stop_reason = reason
        assert slot.process is not None
        slot.process.signal_tree(signal.SIGTERM)
        if slot.term_sent_at is None:
            slot.term_sent_at = now

    def _start(self, slot: _Slot) -> None:
        task = slot.task
        execution = self.execution
        plan = execution.plan
        container = plan.container
        attempt = len(task.attempts)
        env = dict(os.environ)
        env.update({var.name: var.value for var in container.env})
        env.update(
            {
                "CLOUD_RUN_JOB": execution.name.job.job_id,
                "CLOUD_RUN_EXECUTION": execution.name.execution_id,
                "CLOUD_RUN_TASK_INDEX": str(task.index),
                "CLOUD_RUN_TASK_ATTEMPT": str(attempt),
                "CLOUD_RUN_TASK_COUNT": str(plan.task_count),
            }
        )
        argv = [*container.command, *container.args]
        try:
            process = AttemptProcess.start(argv, env, container.working_dir or None)
        except OSError as error:
            with self._shared.lock:
                now = self._shared.clock.now()
                slot.record = AttemptRecord(attempt, start_time=now)
                task.attempts.append(slot.record)
                self._slots.remove(slot)
                self._record_end(
                    slot.record, Outcome.START_FAILED, f"The container could not start: {error}"
                )
                self._after_failure(task)
            return
        slot.process = process
        slot.started_at = time.monotonic()
        with self._shared.lock:
            now = self._shared.clock.now()
            slot.record = AttemptRecord(
                attempt, start_time=now, pid=process.pid, pid_create_time=process.create_time
            )
            task.attempts.append(slot.record)
            task.status = TaskStatus.RUNNING
            if execution.start_time is None:
                execution.start_time = now
            self._changed(task, now)

    # ------------------------------------------------------------- outcomes (under lock)

    def _settle(self, slot: _Slot, code: int, stderr: str) -> None:
        """Record how the attempt ended and what happens to its task (R3-R5, R9); a failure's
        message ends with the last lines of its ``stderr``."""
        record = slot.record
        assert record is not None
        if code < 0:
            record.term_signal = -code
        else:
            record.exit_code = code
        task = slot.task
        match slot.stop_reason:
            case Outcome.CANCELLED:
                self._record_end(record, Outcome.CANCELLED, "The task was cancelled.")
                self._end_task(task, Outcome.CANCELLED)
            case Outcome.INTERRUPTED:
                self._record_end(record, Outcome.INTERRUPTED, INTERRUPTED_MESSAGE)
                self._end_task(task, Outcome.INTERRUPTED)
            case Outcome.TIMEOUT:
                timeout = seconds_text(self.execution.plan.timeout)
                self._record_end(
                    record, Outcome.TIMEOUT, f"The configured timeout was reached ({timeout})."
                )
                self._after_failure(task)
            case _ if code == 0:
                self._record_end(record, Outcome.SUCCEEDED, "")
                task.status = TaskStatus.SUCCEEDED
                task.completion_time = record.end_time
                self._changed(task)
            case _ if code < 0:
                name = _signal_name(-code)
                message = f"The container was terminated by signal {name}."
                self._record_end(record, Outcome.SIGNAL, _with_stderr(message, stderr))
                self._after_failure(task)
            case _:
                message = f"The container exited with an error (exit code {code})."
                self._record_end(record, Outcome.EXIT_CODE, _with_stderr(message, stderr))
                self._after_failure(task)

    def _record_end(self, record: AttemptRecord, outcome: Outcome, message: str) -> None:
        record.end_time = self._shared.clock.now()
        record.outcome = outcome
        record.message = message

    def _after_failure(self, task: TaskState) -> None:
        """Retry the task if it has retries left (R3); otherwise it failed (R5)."""
        if len(task.attempts) <= self.execution.plan.max_retries and self._stop is None:
            task.status = TaskStatus.PENDING
            self._pending.appendleft(task)
        else:
            task.status = TaskStatus.FAILED
            task.completion_time = self._shared.clock.now()
        self._changed(task)

    def _end_pending(self, stop: Outcome) -> None:
        while self._pending:
            self._end_task(self._pending.popleft(), stop)

    def _end_task(self, task: TaskState, stop: Outcome) -> None:
        """A task stopped (its attempt, if any, is recorded): cancelled, or failed."""
        task.status = TaskStatus.CANCELLED if stop == Outcome.CANCELLED else TaskStatus.FAILED
        task.completion_time = self._shared.clock.now()
        self._changed(task)

    def _finish_all_unfinished(self, outcome: Outcome, message: str) -> None:
        for task in self.execution.tasks:
            if task.finished:
                continue
            if task.attempts and task.attempts[-1].outcome is None:
                self._record_end(task.attempts[-1], outcome, message)
            self._end_task(task, outcome)
        self._pending.clear()
        self._slots.clear()

    def _finalize(self) -> None:
        """Every task has finished: settle the execution's status and condition (R5, R10)."""
        execution = self.execution
        failed = [t for t in execution.tasks if t.status == TaskStatus.FAILED]
        execution.reason = None
        if self._stop == Outcome.CANCELLED:
            execution.status = ExecutionStatus.CANCELLED
            execution.message = CANCELLED_MESSAGE
            execution.reason = "CANCELLED"
        elif self._stop == Outcome.INTERRUPTED:
            execution.status = ExecutionStatus.FAILED
            execution.message = INTERRUPTED_MESSAGE
        elif failed:
            execution.status = ExecutionStatus.FAILED
            first = failed[0]
            last = first.last_finished_attempt
            detail = last.message if last is not None else "it did not run."
            message = f"Task {first.task_id} failed with message: {detail}"
            if len(failed) > 1:
                message = f"{len(failed)} of {len(execution.tasks)} tasks failed. {message}"
            execution.message = message
            if last is not None and last.outcome == Outcome.EXIT_CODE:
                execution.reason = "NON_ZERO_EXIT_CODE"
        else:
            execution.status = ExecutionStatus.SUCCEEDED
            execution.message = SUCCEEDED_MESSAGE
        execution.completion_time = self._shared.clock.now()
        if execution.start_time is None:
            execution.start_time = execution.completion_time
        execution.update_time = execution.completion_time
        self._shared.on_change(execution, None)

    def _changed(self, task: TaskState, now: datetime | None = None) -> None:
        self.execution.update_time = now or self._shared.clock.now()
        self._shared.on_change(self.execution, task)


def _with_stderr(message: str, stderr: str) -> str:
    """``message`` followed by the last lines of the attempt's stderr, if it wrote any."""
    return f"{message} Last lines of its stderr:\n{stderr}" if stderr else message


def _signal_name(number: int) -> str:
    try:
        return f"{number} ({signal.Signals(number).name})"
    except ValueError:
        return str(number)
