"""The `gcp` transport: Google's official Cloud Tasks client, against Google or the emulator.

With an emulator host (OPTIONS["emulator_host"] or CLOUD_TASKS_EMULATOR_HOST) the client talks
to it over an insecure gRPC channel, without credentials or retries: an emulator that is down is
reported at once (EmulatorUnavailableError, naming its host) instead of hanging in the client's
retry loop. An UNAVAILABLE or DEADLINE_EXCEEDED that an emulator fault rule injects is not an
emulator that is down: the caller gets Google's error, as it would from Google.
"""

import contextlib
import itertools
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import grpc
from google.api_core import exceptions as api_exceptions
from google.cloud import run_v2, scheduler_v1, tasks_v2
from google.cloud.run_v2.services.executions.transports import ExecutionsGrpcTransport
from google.cloud.run_v2.services.jobs.transports import JobsGrpcTransport
from google.cloud.run_v2.services.tasks.transports import TasksGrpcTransport
from google.cloud.scheduler_v1.services.cloud_scheduler.transports import (
    CloudSchedulerGrpcTransport,
)
from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport

from tasks_google.transports import (
    CloudTaskSpec,
    ExecutionEnd,
    JobRunSpec,
    RetryPolicy,
    SchedulerJobSpec,
)
from tasks_google.transports.messages import task_message
from tasks_google.transports.run_messages import (
    create_job_request,
    execution_end,
    run_job_request,
)
from tasks_google.transports.scheduler_messages import job_message, update_request
from tasks_google.transports.unreachable_emulator import emulator_unavailable

logger = logging.getLogger(__name__)

#: How long a queue's retry config (or a job's max_retries) is trusted before it is read again.
RETRY_POLICY_TTL_SECONDS = 60.0
#: Per-call timeout against the emulator (it answers in milliseconds when it is up).
EMULATOR_CALL_TIMEOUT_SECONDS = 10.0
#: What the message of every error an emulator fault rule injects holds (the emulator's
#: `emulator.faults.INJECTED_FAULT_MARKER`, not imported: that would load the whole emulator).
INJECTED_FAULT_MARKER = "Injected fault"


