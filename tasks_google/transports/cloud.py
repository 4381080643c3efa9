"""The transport's behaviour, written once over a channel to the Google services.

A channel carries request messages to a service and brings the answers back: the official
clients (`gcp.GrpcChannel`, to Google or an emulator server) or the in-process emulator's engines
(`inprocess.EngineChannel`), which take the same messages. What is decided here holds for both:
what already exists counts as done, what is already gone counts as done, an emulator's missing
queue or job is created (on Google they are infrastructure, never created behind your back),
scheduler jobs are upserted and paused to match, retry limits are cached.
"""

import contextlib
import enum
import logging
import time
from collections.abc import Callable
from typing import Any, Protocol, TypeVar

from google.api_core import exceptions as api_exceptions
from google.cloud import run_v2, scheduler_v1, tasks_v2
from google.iam.v1 import iam_policy_pb2
from google.protobuf import field_mask_pb2

from tasks_google.config.queue_config import QueueSettings
from tasks_google.transports import (
    CloudTaskSpec,
    ExecutionEnd,
    JobRunSpec,
    RetryPolicy,
    SchedulerJobSpec,
)
from tasks_google.transports.messages import task_message
from tasks_google.transports.queue_messages import queue_message, update_mask_paths
from tasks_google.transports.run_messages import (
    create_job_request,
    execution_end,
    run_job_request,
)
from tasks_google.transports.scheduler_messages import job_message, update_request

logger = logging.getLogger(__name__)

#: How long a queue's retry config (or a job's max_retries) is trusted before it is read again.
RETRY_POLICY_TTL_SECONDS = 60.0

T = TypeVar("T")


class Service(enum.Enum):
    """The Google API services a transport calls (one official client each)."""

    CLOUD_TASKS = "tasks"
    SCHEDULER = "scheduler"
    RUN_JOBS = "jobs"
    RUN_EXECUTIONS = "executions"
    RUN_TASKS = "run_tasks"


class Channel(Protocol):
    """Carries one request message to a service method of the same name as Google's API."""

    def call(self, service: Service, method: str, request: Any) -> Any:
        """The answer of `service.method(request)`; Google's exceptions on errors."""

    def list(self, service: Service, method: str, request: Any, field: str, limit: int) -> list:
        """The items (`field` of each page) of a paged List call, at most `limit` (0: all)."""

    def execution_name(self, operation: Any) -> str:
        """The execution's resource name in the operation a RunJob call answers."""


class _Expiring(dict[str, tuple[float, Any]]):
    """Values read from the services, trusted for RETRY_POLICY_TTL_SECONDS."""

    def get_or_read(self, key: str, read: Callable[[], T]) -> T:
        cached = self.get(key)
        if cached and time.monotonic() - cached[0] < RETRY_POLICY_TTL_SECONDS:
            return cached[1]
        value = read()
        self[key] = (time.monotonic(), value)
        return value


