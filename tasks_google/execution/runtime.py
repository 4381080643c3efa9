"""The execution runtime, shared by every delivery path (Cloud Tasks HTTP, Run Jobs process).

One call runs one attempt: take the lease, run the task, record the outcome, and say whether the
service must deliver again. The answer is the truth the service acts on: `final` outcomes are
acknowledged (2xx / exit 0); everything else is retried by the service, including a duplicate
delivery that arrives while another attempt holds the lease (acknowledging it would lose the task
if that attempt then died).
"""

import logging
import math
import threading
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import timedelta
from typing import Any

from tasks_google import clock
from tasks_google.config.sqlite import retry_if_locked
from tasks_google.exceptions import (
    LostAttemptError,
    NonJSONReturnValueError,
    PermanentTaskError,
    RunOnceError,
    TaskCancelledError,
)
from tasks_google.execution import attempts, cancel_signals, leases
from tasks_google.executions import (
    announce_failure,
    as_json,
    history_limit,
    is_valid_execution_id,
    load_task,
    refresh_result,
    to_result,
    with_error,
)
from tasks_google.framework import (
    TaskContext,
    TaskResult,
    TaskResultStatus,
    task_backends,
    task_finished,
    task_started,
)
from tasks_google.models import TaskExecution
from tasks_google.observability import tracing

logger = logging.getLogger(__name__)

#: How many times a delivery reads the lease and tries to take it before answering "busy".
LEASE_TRIES = 2
#: Set while a task's own code runs in this process (see `task_body_running`).
_body_running = threading.Event()


def task_body_running() -> bool:
    """Whether a task's own code is running now: where a stop signal may raise
    TaskCancelledError (never inside the runtime's own bookkeeping)."""
    return _body_running.is_set()


@dataclass(frozen=True)
class Outcome:
    """What became of one delivery.

    kind: succeeded | failed (final) | cancelled (final) | retry (failed, the service will retry)
    | finished (already done) | unknown (no such execution) | busy (another attempt holds the
    lease) | not_due (its run_after is still ahead; nothing ran) | lost (this attempt's lease was
    taken over). `retry_after`: for busy and not_due, the seconds to wait before delivering again.
    """

    kind: str
    final: bool
    retry_after: int | None = None


@dataclass(frozen=True)
class _Previous:
    """The lease a delivery took over, as it read it just before taking it."""

    taking_over: bool
    owner: str
    started_at: Any
    #: Whether taking the lease also recorded this attempt's start (the task runs).
    started: bool = False


def run_attempt(
    execution_id: str,
    *,
    attempts_made: int | None = None,
    last_attempt: bool | None = None,
    trace_context: Mapping[str, str] | None = None,
) -> Outcome:
    """Run one attempt of an execution.

    Whether a failure is final: `last_attempt` if given (the caller knows the service makes no
    further attempt after this one); otherwise the backend decides from `attempts_made`, how many
    attempts the service made before this one (Cloud Tasks' X-CloudTasks-TaskRetryCount), and
    the service's retry settings. `trace_context`: the trace headers the delivery carried
    (`traceparent`, `tracestate`, `x-cloud-trace-context`); the attempt's span continues that
    trace, else the one its enqueue stored.
    """
    if not is_valid_execution_id(execution_id):
        logger.warning("Delivery for malformed execution id %r acknowledged", execution_id)
        return Outcome("unknown", final=True)
    row = retry_if_locked(lambda: TaskExecution.read(execution_id))
    if row is None:
        logger.warning("Delivery for unknown execution %s acknowledged", execution_id)
        return Outcome("unknown", final=True)
    attributes = {
        "execution_id": row.pk,
        "task_path": row.task_path,
        "queue": row.queue,
        "backend": row.backend,
    }
    with tracing.attempt_span(row, trace_context or {}, attributes) as span:
        outcome = _deliver(row, attempts_made, last_attempt, span)
        span.end_with(outcome.kind)
    return outcome


