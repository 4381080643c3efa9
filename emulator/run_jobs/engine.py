"""The Cloud Run Jobs v2 engine: jobs, executions and tasks, run as real processes.

Each public RPC method takes the official client's request message and returns what the RPC
returns (a raw ``google.longrunning.Operation`` for the long-running ones, R8), raising the
``google.api_core.exceptions`` the client raises, so a gRPC front door maps RPC name to method
one to one. RunJob starts an ``ExecutionSupervisor`` thread that runs the execution's tasks as
subprocesses on the wall clock, whatever clock the cloud uses (R1-R7, R9, R10); the job keeps
count (R11). Jobs and executions are written through to the store; an execution that was running
when the emulator went away is recorded as failed when the engine starts again.
"""

from __future__ import annotations

import atexit
import itertools
import logging
import os
import threading
import time
import uuid
import weakref
from collections.abc import Callable, Collection, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from typing import Any, NamedTuple

from google.api_core.exceptions import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    MethodNotImplemented,
    ServiceUnavailable,
)
from google.cloud import run_v2
from google.iam.v1 import iam_policy_pb2
from google.longrunning import operations_pb2

from emulator.kit import paging
from emulator.kit.clock import Clock
from emulator.kit.faults import RUN_JOBS, Faults
from emulator.kit.iam import JOB_PERMISSIONS, tested_permissions
from emulator.kit.store import Change, Delete, DeletePrefix, MemoryStore, Store
from emulator.run_jobs.model import (
    EXECUTION_KIND,
    JOB_KIND,
    TASK_KIND,
    ExecutionState,
    JobState,
    TaskState,
)
from emulator.run_jobs.names import (
    ExecutionName,
    JobName,
    check_job_id,
    location_of,
    new_execution_id,
    new_operation_name,
    not_found,
    parse_execution_name,
    parse_job_name,
    parse_location,
    parse_operation_name,
    parse_task_name,
)
from emulator.run_jobs.operations import Operation, OperationLog
from emulator.run_jobs.recovery import record_interrupted
from emulator.run_jobs.supervision import Supervisors
from emulator.run_jobs.supervisor import Supervision
from emulator.run_jobs.templates import complete_job_template, plan_execution

logger = logging.getLogger(__name__)

DEFAULT_KILL_GRACE_SECONDS = 10.0
"""Seconds between SIGTERM and SIGKILL when an attempt is stopped (R9)."""
MAX_PAGE_SIZE = 1000
DEFAULT_JOB_CONTAINER = "job"
"""The container name of jobs registered with the default command."""

_live_engines: weakref.WeakSet[RunJobsEngine] = weakref.WeakSet()


class JobSnapshot(NamedTuple):
    """A job as it stood when read (``RunJobsEngine.job_snapshots``): copies of it and of its
    latest execution (None before its first run)."""

    job: run_v2.Job
    latest_execution: ExecutionState | None