class CloudTransport:
    """The Cloud Tasks, Run Jobs and Scheduler ports over one channel.

    `emulated`: the channel reaches an emulator, where missing queues and jobs are created.
    """

    def __init__(self, channel: Channel, *, emulated: bool) -> None:
        self.channel = channel
        self.emulated = emulated
        self._policies = _Expiring()
        self._max_retries = _Expiring()

    def _tasks(self, method: str, request: Any) -> Any:
        return self.channel.call(Service.CLOUD_TASKS, method, request)

    # Cloud Tasks

    def create_task(self, spec: CloudTaskSpec) -> str:
        request = tasks_v2.CreateTaskRequest(parent=spec.queue_path, task=task_message(spec))
        try:
            return self._tasks("create_task", request).name
        except api_exceptions.AlreadyExists:
            return spec.task_name
        except api_exceptions.NotFound:
            if not self.emulated:
                raise  # queues on Google are infrastructure: never created behind your back
            self._create_queue(spec.queue_path)
            return self._tasks("create_task", request).name

    def delete_task(self, name: str) -> None:
        with contextlib.suppress(api_exceptions.NotFound):
            self._tasks("delete_task", tasks_v2.DeleteTaskRequest(name=name))

    def task_exists(self, name: str) -> bool:
        try:
            self._tasks("get_task", tasks_v2.GetTaskRequest(name=name))
        except api_exceptions.NotFound:
            return False
        return True

    def retry_policy(self, queue_path: str) -> RetryPolicy:
        return self._policies.get_or_read(queue_path, lambda: self._read_policy(queue_path))

    def _read_policy(self, queue_path: str) -> RetryPolicy:
        try:
            queue = self._tasks("get_queue", tasks_v2.GetQueueRequest(name=queue_path))
        except api_exceptions.NotFound:
            if not self.emulated:
                raise
            queue = self._create_queue(queue_path)
        config = queue.retry_config
        return RetryPolicy(
            max_attempts=config.max_attempts, max_retry_duration=config.max_retry_duration
        )

    def _create_queue(self, queue_path: str) -> tasks_v2.Queue:
        logger.info("Creating missing emulator queue %s with default settings", queue_path)
        parent = queue_path.rsplit("/queues/", 1)[0]
        request = tasks_v2.CreateQueueRequest(parent=parent, queue=tasks_v2.Queue(name=queue_path))
        try:
            return self._tasks("create_queue", request)
        except api_exceptions.AlreadyExists:
            return self._tasks("get_queue", tasks_v2.GetQueueRequest(name=queue_path))

    def get_queue_state(self, queue_path: str) -> str:
        return self._tasks("get_queue", tasks_v2.GetQueueRequest(name=queue_path)).state.name

    def pause_queue(self, queue_path: str) -> str:
        return self._tasks("pause_queue", tasks_v2.PauseQueueRequest(name=queue_path)).state.name

    def resume_queue(self, queue_path: str) -> str:
        request = tasks_v2.ResumeQueueRequest(name=queue_path)
        return self._tasks("resume_queue", request).state.name

    def purge_queue(self, queue_path: str) -> str:
        return self._tasks("purge_queue", tasks_v2.PurgeQueueRequest(name=queue_path)).state.name

    def list_queues(self, parent: str) -> list[tasks_v2.Queue]:
        request = tasks_v2.ListQueuesRequest(parent=parent)
        return self.channel.list(Service.CLOUD_TASKS, "list_queues", request, "queues", 0)

    def get_queue(self, queue_path: str) -> tasks_v2.Queue:
        return self._tasks("get_queue", tasks_v2.GetQueueRequest(name=queue_path))

    def create_queue(self, queue_path: str, settings: QueueSettings) -> tasks_v2.Queue:
        parent = queue_path.rsplit("/queues/", 1)[0]
        queue = queue_message(queue_path, settings)
        queue = self._tasks("create_queue", tasks_v2.CreateQueueRequest(parent=parent, queue=queue))
        self._policies.pop(queue_path, None)
        return queue

    def update_queue(self, queue_path: str, settings: QueueSettings) -> tasks_v2.Queue:
        request = tasks_v2.UpdateQueueRequest(
            queue=queue_message(queue_path, settings),
            update_mask=field_mask_pb2.FieldMask(paths=update_mask_paths(settings)),
        )
        queue = self._tasks("update_queue", request)
        self._policies.pop(queue_path, None)
        return queue

    def queue_permissions(self, queue_path: str, permissions: list[str]) -> list[str]:
        return self._held_permissions(Service.CLOUD_TASKS, queue_path, permissions)

    def _held_permissions(self, service: Service, resource: str, permissions: list[str]) -> list:
        request = iam_policy_pb2.TestIamPermissionsRequest(
            resource=resource, permissions=permissions
        )
        return list(self.channel.call(service, "test_iam_permissions", request).permissions)

    # Cloud Run Jobs

    def run_job(self, spec: JobRunSpec) -> str:
        request = run_job_request(spec, self._max_retries_to_pass(spec))
        try:
            operation = self.channel.call(Service.RUN_JOBS, "run_job", request)
        except api_exceptions.NotFound:
            if not self.emulated or not spec.command:
                raise
            # The emulator lost the job since it was read (a reset): create it again.
            self._max_retries.pop(spec.job_path, None)
            request = run_job_request(spec, self._max_retries_to_pass(spec))
            operation = self.channel.call(Service.RUN_JOBS, "run_job", request)
        return self.channel.execution_name(operation)

    def _max_retries_to_pass(self, spec: JobRunSpec) -> int | None:
        """The job's max_retries for the attempts to know which one is the last; None (with a
        warning) if the job cannot be read. A missing emulator job is created first."""
        try:
            return self.job_max_retries(spec.job_path)
        except api_exceptions.NotFound:
            if not self.emulated or not spec.command:
                raise  # jobs on Google are infrastructure: never created behind your back
            logger.info("Creating missing emulator job %s running %s", spec.job_path, spec.command)
            with contextlib.suppress(api_exceptions.AlreadyExists):
                self.channel.call(Service.RUN_JOBS, "create_job", create_job_request(spec))
            return self.job_max_retries(spec.job_path)
        except api_exceptions.GoogleAPICallError as exc:
            logger.warning(
                "Cannot read job %s (%s); its attempts will ask for its max_retries themselves. "
                "Grant run.jobs.get to the enqueuing service account.",
                spec.job_path,
                exc,
            )
            return None

    def job_max_retries(self, job_path: str) -> int:
        return self._max_retries.get_or_read(job_path, lambda: self._read_max_retries(job_path))

    def job_exists(self, job_path: str) -> bool:
        try:
            self.channel.call(Service.RUN_JOBS, "get_job", run_v2.GetJobRequest(name=job_path))
        except api_exceptions.NotFound:
            return False
        return True

    def job_permissions(self, job_path: str, permissions: list[str]) -> list[str]:
        return self._held_permissions(Service.RUN_JOBS, job_path, permissions)

    def _read_max_retries(self, job_path: str) -> int:
        job = self.channel.call(Service.RUN_JOBS, "get_job", run_v2.GetJobRequest(name=job_path))
        return job.template.template.max_retries

    def list_run_jobs(self, parent: str) -> list[run_v2.Job]:
        request = run_v2.ListJobsRequest(parent=parent)
        return self.channel.list(Service.RUN_JOBS, "list_jobs", request, "jobs", 0)

    def list_run_executions(self, job_path: str, limit: int) -> list[run_v2.Execution]:
        request = run_v2.ListExecutionsRequest(parent=job_path, page_size=limit)
        return self.channel.list(
            Service.RUN_EXECUTIONS, "list_executions", request, "executions", limit
        )

    def list_run_tasks(self, execution_path: str) -> list[run_v2.Task]:
        request = run_v2.ListTasksRequest(parent=execution_path)
        return self.channel.list(Service.RUN_TASKS, "list_tasks", request, "tasks", 0)

    def cancel_execution(self, name: str) -> None:
        request = run_v2.CancelExecutionRequest(name=name)
        # NotFound: gone; FailedPrecondition: already finished.
        with contextlib.suppress(api_exceptions.NotFound, api_exceptions.FailedPrecondition):
            self.channel.call(Service.RUN_EXECUTIONS, "cancel_execution", request)

    def execution_end(self, name: str) -> ExecutionEnd | None:
        request = run_v2.GetExecutionRequest(name=name)
        try:
            execution = self.channel.call(Service.RUN_EXECUTIONS, "get_execution", request)
        except api_exceptions.NotFound:
            return ExecutionEnd("GONE")
        return execution_end(execution)

    # Cloud Scheduler

    def _scheduler(self, method: str, request: Any) -> Any:
        return self.channel.call(Service.SCHEDULER, method, request)

    def upsert_scheduler_job(self, spec: SchedulerJobSpec) -> str:
        try:
            job = self._scheduler("update_job", update_request(spec))
        except api_exceptions.NotFound:
            parent = spec.name.rsplit("/jobs/", 1)[0]
            request = scheduler_v1.CreateJobRequest(parent=parent, job=job_message(spec))
            job = self._scheduler("create_job", request)
        paused = job.state == scheduler_v1.Job.State.PAUSED
        if spec.enabled and paused:
            self.resume_scheduler_job(spec.name)
        elif not spec.enabled and not paused:
            self.pause_scheduler_job(spec.name)
        return job.name

    def delete_scheduler_job(self, name: str) -> None:
        with contextlib.suppress(api_exceptions.NotFound):
            self._scheduler("delete_job", scheduler_v1.DeleteJobRequest(name=name))

    def run_scheduler_job(self, name: str) -> None:
        self._scheduler("run_job", scheduler_v1.RunJobRequest(name=name))

    def list_scheduler_jobs(self, parent: str) -> list[scheduler_v1.Job]:
        request = scheduler_v1.ListJobsRequest(parent=parent)
        return self.channel.list(Service.SCHEDULER, "list_jobs", request, "jobs", 0)

    def pause_scheduler_job(self, name: str) -> None:
        self._scheduler("pause_job", scheduler_v1.PauseJobRequest(name=name))

    def resume_scheduler_job(self, name: str) -> None:
        self._scheduler("resume_job", scheduler_v1.ResumeJobRequest(name=name))