def _deliver(
    row: TaskExecution, attempts_made: int | None, last_attempt: bool | None, span: tracing.Span
) -> Outcome:
    """`run_attempt` once the row is read; the attempt's number goes on `span`."""
    if row.is_finished:
        return Outcome("finished", final=True)
    not_due = _not_due(row)
    if not_due is not None:
        return not_due

    # Only the execution's own backend is built: another alias's configuration never matters.
    backend = task_backends[row.backend]
    config = backend.config
    lease_timeout = timedelta(seconds=config.heartbeat_timeout_seconds)
    owner = leases.new_lease_owner()
    previous = _take_lease(backend, row, owner, lease_timeout)
    if isinstance(previous, Outcome):
        return previous
    refused = None if previous.started else _start(backend, row, owner, previous)
    span.set("attempt", row.attempt_count)  # as taken (`_start` read the row again)
    if refused is not None:
        leases.forget(owner)
        return refused
    if attempts_made is None:
        attempts_made = row.attempt_count - 1
    attempt = _Attempt(backend, row, owner, attempts_made, last_attempt)
    try:
        outcome = attempt.run(
            timedelta(seconds=config.heartbeat_interval_seconds),
            lease_timeout,
            timedelta(seconds=config.cancel_poll_interval_seconds),
        )
    finally:
        cancel_signals.unwatch(row.pk)
    # Only now is the attempt over; if it was interrupted, the lease stays registered so that a
    # clean exit of this process expires it (leases.expire_held_leases).
    leases.forget(owner)
    return outcome


def _not_due(row: TaskExecution) -> Outcome | None:
    """A refusal while `row`'s run_after is still ahead: a delivery before its time runs nothing."""
    if row.run_after is None:
        return None
    wait = (row.run_after - clock.now()).total_seconds()
    if wait <= 0:
        return None
    seconds = max(1, math.ceil(wait))
    logger.warning(
        "Execution %s is not due until %s; asking for a retry in %ss",
        row.pk,
        row.run_after.isoformat(),
        seconds,
    )
    return Outcome("not_due", final=False, retry_after=seconds)


def _take_lease(
    backend: Any, row: TaskExecution, owner: str, lease_timeout: timedelta
) -> _Previous | Outcome:
    """Take `row`'s lease for `owner`; else the outcome to answer (finished, or busy).

    When the task will run (no cancellation requested, not refused by `run_once`), the same
    UPDATE records the attempt's start; `_Previous.started` says so."""
    # The lease is taken only if it is still the one read here, so `taking_over` is exact even
    # when the previous attempt records its outcome in between (then the read is renewed).
    for _ in range(LEASE_TRIES):
        previous = _Previous(
            row.status == TaskResultStatus.RUNNING, row.lease_owner, row.last_attempted_at
        )
        if _runs_at_once(backend, row):
            if _take_and_start(row, owner, lease_timeout, previous):
                return replace(previous, started=True)
        elif leases.acquire(row.pk, owner, lease_timeout, previous_owner=previous.owner):
            return previous
        row.refresh_from_db()
        if row.is_finished:
            return Outcome("finished", final=True)
    wait = math.ceil(leases.seconds_left(row.lease_expires_at)) or 1
    logger.warning("Execution %s is running elsewhere; asking for a retry in %ss", row.pk, wait)
    return Outcome("busy", final=False, retry_after=wait)


def _runs_at_once(backend: Any, row: TaskExecution) -> bool:
    """Whether the attempt about to take `row`'s lease (as read) will run the task."""
    return row.cancel_requested_at is None and not _run_once_refuses(backend, row)


def _run_once_refuses(backend: Any, row: TaskExecution) -> bool:
    """`run_once`: an earlier attempt started `row`, so no attempt runs it again."""
    return bool(backend.config.run_once and row.started_at is not None)


def _take_and_start(
    row: TaskExecution, owner: str, lease_timeout: timedelta, previous: _Previous
) -> bool:
    """Take the lease and record the attempt's start in one UPDATE, computed from `row` as
    read: it applies only while the row is still that one (same lease, same attempt count, no
    cancellation requested). On success `row` holds what was written."""
    read_count, now = row.attempt_count, clock.now()
    row.attempt_count, row.last_attempted_at = read_count + 1, now
    _note_start(row, previous, runs=True)
    row.started_at = row.started_at or now
    start = {name: getattr(row, name) for name in ("errors", "worker_ids", "attempts")}
    start["started_at"] = row.started_at
    taken = leases.acquire(
        row.pk,
        owner,
        lease_timeout,
        previous_owner=previous.owner,
        now=now,
        read_count=read_count,
        start=start,
    )
    if taken:
        row.status, row.lease_owner = TaskResultStatus.RUNNING, owner
        row.lease_expires_at, row.heartbeat_at = now + lease_timeout, now
    return taken


