"""The Run Jobs engine's working state (jobs, executions, tasks, attempts) and its records.

A job is its parsed name and its ``run_v2.Job`` message (``JobState``). An execution, each of its
tasks and their attempts convert to the API messages the RPCs return (``to_proto``, R10) and to
JSON-able records for the store (``to_record``/``from_record``, written with ``put``), one record
per job, per execution and per task.
"""

from __future__ import annotations

import json
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from google.cloud import run_v2
from google.rpc import code_pb2, status_pb2

from emulator.kit.records import RecordCodec, Stored, full_name, nested
from emulator.kit.store import Put, Record
from emulator.run_jobs.names import ExecutionName, JobName, parse_execution_name, parse_job_name
from emulator.run_jobs.templates import ExecutionPlan

JOB_KIND = "run.job"
EXECUTION_KIND = "run.execution"
TASK_KIND = "run.task"

INTERRUPTED_MESSAGE = (
    "The emulator stopped while this execution was running; its task processes were killed."
)
CANCELLED_MESSAGE = "The execution was cancelled."
CANCELLING_MESSAGE = "The execution is being cancelled."
SUCCEEDED_MESSAGE = "Execution completed successfully."
RUNNING_MESSAGE = "The execution is running."

Condition = run_v2.Condition
CompletionStatus = run_v2.ExecutionReference.CompletionStatus


class TaskStatus(StrEnum):
    """Where a task is: waiting for a slot (or a retry), running an attempt, or finished."""

    PENDING = "PENDING"
    RUNNING = "RUNNING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"


class ExecutionStatus(StrEnum):
    """Where an execution is; the last three are terminal."""

    RUNNING = "RUNNING"
    CANCELLING = "CANCELLING"
    SUCCEEDED = "SUCCEEDED"
    FAILED = "FAILED"
    CANCELLED = "CANCELLED"

    @property
    def terminal(self) -> bool:
        return self in _TERMINAL


_TERMINAL = {ExecutionStatus.SUCCEEDED, ExecutionStatus.FAILED, ExecutionStatus.CANCELLED}


class Outcome(StrEnum):
    """How an attempt ended (R5)."""

    SUCCEEDED = "succeeded"  # exit 0
    EXIT_CODE = "exit_code"  # non-zero exit
    SIGNAL = "signal"  # killed by a signal it did not handle
    TIMEOUT = "timeout"  # ran past the task timeout (R4)
    CANCELLED = "cancelled"  # CancelExecution (R9)
    START_FAILED = "start_failed"  # the command could not be executed
    INTERRUPTED = "interrupted"  # the emulator stopped during the attempt


_OUTCOME_CODES = {
    Outcome.SUCCEEDED: code_pb2.OK,
    Outcome.EXIT_CODE: code_pb2.UNKNOWN,
    Outcome.SIGNAL: code_pb2.UNKNOWN,
    Outcome.TIMEOUT: code_pb2.DEADLINE_EXCEEDED,
    Outcome.CANCELLED: code_pb2.CANCELLED,
    Outcome.START_FAILED: code_pb2.UNKNOWN,
    Outcome.INTERRUPTED: code_pb2.ABORTED,
}


@dataclass
class AttemptRecord(Stored):
    """One run of a task's container: when, which process, and how it ended."""

    attempt: int  # 0-based (CLOUD_RUN_TASK_ATTEMPT)
    start_time: datetime
    pid: int | None = None
    pid_create_time: float | None = None  # guards against pid reuse when cleaning up
    end_time: datetime | None = None
    exit_code: int | None = None
    term_signal: int | None = None
    outcome: Outcome | None = None  # None while it runs
    message: str = ""

    def result_proto(self) -> run_v2.TaskAttemptResult:
        """The attempt's TaskAttemptResult (at most one of exit_code and term_signal)."""
        status = status_pb2.Status(
            code=_OUTCOME_CODES[self.outcome] if self.outcome else code_pb2.OK,
            message=self.message,
        )
        result = run_v2.TaskAttemptResult(status=status)
        if self.term_signal is not None:
            result.term_signal = self.term_signal
        elif self.exit_code is not None:
            result.exit_code = self.exit_code
        return result