class RunJobsEngine:
    """A Cloud Run Jobs v2 service whose task attempts are local subprocesses.

    ``kill_grace`` is the time (s) between SIGTERM and SIGKILL (R9). With ``default_job_command``
    a job's container may omit ``command`` (it stands for the image's entrypoint), and RunJob on
    an unknown job registers it with that command instead of answering NOT_FOUND, in any location
    of ``default_job_parents`` (None = any location) or where jobs already exist.
    ``default_job_workdir`` is the working directory of containers that name none. ``close()``
    kills every process tree still running; so does interpreter exit.
    """

    def __init__(
        self,
        clock: Clock,
        *,
        store: Store | None = None,
        faults: Faults | None = None,
        kill_grace: float = DEFAULT_KILL_GRACE_SECONDS,
        default_job_command: Sequence[str] | None = None,
        default_job_workdir: str | os.PathLike[str] | None = None,
        default_job_parents: Collection[str] | None = None,
    ) -> None:
        if not kill_grace >= 0:
            raise ValueError(f"kill_grace must be a number of seconds >= 0, got {kill_grace}.")
        if default_job_command is not None and isinstance(default_job_command, str):
            raise ValueError("default_job_command must be a list of strings, not one string.")
        self._clock = clock
        self._store: Store = store if store is not None else MemoryStore()
        self._faults = faults if faults is not None else Faults()
        self.default_job_command = list(default_job_command) if default_job_command else None
        self.default_job_workdir = os.fspath(default_job_workdir) if default_job_workdir else None
        self._default_parents = (
            frozenset(default_job_parents) if default_job_parents is not None else None
        )
        self._lock = threading.RLock()
        self._changed = threading.Condition(self._lock)
        self._jobs: dict[str, JobState] = {}
        self._executions: dict[str, ExecutionState] = {}
        shared = Supervision(self._lock, clock, float(kill_grace), self._execution_changed)
        self._supervisors = Supervisors(shared, self._faults)
        self._operations = OperationLog()
        self._closed = False
        with self._lock:
            self._load()
        _live_engines.add(self)

    @property
    def kill_grace(self) -> float:
        """Seconds between SIGTERM and SIGKILL when an attempt is stopped (R9)."""
        return self._supervisors.kill_grace

    # ------------------------------------------------------------------------ lifecycle

    def close(self, grace: float | None = None) -> None:
        """Stop every running execution and wait until its process trees are gone.

        Attempts get SIGTERM, then SIGKILL after ``grace`` seconds (default and upper bound:
        the kill grace); their executions are recorded as failed (interrupted). Idempotent.
        """
        with self._lock:
            if self._closed:
                return
            self._closed = True
            supervisors = self._supervisors.running()
        self._supervisors.stop(supervisors, grace)
        _live_engines.discard(self)

    @contextmanager
    def replacing_state(self) -> Iterator[None]:
        """Hold every write of the engine while the block replaces the store's content (reset,
        import); then kill the running executions without recording them, and reload.

        If the block raises, nothing changes.
        """
        with self._lock:
            yield
            for execution in self._executions.values():
                execution.deleted = True
        self.reload()

    def reload(self) -> None:
        """Rebuild the state from the store; running executions are killed and forgotten."""
        with self._lock:
            for execution in self._executions.values():
                execution.deleted = True
            supervisors = self._supervisors.running()
        self._supervisors.stop(supervisors, grace=0.0)
        with self._lock:
            self._load()
            self._changed.notify_all()

    # ------------------------------------------------------------------------------ jobs

    def create_job(self, request: run_v2.CreateJobRequest) -> operations_pb2.Operation:
        """CreateJob: the template is validated and completed with defaults (R2-R4)."""
        self._faults.check_rpc(RUN_JOBS, "CreateJob", job=f"{request.parent}/jobs/{request.job_id}")
        location = location_of(request.parent)
        _refuse_validate_only(request)
        job_id = check_job_id(request.job_id)
        name = JobName(location.project, location.location, job_id)
        if request.job.name and request.job.name != name.full:
            raise InvalidArgument(
                f"job.name {request.job.name!r} does not match parent and job_id ({name.full})."
            )
        with self._lock:
            if name.full in self._jobs:
                raise AlreadyExists(f"Resource '{job_id}' already exists.")
            job = self._new_job(name, request.job)
            operation = Operation(new_operation_name(location.parent), job.to_proto())
            return self._operations.add(operation)

    def get_job(self, request: run_v2.GetJobRequest) -> run_v2.Job:
        """GetJob."""
        self._faults.check_rpc(RUN_JOBS, "GetJob", job=_job_of(request.name))
        with self._lock:
            return self._job(parse_job_name(request.name)).to_proto()

    def test_iam_permissions(
        self, request: iam_policy_pb2.TestIamPermissionsRequest
    ) -> iam_policy_pb2.TestIamPermissionsResponse:
        """TestIamPermissions on a job: the permissions asked that a job's policy grants, less
        those a ``DenyPermissions`` fault rule refuses; NOT_FOUND for a missing job."""
        job = _job_of(request.resource)
        effect = self._faults.check_rpc(RUN_JOBS, "TestIamPermissions", job=job)
        with self._lock:
            self._job(parse_job_name(request.resource))
        return tested_permissions(request.permissions, JOB_PERMISSIONS, effect)

    def list_jobs(self, request: run_v2.ListJobsRequest) -> run_v2.ListJobsResponse:
        """ListJobs, ordered by name."""
        self._faults.check_rpc(RUN_JOBS, "ListJobs")
        parent = parse_location(request.parent)
        with self._lock:
            jobs = sorted(
                (j for j in self._jobs.values() if j.name.parent == parent),
                key=lambda j: j.name.full,
            )
            page, token = _page(jobs, lambda j: j.name.full, request.page_size, request.page_token)
            return run_v2.ListJobsResponse(jobs=[j.to_proto() for j in page], next_page_token=token)

    def update_job(self, request: run_v2.UpdateJobRequest) -> operations_pb2.Operation:
        """UpdateJob: replaces the job's settings (generation + 1); ``allow_missing`` creates.

        Running executions keep the template they started with.
        """
        self._faults.check_rpc(RUN_JOBS, "UpdateJob", job=_job_of(request.job.name))
        _refuse_validate_only(request)
        name = parse_job_name(request.job.name)
        with self._lock:
            job = self._jobs.get(name.full)
            if job is None:
                if not request.allow_missing:
                    raise self._job_not_found(name)
                job = self._new_job(name, request.job)
            else:
                template = self._complete_template(request.job.template)
                job.update(request.job, template, self._clock.now())
                self._store.write(job.put())
            return self._operations.add(Operation(new_operation_name(name.parent), job.to_proto()))

    def delete_job(self, request: run_v2.DeleteJobRequest) -> operations_pb2.Operation:
        """DeleteJob: the job and its executions go; running ones are cancelled first."""
        self._faults.check_rpc(RUN_JOBS, "DeleteJob", job=_job_of(request.name))
        _refuse_validate_only(request)
        name = parse_job_name(request.name)
        with self._lock:
            job = self._job(name).to_proto()
            del self._jobs[name.full]
            for execution in [e for e in self._executions.values() if e.name.job.full == name.full]:
                self._forget_execution(execution)
            self._store.write(
                Delete(JOB_KIND, name.full),
                DeletePrefix(EXECUTION_KIND, name.full + "/executions/"),
                DeletePrefix(TASK_KIND, name.full + "/executions/"),
            )
            job.delete_time = self._clock.now()
            return self._operations.add(Operation(new_operation_name(name.parent), job))

    def run_job(self, request: run_v2.RunJobRequest) -> operations_pb2.Operation:
        """RunJob: create an execution and start running its tasks (R1, R7, R8).

        The operation is done when the execution is: its response is the Execution, or its
        error the reason the execution failed.
        """
        self._faults.check_rpc(RUN_JOBS, "RunJob", job=_job_of(request.name))
        _refuse_validate_only(request)
        name = parse_job_name(request.name)
        with self._lock:
            if self._closed:
                raise ServiceUnavailable("The emulator is stopping; RunJob is refused.")
            job = self._jobs.get(name.full) or self._register_default_job(name)
            plan = plan_execution(
                job.job.template,
                request.overrides if "overrides" in request else None,
                default_command=self.default_job_command,
                default_workdir=self.default_job_workdir,
            )
            execution_name = self._unused_execution_name(name)
            now = self._clock.now()
            execution = ExecutionState(
                name=execution_name,
                uid=str(uuid.uuid4()),
                plan=plan,
                create_time=now,
                tasks=[TaskState(execution_name, i, now) for i in range(plan.task_count)],
                update_time=now,
                seq=next(self._seq),
            )
            self._executions[execution_name.full] = execution
            job.add_execution(execution)
            self._store.write(job.put(), execution.put(), *(task.put() for task in execution.tasks))
            self._supervisors.start(execution)
            return self._operations.add(
                Operation(
                    new_operation_name(name.parent),
                    execution=execution,
                    fails_with_execution=True,
                )
            )

    # ------------------------------------------------------------------------ executions

    def get_execution(self, request: run_v2.GetExecutionRequest) -> run_v2.Execution:
        """GetExecution."""
        self._faults.check_rpc(RUN_JOBS, "GetExecution", job=_job_of(request.name))
        with self._lock:
            return self._execution(parse_execution_name(request.name)).to_proto()

    def list_executions(
        self, request: run_v2.ListExecutionsRequest
    ) -> run_v2.ListExecutionsResponse:
        """ListExecutions of a job, newest first."""
        self._faults.check_rpc(RUN_JOBS, "ListExecutions", job=_job_of(request.parent))
        name = parse_job_name(request.parent)
        with self._lock:
            self._job(name)
            executions = self._executions_of(name.full)
            page, token = _page(executions, _newest_first, request.page_size, request.page_token)
            return run_v2.ListExecutionsResponse(
                executions=[e.to_proto() for e in page], next_page_token=token
            )

    def delete_execution(self, request: run_v2.DeleteExecutionRequest) -> operations_pb2.Operation:
        """DeleteExecution: a running execution is cancelled (its processes stopped) and goes."""
        self._faults.check_rpc(RUN_JOBS, "DeleteExecution", job=_job_of(request.name))
        _refuse_validate_only(request)
        name = parse_execution_name(request.name)
        with self._lock:
            execution = self._execution(name)
            self._forget_execution(execution)
            self._store.write(
                Delete(EXECUTION_KIND, name.full), DeletePrefix(TASK_KIND, name.full + "/tasks/")
            )
            proto = execution.to_proto()
            proto.delete_time = self._clock.now()
            return self._operations.add(Operation(new_operation_name(name.job.parent), proto))

    def cancel_execution(self, request: run_v2.CancelExecutionRequest) -> operations_pb2.Operation:
        """CancelExecution: pending tasks never start; running attempts get SIGTERM, then
        SIGKILL after the kill grace (R9). The operation is done once every process is gone.

        FAILED_PRECONDITION if the execution has already finished.
        """
        self._faults.check_rpc(RUN_JOBS, "CancelExecution", job=_job_of(request.name))
        _refuse_validate_only(request)
        name = parse_execution_name(request.name)
        with self._lock:
            execution = self._execution(name)
            if execution.terminal:
                raise FailedPrecondition(
                    f"Execution {name.execution_id} has already finished "
                    f"({execution.status.value.lower()}); it cannot be cancelled."
                )
            self._supervisors.cancel(name.full)
            return self._operations.add(
                Operation(new_operation_name(name.job.parent), execution=execution)
            )

    # ----------------------------------------------------------------------------- tasks

    def get_task(self, request: run_v2.GetTaskRequest) -> run_v2.Task:
        """GetTask."""
        self._faults.check_rpc(RUN_JOBS, "GetTask", job=_job_of(request.name))
        execution_name, task_id = parse_task_name(request.name)
        with self._lock:
            execution = self._execution(execution_name)
            task = next((t for t in execution.tasks if t.task_id == task_id), None)
            if task is None:
                job = execution_name.job
                raise not_found("TASK", task_id, job.project, job.location)
            return task.to_proto(execution)

    def list_tasks(self, request: run_v2.ListTasksRequest) -> run_v2.ListTasksResponse:
        """ListTasks of an execution, by index."""
        self._faults.check_rpc(RUN_JOBS, "ListTasks", job=_job_of(request.parent))
        name = parse_execution_name(request.parent)
        with self._lock:
            execution = self._execution(name)
            page, token = _page(
                execution.tasks, lambda t: f"{t.index:06d}", request.page_size, request.page_token
            )
            return run_v2.ListTasksResponse(
                tasks=[t.to_proto(execution) for t in page], next_page_token=token
            )

    # ------------------------------------------------------------------------ operations

    def get_operation(
        self, request: operations_pb2.GetOperationRequest
    ) -> operations_pb2.Operation:
        """google.longrunning.Operations/GetOperation (R8)."""
        name = parse_operation_name(request.name)
        with self._lock:
            return self._operations.get(name)

    # ------------------------------------------------------------------------ in process

    def wait_for_execution(self, name: str, timeout: float | None = None) -> run_v2.Execution:
        """Block until execution ``name`` has finished; return it (TimeoutError if it has not
        within ``timeout`` seconds, NOT_FOUND if there is no such execution)."""
        execution_name = parse_execution_name(name)
        deadline = None if timeout is None else time.monotonic() + timeout
        with self._lock:
            execution = self._execution(execution_name)
            while not execution.terminal:
                remaining = None if deadline is None else deadline - time.monotonic()
                if remaining is not None and remaining <= 0:
                    raise TimeoutError(f"Execution {name} is still running after {timeout}s.")
                self._changed.wait(remaining)
            return execution.to_proto()

    def job_snapshots(self) -> list[JobSnapshot]:
        """Copies of every job, by name, each with its latest execution (read under the lock)."""
        with self._lock:
            snapshots = []
            for job in sorted((j.job for j in self._jobs.values()), key=lambda j: j.name):
                latest = self._executions.get(job.latest_created_execution.name)
                snapshots.append(
                    JobSnapshot(run_v2.Job(job), _snapshot(latest) if latest else None)
                )
            return snapshots

    def execution_snapshots(self, job: str) -> list[ExecutionState]:
        """Copies of a job's executions, newest first; NOT_FOUND if the job does not exist."""
        name = parse_job_name(job)
        with self._lock:
            self._job(name)
            return [_snapshot(e) for e in self._executions_of(name.full)]

    # ------------------------------------------------------------------------- internals

    def _execution_changed(self, execution: ExecutionState, task: TaskState | None) -> None:
        """Write an execution's change through to the store; the job's reference follows."""
        if execution.deleted:
            return
        changes: list[Change] = [execution.put()]
        if task is not None:
            changes.append(task.put())
        job = self._jobs.get(execution.name.job.full)
        if job is not None and job.follow(execution):
            changes.append(job.put())
        self._store.write(*changes)
        self._changed.notify_all()

    def _forget_execution(self, execution: ExecutionState) -> None:
        """Remove an execution (under the lock); a running one is cancelled and not recorded."""
        execution.deleted = True
        del self._executions[execution.name.full]
        self._supervisors.cancel(execution.name.full)

    def _new_job(self, name: JobName, spec: run_v2.Job) -> JobState:
        """Create job ``name`` from the user's fields of ``spec`` (under the lock)."""
        if spec.start_execution_token or spec.run_execution_token:
            raise MethodNotImplemented(
                "start_execution_token and run_execution_token are not supported by the "
                "emulator; call RunJob."
            )
        template = self._complete_template(spec.template)
        job = JobState.create(name, spec, template, self._clock.now())
        self._jobs[name.full] = job
        self._store.write(job.put())
        return job

    def _complete_template(self, template: run_v2.ExecutionTemplate) -> run_v2.ExecutionTemplate:
        return complete_job_template(template, default_command=self.default_job_command)

    def _register_default_job(self, name: JobName) -> JobState:
        """RunJob on an unknown job: register it with the default command, or NOT_FOUND."""
        known_parent = self._default_parents is None or name.parent in self._default_parents
        known_parent = known_parent or any(
            j.name.parent == name.parent for j in self._jobs.values()
        )
        if not self.default_job_command or not known_parent:
            raise self._job_not_found(name)
        container = run_v2.Container(name=DEFAULT_JOB_CONTAINER)
        spec = run_v2.Job(
            template=run_v2.ExecutionTemplate(template=run_v2.TaskTemplate(containers=[container]))
        )
        job = self._new_job(name, spec)
        logger.info(
            "RunJob on unknown job %s: registered it with the default command %s "
            "(task_count=1, max_retries=%d, timeout=%gs).",
            name.full,
            " ".join(self.default_job_command),
            job.job.template.template.max_retries,
            job.job.template.template.timeout.total_seconds(),
        )
        return job

    def _unused_execution_name(self, job: JobName) -> ExecutionName:
        while True:
            name = ExecutionName(job, new_execution_id(job.job_id))
            if name.full not in self._executions:
                return name

    def _job(self, name: JobName) -> JobState:
        job = self._jobs.get(name.full)
        if job is None:
            raise self._job_not_found(name)
        return job

    def _job_not_found(self, name: JobName) -> Exception:
        return not_found("JOB", name.job_id, name.project, name.location)

    def _execution(self, name: ExecutionName) -> ExecutionState:
        execution = self._executions.get(name.full)
        if execution is None:
            raise not_found("EXECUTION", name.execution_id, name.job.project, name.job.location)
        return execution

    def _executions_of(self, job: str) -> list[ExecutionState]:
        executions = [e for e in self._executions.values() if e.name.job.full == job]
        return sorted(executions, key=_newest_first)

    def _load(self) -> None:
        """Rebuild jobs and executions from the store (under the lock).

        Executions that were running are recorded as failed (interrupted), and what is left of
        their process trees (an emulator killed with ``kill -9``) is killed.
        """
        self._operations.clear()
        self._supervisors.forget_all()
        self._jobs = {
            key: JobState.from_record(record.value)
            for key, record in self._store.records(JOB_KIND).items()
        }
        tasks: dict[str, list[TaskState]] = {}
        for record in self._store.records(TASK_KIND).values():
            task = TaskState.from_record(record.value)
            tasks.setdefault(task.execution.full, []).append(task)
        self._executions = {}
        self._seq = itertools.count(1)
        changes: list[Change] = []
        for key, record in self._store.records(EXECUTION_KIND).items():
            execution = ExecutionState.from_record(record.value, tasks.get(key, []))
            if execution.name.job.full not in self._jobs:
                continue
            self._executions[key] = execution
            self._seq = itertools.count(max(execution.seq + 1, next(self._seq)))
            if not execution.terminal:
                job = self._jobs[execution.name.job.full]
                changes += record_interrupted(execution, job, self._clock.now())
        if changes:
            self._store.write(*changes)