def _start(backend: Any, row: TaskExecution, owner: str, previous: _Previous) -> Outcome | None:
    """Record the start of the attempt that took the lease; the outcome instead when the task
    must not run (cancelled before it started; started before under `run_once`)."""
    row.refresh_from_db()
    if _run_once_refuses(backend, row) and not row.cancel_requested_at:
        # A cancellation still wins over the refusal.
        return _refuse_rerun(row, owner, previous, type(backend))
    _record_start(row, owner, previous)
    if row.cancel_requested_at is None:
        return None
    # Cancelled before it could start: it never starts.
    if cancel_signals.finish_cancelled(row, started=True, owner=owner, sender=type(backend)):
        return Outcome("cancelled", final=True)
    logger.warning("Execution %s: lease %s was taken over before it started", row.pk, owner)
    return Outcome("lost", final=False)


def _note_start(row: TaskExecution, previous: _Previous, *, runs: bool) -> None:
    """Set on `row` (just read) the start of the attempt that took the lease, and the loss of
    the one it replaced; `runs`: whether this attempt runs the task."""
    keep = history_limit(row)
    number, now = row.attempt_count, row.last_attempted_at
    if previous.taking_over:
        then = "running the task again" if runs else "not running it again (run_once)"
        lost = LostAttemptError(
            f"The attempt holding lease {previous.owner!r} ended without recording an outcome "
            f"(its lease expired); {then}."
        )
        row.errors = with_error(row.errors, lost, keep=keep)
        row.attempts = attempts.lost(
            row.attempts,
            number - 1,
            now,
            lost,
            worker=leases.worker_of(previous.owner),
            started_at=previous.started_at,
            keep=keep,
        )
    row.worker_ids = [*row.worker_ids, leases.worker_id()][-keep:]
    row.attempts = attempts.started(row.attempts, number, leases.worker_id(), now, keep=keep)


def _record_start(row: TaskExecution, owner: str, previous: _Previous) -> None:
    """Write the start of the attempt that took the lease (and the loss of the one it replaced)."""
    _note_start(row, previous, runs=True)
    row.started_at = row.started_at or row.last_attempted_at
    row.record_start(owner)


def _refuse_rerun(row: TaskExecution, owner: str, previous: _Previous, sender: type) -> Outcome:
    """Record FAILED, without running the task, an execution of a `run_once` backend that an
    earlier attempt started, and send `task_finished`: a final answer, so nothing retries it."""
    _note_start(row, previous, runs=False)
    error = RunOnceError(
        f"Execution {row.pk} of {row.task_path} was started by an earlier attempt, and its "
        f"backend {row.backend!r} has OPTIONS['run_once'] = True: attempt {row.attempt_count} "
        "does not run it again."
    )
    now = clock.now()
    row.errors = with_error(row.errors, error, keep=history_limit(row))
    row.status, row.finished_at = TaskResultStatus.FAILED, now
    row.attempts = attempts.ended(row.attempts, row.attempt_count, attempts.FAILED, now, error)
    fields = ["status", "errors", "worker_ids", "attempts", "finished_at"]
    if not row.record_outcome(owner, fields):
        logger.warning("Execution %s: lease %s was taken over before it refused", row.pk, owner)
        return Outcome("lost", final=False)
    announce_failure(row, error, sender=sender)
    return Outcome("failed", final=True)