@dataclass(eq=False)
class TaskState(Stored):
    """Task ``index`` of an execution, with its attempts."""

    execution: ExecutionName
    index: int
    scheduled_time: datetime
    status: TaskStatus = TaskStatus.PENDING
    attempts: list[AttemptRecord] = field(default_factory=list)
    completion_time: datetime | None = None

    @property
    def name(self) -> str:
        """The full task name."""
        return self.execution.task(self.index)

    @property
    def task_id(self) -> str:
        """The short task id, ``<execution id>-task<index>``."""
        return self.name.rsplit("/", 1)[1]

    @property
    def finished(self) -> bool:
        return self.status in (TaskStatus.SUCCEEDED, TaskStatus.FAILED, TaskStatus.CANCELLED)

    @property
    def open_attempt(self) -> AttemptRecord | None:
        """The last attempt if it has not ended (it runs, or ran when the emulator stopped)."""
        last = self.attempts[-1] if self.attempts else None
        return last if last is not None and last.outcome is None else None

    @property
    def last_finished_attempt(self) -> AttemptRecord | None:
        """The latest attempt that ended, if any."""
        return next((a for a in reversed(self.attempts) if a.outcome is not None), None)

    def to_proto(self, execution: ExecutionState) -> run_v2.Task:
        """The Task message (``retried`` counts attempts after the first)."""
        plan = execution.plan
        task = run_v2.Task(
            name=self.name,
            uid=str(uuid.uuid5(uuid.UUID(execution.uid), str(self.index))),
            generation=1,
            observed_generation=1,
            create_time=execution.create_time,
            scheduled_time=self.scheduled_time,
            update_time=self._update_time(),
            job=self.execution.job.job_id,
            execution=self.execution.execution_id,
            containers=[plan.container],
            volumes=list(plan.template.volumes),
            max_retries=plan.max_retries,
            timeout=plan.timeout,
            service_account=plan.template.service_account,
            index=self.index,
            retried=max(0, len(self.attempts) - 1),
            reconciling=not self.finished,
            conditions=[self._condition()],
            etag=f'"{self._update_time().timestamp()}"',
        )
        if self.attempts:
            task.start_time = self.attempts[-1].start_time
        if self.completion_time is not None:
            task.completion_time = self.completion_time
        last = self.last_finished_attempt
        if last is not None:
            task.last_attempt_result = last.result_proto()
        return task

    def _update_time(self) -> datetime:
        times = [self.scheduled_time]
        for attempt in self.attempts:
            times.append(attempt.end_time or attempt.start_time)
        return max(times)

    def _condition(self) -> run_v2.Condition:
        last = self.last_finished_attempt
        when = self.completion_time or self._update_time()
        match self.status:
            case TaskStatus.SUCCEEDED:
                return _condition(Condition.State.CONDITION_SUCCEEDED, "Task completed.", when)
            case TaskStatus.FAILED | TaskStatus.CANCELLED:
                message = last.message if last is not None else CANCELLED_MESSAGE
                return _condition(Condition.State.CONDITION_FAILED, message, when)
            case TaskStatus.RUNNING:
                return _condition(Condition.State.CONDITION_RECONCILING, "Task is running.", when)
            case _:
                return _condition(Condition.State.CONDITION_PENDING, "Task is waiting.", when)

    def put(self) -> Put:
        """The store write that records the task."""
        return Put(Record(TASK_KIND, self.name, self.to_record()))