class GcpTransport:
    """One official client per process and target; created on first use."""

    def __init__(self, emulator_host: str | None = None) -> None:
        self.emulator_host = emulator_host
        self._lock = threading.Lock()
        self._clients: dict[type, Any] = {}
        self._policies: dict[str, tuple[float, RetryPolicy]] = {}
        self._max_retries: dict[str, tuple[float, int]] = {}

    def _client(self, client_class: type, grpc_transport_class: type) -> Any:
        with self._lock:
            if client_class not in self._clients:
                if self.emulator_host:
                    # Own subchannels: an emulator restarted on the same port is reached
                    # at once, not through a shared subchannel still backing off.
                    channel = grpc.insecure_channel(
                        self.emulator_host, options=[("grpc.use_local_subchannel_pool", 1)]
                    )
                    client = client_class(transport=grpc_transport_class(channel=channel))
                else:
                    client = client_class()
                self._clients[client_class] = client
            return self._clients[client_class]

    @property
    def client(self) -> tasks_v2.CloudTasksClient:
        return self._client(tasks_v2.CloudTasksClient, CloudTasksGrpcTransport)

    @property
    def scheduler_client(self) -> scheduler_v1.CloudSchedulerClient:
        return self._client(scheduler_v1.CloudSchedulerClient, CloudSchedulerGrpcTransport)

    @property
    def jobs_client(self) -> run_v2.JobsClient:
        return self._client(run_v2.JobsClient, JobsGrpcTransport)

    @property
    def executions_client(self) -> run_v2.ExecutionsClient:
        return self._client(run_v2.ExecutionsClient, ExecutionsGrpcTransport)

    @property
    def run_tasks_client(self) -> run_v2.TasksClient:
        return self._client(run_v2.TasksClient, TasksGrpcTransport)

    def _call(self, method: Callable[..., Any], **kwargs: Any) -> Any:
        if not self.emulator_host:
            return method(**kwargs)
        try:
            return method(**kwargs, retry=None, timeout=EMULATOR_CALL_TIMEOUT_SECONDS)
        except (api_exceptions.ServiceUnavailable, api_exceptions.DeadlineExceeded) as exc:
            if INJECTED_FAULT_MARKER in exc.message:
                # The emulator answered, with what Google would answer: the caller gets
                # Google's error, which says where it comes from.
                exc.message += f" (a fault rule of the emulator at {self.emulator_host})"
                raise
            raise emulator_unavailable(self.emulator_host, str(exc)) from exc

    def create_task(self, spec: CloudTaskSpec) -> str:
        request = tasks_v2.CreateTaskRequest(parent=spec.queue_path, task=task_message(spec))
        try:
            return self._call(self.client.create_task, request=request).name
        except api_exceptions.AlreadyExists:
            # The name is derived from the execution id: this task was created before.
            return spec.task_name
        except api_exceptions.NotFound:
            if not self.emulator_host:
                raise  # queues on Google are infrastructure: never created behind your back
            logger.info("Creating missing emulator queue %s with default settings", spec.queue_path)
            self._create_queue(spec.queue_path)
            return self._call(self.client.create_task, request=request).name

    def delete_task(self, name: str) -> None:
        with contextlib.suppress(api_exceptions.NotFound):
            self._call(self.client.delete_task, name=name)

    def task_exists(self, name: str) -> bool:
        try:
            self._call(self.client.get_task, name=name)
        except api_exceptions.NotFound:
            return False
        return True

    def retry_policy(self, queue_path: str) -> RetryPolicy:
        cached = self._policies.get(queue_path)
        if cached and time.monotonic() - cached[0] < RETRY_POLICY_TTL_SECONDS:
            return cached[1]
        config = self._call(self.client.get_queue, name=queue_path).retry_config
        policy = RetryPolicy(
            max_attempts=config.max_attempts, max_retry_duration=config.max_retry_duration
        )
        self._policies[queue_path] = (time.monotonic(), policy)
        return policy

    def get_queue_state(self, queue_path: str) -> str:
        return self._call(self.client.get_queue, name=queue_path).state.name

    def pause_queue(self, queue_path: str) -> str:
        return self._call(self.client.pause_queue, name=queue_path).state.name

    def resume_queue(self, queue_path: str) -> str:
        return self._call(self.client.resume_queue, name=queue_path).state.name

    def purge_queue(self, queue_path: str) -> str:
        return self._call(self.client.purge_queue, name=queue_path).state.name

    def list_queues(self, parent: str) -> list[tasks_v2.Queue]:
        return list(self._call(self.client.list_queues, parent=parent))

    def _create_queue(self, queue_path: str) -> None:
        parent = queue_path.rsplit("/queues/", 1)[0]
        with contextlib.suppress(api_exceptions.AlreadyExists):
            self._call(self.client.create_queue, parent=parent, queue={"name": queue_path})

    def run_job(self, spec: JobRunSpec) -> str:
        request = run_job_request(spec, self._max_retries_to_pass(spec))
        try:
            operation = self._call(self.jobs_client.run_job, request=request)
        except api_exceptions.NotFound:
            if not self.emulator_host or not spec.command:
                raise
            # The emulator lost the job since it was read (a reset): create it again.
            self._max_retries.pop(spec.job_path, None)
            request = run_job_request(spec, self._max_retries_to_pass(spec))
            operation = self._call(self.jobs_client.run_job, request=request)
        return operation.metadata.name

    def _max_retries_to_pass(self, spec: JobRunSpec) -> int | None:
        """The job's max_retries for the attempts to know which one is the last; None (with a
        warning) if the job cannot be read. A missing emulator job is created first."""
        try:
            return self.job_max_retries(spec.job_path)
        except api_exceptions.NotFound:
            if not self.emulator_host or not spec.command:
                raise  # jobs on Google are infrastructure: never created behind your back
            logger.info("Creating missing emulator job %s running %s", spec.job_path, spec.command)
            with contextlib.suppress(api_exceptions.AlreadyExists):
                self._call(self.jobs_client.create_job, request=create_job_request(spec))
            return self.job_max_retries(spec.job_path)
        except api_exceptions.GoogleAPICallError as exc:
            logger.warning(
                "Cannot read job %s (%s); its attempts will ask for its max_retries themselves. "
                "Grant run.jobs.get to the enqueuing service account.",
                spec.job_path,
                exc,
            )
            return None

    def list_run_jobs(self, parent: str) -> list[run_v2.Job]:
        return list(self._call(self.jobs_client.list_jobs, parent=parent))

    def list_run_executions(self, job_path: str, limit: int) -> list[run_v2.Execution]:
        request = run_v2.ListExecutionsRequest(parent=job_path, page_size=limit)
        pages = self._call(self.executions_client.list_executions, request=request)
        return list(itertools.islice(pages, limit))

    def list_run_tasks(self, execution_path: str) -> list[run_v2.Task]:
        return list(self._call(self.run_tasks_client.list_tasks, parent=execution_path))

    def cancel_execution(self, name: str) -> None:
        # NotFound: gone; FailedPrecondition: already finished.
        with contextlib.suppress(api_exceptions.NotFound, api_exceptions.FailedPrecondition):
            self._call(self.executions_client.cancel_execution, name=name)

    def execution_end(self, name: str) -> ExecutionEnd | None:
        try:
            execution = self._call(self.executions_client.get_execution, name=name)
        except api_exceptions.NotFound:
            return ExecutionEnd("GONE")
        return execution_end(execution)

    def job_max_retries(self, job_path: str) -> int:
        cached = self._max_retries.get(job_path)
        if cached and time.monotonic() - cached[0] < RETRY_POLICY_TTL_SECONDS:
            return cached[1]
        job = self._call(self.jobs_client.get_job, name=job_path)
        retries = job.template.template.max_retries
        self._max_retries[job_path] = (time.monotonic(), retries)
        return retries

    def upsert_scheduler_job(self, spec: SchedulerJobSpec) -> str:
        client = self.scheduler_client
        try:
            job = self._call(client.update_job, request=update_request(spec))
        except api_exceptions.NotFound:
            parent = spec.name.rsplit("/jobs/", 1)[0]
            job = self._call(client.create_job, parent=parent, job=job_message(spec))
        paused = job.state == scheduler_v1.Job.State.PAUSED
        if spec.enabled and paused:
            self._call(client.resume_job, name=spec.name)
        elif not spec.enabled and not paused:
            self._call(client.pause_job, name=spec.name)
        return job.name

    def delete_scheduler_job(self, name: str) -> None:
        with contextlib.suppress(api_exceptions.NotFound):
            self._call(self.scheduler_client.delete_job, name=name)

    def run_scheduler_job(self, name: str) -> None:
        self._call(self.scheduler_client.run_job, name=name)

    def list_scheduler_jobs(self, parent: str) -> list[scheduler_v1.Job]:
        return list(self._call(self.scheduler_client.list_jobs, parent=parent))

    def pause_scheduler_job(self, name: str) -> None:
        self._call(self.scheduler_client.pause_job, name=name)

    def resume_scheduler_job(self, name: str) -> None:
        self._call(self.scheduler_client.resume_job, name=name)