@atexit.register
def _kill_everything_at_exit() -> None:
    """Interpreter exit: no process tree outlives the emulator, even without ``close()``."""
    for engine in list(_live_engines):
        engine.close(grace=0.0)


def _refuse_validate_only(request: Any) -> None:
    if request.validate_only:
        raise MethodNotImplemented("validate_only is not supported by the emulator.")


def _job_of(resource: str | None) -> str | None:
    """The job a resource name is of (what RPC fault rules match), if any."""
    if resource and "/jobs/" in resource:
        return resource.split("/executions/", 1)[0]
    return None


def _snapshot(execution: ExecutionState) -> ExecutionState:
    """A copy of ``execution`` that later changes do not reach (its tasks and attempts copied)."""
    tasks = [replace(t, attempts=[replace(a) for a in t.attempts]) for t in execution.tasks]
    return replace(execution, tasks=tasks)


def _newest_first(execution: ExecutionState) -> str:
    """A sort key (and page token key) that lists a job's executions newest first."""
    return f"{_MAX_SEQ - execution.seq:020d}"


_MAX_SEQ = 10**19


def _page[T](
    items: list[T], key: Callable[[T], str], page_size: int, page_token: str
) -> tuple[list[T], str]:
    """One page of ``items`` (sorted by ``key``) and the next page token."""
    size = paging.page_size(page_size, MAX_PAGE_SIZE)
    return paging.paginate(items, key, paging.decode_page_token(page_token), size)