class _Attempt:
    def __init__(
        self,
        backend: Any,
        row: TaskExecution,
        owner: str,
        attempts_made: int,
        last_attempt: bool | None,
    ) -> None:
        self.backend = backend
        self.row = row
        self.owner = owner
        self.attempts_made = attempts_made
        self.last_attempt = last_attempt
        self.cancel_flag: threading.Event | None = None  # set once the task is about to run

    def run(self, interval: timedelta, lease_timeout: timedelta, cancel_poll: timedelta) -> Outcome:
        row = self.row
        try:
            task = load_task(row.task_path).using(
                priority=row.priority, queue_name=row.queue, backend=row.backend
            )
        except Exception as exc:
            # Not importable (e.g. removed by a deploy): a failed attempt, retried as usual.
            return self._fail(exc, None)

        result = to_result(row, task)
        task_started.send(type(self.backend), task_result=result)
        self.cancel_flag = cancel_signals.watch(row.pk)
        heartbeat = leases.Heartbeat(
            row.pk,
            self.owner,
            interval,
            lease_timeout,
            cancel_flag=self.cancel_flag,
            cancel_poll=cancel_poll,
        )
        heartbeat.start()
        try:
            _body_running.set()
            try:
                if task.takes_context:
                    value = task.call(TaskContext(task_result=result), *row.args, **row.kwargs)
                else:
                    value = task.call(*row.args, **row.kwargs)
            finally:
                _body_running.clear()
            try:
                value = as_json(value)
            except (TypeError, ValueError) as exc:
                raise NonJSONReturnValueError(
                    f"{row.task_path} returned {type(value).__name__}, which cannot be stored "
                    f"as JSON: {exc}"
                ) from exc
        except KeyboardInterrupt:
            heartbeat.stop()
            raise
        except BaseException as exc:
            heartbeat.stop()
            # task_finished goes out inside this block: Django's log handler reads exc_info.
            return self._fail(exc, result, lease_lost=heartbeat.lost)
        heartbeat.stop()
        return self._succeed(value, result, lease_lost=heartbeat.lost)

    def _flagged(self) -> bool:
        """Whether the heartbeat has seen a cancellation requested (no query: the outcome's
        UPDATE checks the database itself)."""
        return self.cancel_flag is not None and self.cancel_flag.is_set()

    def _record(
        self, fields: list[str], result: TaskResult | None, exc: Any = None
    ) -> Outcome | None:
        """Write the outcome set on the row (then None), unless a cancellation was requested
        meanwhile (it is recorded cancelled) or the lease was taken over (it is discarded): then
        the outcome to answer instead."""
        if self.row.record_outcome(self.owner, fields, unless_cancelled=True):
            return None
        self.row.refresh_from_db()
        if self.row.lease_owner == self.owner and self.row.cancel_requested_at is not None:
            cancelled_by = exc if isinstance(exc, TaskCancelledError) else None
            return self._record_cancelled(result, cancelled_by)
        return self._lost()

    def _record_cancelled(
        self, result: TaskResult | None, error: BaseException | None = None
    ) -> Outcome:
        recorded = cancel_signals.finish_cancelled(
            self.row,
            started=True,
            owner=self.owner,
            error=error,
            result=result,
            sender=type(self.backend),
        )
        return Outcome("cancelled", final=True) if recorded else self._lost()

    def _succeed(self, value: Any, result: TaskResult, *, lease_lost: bool) -> Outcome:
        if not lease_lost and self._flagged():
            # Cancelled while it ran: it finished its own way, and is recorded cancelled.
            return self._record_cancelled(result)
        row = self.row
        row.status = TaskResultStatus.SUCCESSFUL
        row.return_value = value
        row.finished_at = clock.now()
        row.attempts = attempts.ended(
            row.attempts, row.attempt_count, attempts.SUCCEEDED, row.finished_at
        )
        if lease_lost:
            return self._lost()
        instead = self._record(["status", "return_value", "attempts", "finished_at"], result)
        if instead is not None:
            return instead
        refresh_result(result, row)
        task_finished.send(type(self.backend), task_result=result)
        return Outcome("succeeded", final=True)

    def _fail(
        self, exc: BaseException, result: TaskResult | None, *, lease_lost: bool = False
    ) -> Outcome:
        if not lease_lost and self._flagged():
            cancelled_by = exc if isinstance(exc, TaskCancelledError) else None
            return self._record_cancelled(result, cancelled_by)
        row = self.row
        now = clock.now()
        final = isinstance(exc, PermanentTaskError | NonJSONReturnValueError) or self._gives_up(now)
        row.errors = with_error(row.errors, exc, keep=history_limit(row))
        row.status = TaskResultStatus.FAILED if final else TaskResultStatus.READY
        row.finished_at = now if final else None
        ending = attempts.FAILED if final else attempts.RETRY
        row.attempts = attempts.ended(row.attempts, row.attempt_count, ending, now, exc)
        if lease_lost:
            return self._lost()
        instead = self._record(["status", "errors", "attempts", "finished_at"], result, exc)
        if instead is not None:
            return instead
        if not final:
            logger.warning(
                "Execution %s (%s) attempt %d failed; %s",
                row.pk,
                row.task_path,
                row.attempt_count,
                "the next delivery records it FAILED (run_once)"
                if self.backend.config.run_once
                else "it will be retried",
                exc_info=exc,
            )
            return Outcome("retry", final=False)
        if result is not None:
            refresh_result(result, row)
            task_finished.send(type(self.backend), task_result=result)
        else:
            logger.error("Execution %s (%s) failed for good", row.pk, row.task_path, exc_info=exc)
        return Outcome("failed", final=True)

    def _gives_up(self, now: Any) -> bool:
        if self.last_attempt is not None:
            return self.last_attempt
        try:
            return self.backend.service_gives_up(self.row, self.attempts_made + 1, now)
        except Exception:
            logger.exception(
                "Execution %s: could not read the retry policy; assuming a retry", self.row.pk
            )
            return False

    def _lost(self) -> Outcome:
        logger.warning(
            "Execution %s: lease %s was taken over; this attempt's outcome is discarded",
            self.row.pk,
            self.owner,
        )
        return Outcome("lost", final=False)