@dataclass(eq=False)
class ExecutionState:
    """One run of a job: its plan, its tasks, and how it is going (R1, R10)."""

    name: ExecutionName
    uid: str
    plan: ExecutionPlan
    create_time: datetime
    tasks: list[TaskState]
    start_time: datetime | None = None
    completion_time: datetime | None = None
    status: ExecutionStatus = ExecutionStatus.RUNNING
    message: str = RUNNING_MESSAGE  # the Completed condition's message
    reason: str | None = None  # a Condition.ExecutionReason name, when one applies
    update_time: datetime | None = None
    seq: int = 0  # creation order within the engine (lists show the newest first)
    deleted: bool = False  # memory only: a deleted execution is no longer written to the store

    @property
    def terminal(self) -> bool:
        return self.status.terminal

    def counts(self) -> dict[str, int]:
        """running / succeeded / failed / cancelled / retried task counts (R10)."""
        counts = dict.fromkeys(("running", "succeeded", "failed", "cancelled", "retried"), 0)
        for task in self.tasks:
            key = {
                TaskStatus.RUNNING: "running",
                TaskStatus.SUCCEEDED: "succeeded",
                TaskStatus.FAILED: "failed",
                TaskStatus.CANCELLED: "cancelled",
            }.get(task.status)
            if key is not None:
                counts[key] += 1
            if len(task.attempts) > 1:
                counts["retried"] += 1
        return counts

    def completion_status(self) -> run_v2.ExecutionReference.CompletionStatus:
        """The status a job's ``latest_created_execution`` reference shows (R11)."""
        return {
            ExecutionStatus.RUNNING: CompletionStatus.EXECUTION_RUNNING,
            ExecutionStatus.CANCELLING: CompletionStatus.EXECUTION_RUNNING,
            ExecutionStatus.SUCCEEDED: CompletionStatus.EXECUTION_SUCCEEDED,
            ExecutionStatus.FAILED: CompletionStatus.EXECUTION_FAILED,
            ExecutionStatus.CANCELLED: CompletionStatus.EXECUTION_CANCELLED,
        }[self.status]

    def reference(self) -> run_v2.ExecutionReference:
        """An ExecutionReference to this execution (for ``Job.latest_created_execution``)."""
        reference = run_v2.ExecutionReference(
            name=self.name.full,
            create_time=self.create_time,
            completion_status=self.completion_status(),
        )
        if self.completion_time is not None:
            reference.completion_time = self.completion_time
        return reference

    def interrupt(self, now: datetime) -> list[TaskState]:
        """Record the execution as failed: the emulator stopped while it ran.

        Its unfinished tasks fail, an attempt still open ending INTERRUPTED; returns those tasks.
        """
        interrupted = [task for task in self.tasks if not task.finished]
        for task in interrupted:
            attempt = task.open_attempt
            if attempt is not None:
                attempt.end_time = now
                attempt.outcome = Outcome.INTERRUPTED
                attempt.message = INTERRUPTED_MESSAGE
            task.status = TaskStatus.FAILED
            task.completion_time = now
        self.status = ExecutionStatus.FAILED
        self.message = INTERRUPTED_MESSAGE
        self.reason = None
        self.completion_time = self.update_time = now
        if self.start_time is None:
            self.start_time = now
        return interrupted

    def to_proto(self) -> run_v2.Execution:
        """The Execution message, with its counts and Completed condition (R10)."""
        counts = self.counts()
        updated = self.update_time or self.create_time
        state = {
            ExecutionStatus.SUCCEEDED: Condition.State.CONDITION_SUCCEEDED,
            ExecutionStatus.FAILED: Condition.State.CONDITION_FAILED,
            ExecutionStatus.CANCELLED: Condition.State.CONDITION_FAILED,
        }.get(self.status, Condition.State.CONDITION_RECONCILING)
        condition = _condition(state, self.message, self.completion_time or updated)
        if self.reason is not None:
            condition.execution_reason = Condition.ExecutionReason[self.reason]
        execution = run_v2.Execution(
            name=self.name.full,
            uid=self.uid,
            generation=1,
            observed_generation=1,
            create_time=self.create_time,
            update_time=updated,
            job=self.name.job.job_id,
            parallelism=self.plan.parallelism,
            task_count=self.plan.task_count,
            template=self.plan.template,
            reconciling=not self.terminal,
            conditions=[condition],
            running_count=counts["running"],
            succeeded_count=counts["succeeded"],
            failed_count=counts["failed"],
            cancelled_count=counts["cancelled"],
            retried_count=counts["retried"],
            etag=f'"{updated.timestamp()}"',
        )
        if self.start_time is not None:
            execution.start_time = self.start_time
        if self.completion_time is not None:
            execution.completion_time = self.completion_time
        return execution

    def to_record(self) -> dict[str, Any]:
        return {
            "name": self.name.full,
            "uid": self.uid,
            "template": json.loads(run_v2.TaskTemplate.to_json(self.plan.template)),
            "task_count": self.plan.task_count,
            "parallelism": self.plan.parallelism,
            **_EXECUTION_RECORD.to_record(self),
        }

    def put(self) -> Put:
        """The store write that records the execution (its tasks are records of their own)."""
        return Put(Record(EXECUTION_KIND, self.name.full, self.to_record()))

    @classmethod
    def from_record(cls, record: dict[str, Any], tasks: list[TaskState]) -> ExecutionState:
        plan = ExecutionPlan(
            template=run_v2.TaskTemplate.from_json(json.dumps(record["template"])),
            task_count=record["task_count"],
            parallelism=record["parallelism"],
        )
        return _EXECUTION_RECORD.from_record(
            record,
            name=parse_execution_name(record["name"]),
            uid=record["uid"],
            plan=plan,
            tasks=sorted(tasks, key=lambda t: t.index),
        )


_USER_JOB_FIELDS = (
    "labels",
    "annotations",
    "client",
    "client_version",
    "launch_stage",
    "binary_authorization",
)


@dataclass(eq=False)
class JobState:
    """A job: its parsed name and the Job message the RPCs return.

    The message holds all the job has: its settings and template (R2-R4), its generation, its
    execution count and its latest execution's reference (R11).
    """

    name: JobName
    job: run_v2.Job

    @classmethod
    def create(
        cls, name: JobName, spec: run_v2.Job, template: run_v2.ExecutionTemplate, now: datetime
    ) -> JobState:
        """A new job ``name``: the user's fields of ``spec``, the completed ``template``."""
        job = run_v2.Job(
            name=name.full,
            uid=str(uuid.uuid4()),
            generation=1,
            observed_generation=1,
            create_time=now,
            update_time=now,
            template=template,
            terminal_condition=run_v2.Condition(
                type_="Ready",
                state=run_v2.Condition.State.CONDITION_SUCCEEDED,
                last_transition_time=now,
            ),
            etag=_etag(now),
        )
        _copy_user_fields(spec, job)
        return cls(name, job)

    def update(self, spec: run_v2.Job, template: run_v2.ExecutionTemplate, now: datetime) -> None:
        """UpdateJob: the user's fields of ``spec`` and ``template`` replace the job's settings;
        the generation goes up by one."""
        job = run_v2.Job(self.job)
        _copy_user_fields(spec, job)
        job.template = template
        job.generation += 1
        job.observed_generation = job.generation
        job.update_time = now
        job.etag = _etag(now)
        self.job = job

    def add_execution(self, execution: ExecutionState) -> None:
        """RunJob created ``execution``: count it and make it the latest (R11)."""
        self.job.execution_count += 1
        self.job.latest_created_execution = execution.reference()

    def follow(self, execution: ExecutionState) -> bool:
        """Refresh the reference to ``execution`` if it is the latest; True if it changed."""
        if self.job.latest_created_execution.name != execution.name.full:
            return False
        reference = execution.reference()
        if reference == self.job.latest_created_execution:
            return False
        self.job.latest_created_execution = reference
        return True

    def to_proto(self) -> run_v2.Job:
        """A copy of the Job message."""
        return run_v2.Job(self.job)

    def put(self) -> Put:
        """The store write that records the job."""
        return Put(Record(JOB_KIND, self.name.full, json.loads(run_v2.Job.to_json(self.job))))

    @classmethod
    def from_record(cls, record: dict[str, Any]) -> JobState:
        """The job ``put`` stored."""
        job = run_v2.Job.from_json(json.dumps(record))
        return cls(parse_job_name(job.name), job)


def seconds_text(value: timedelta) -> str:
    """A duration the way Cloud Run's messages show it, e.g. ``600s`` or ``1.5s``."""
    return f"{value.total_seconds():g}s"


def _copy_user_fields(source: run_v2.Job, target: run_v2.Job) -> None:
    """Copy the fields a user sets (labels, annotations, client, ...) from source to target."""
    for field_name in _USER_JOB_FIELDS:
        if field_name in source:
            setattr(target, field_name, getattr(source, field_name))
        else:
            delattr(target, field_name)


def _etag(when: datetime) -> str:
    return f'"{when.timestamp()}"'


AttemptRecord.RECORD = RecordCodec(AttemptRecord)

TaskState.RECORD = RecordCodec(
    TaskState,
    special={
        "execution": full_name(parse_execution_name),
        "attempts": nested(AttemptRecord.RECORD),
    },
)

# The name, uid and plan come first and are the execution's own (see ExecutionState.to_record).
_EXECUTION_RECORD = RecordCodec(
    ExecutionState,
    fields=(
        "create_time",
        "start_time",
        "completion_time",
        "update_time",
        "status",
        "message",
        "reason",
        "seq",
    ),
)


def _condition(state: run_v2.Condition.State, message: str, when: datetime) -> run_v2.Condition:
    return run_v2.Condition(
        type_="Completed", state=state, message=message, last_transition_time=when
    )
