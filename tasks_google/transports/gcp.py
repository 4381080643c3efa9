"""The `gcp` transport: Google's official Cloud Tasks client, against Google or the emulator.

With an emulator host (OPTIONS["emulator_host"] or CLOUD_TASKS_EMULATOR_HOST) the client talks
to it over an insecure gRPC channel, without credentials or retries: an emulator that is down is
reported at once, naming its host, instead of hanging in the client's retry loop.
"""

import contextlib
import logging
import threading
import time
from collections.abc import Callable
from typing import Any

import grpc
from google.api_core import exceptions as api_exceptions
from google.cloud import tasks_v2
from google.cloud.tasks_v2.services.cloud_tasks.transports import CloudTasksGrpcTransport

from tasks_google.exceptions import EmulatorUnavailableError
from tasks_google.transports import CloudTaskSpec, RetryPolicy
from tasks_google.transports.messages import task_message

logger = logging.getLogger(__name__)

#: How long a queue's retry config is trusted before it is read again.
RETRY_POLICY_TTL_SECONDS = 60.0
#: Per-call timeout against the emulator (it answers in milliseconds when it is up).
EMULATOR_CALL_TIMEOUT_SECONDS = 10.0


class GcpTransport:
    """One official client per process and target; created on first use."""

    def __init__(self, emulator_host: str | None = None) -> None:
        self.emulator_host = emulator_host
        self._lock = threading.Lock()
        self._client: tasks_v2.CloudTasksClient | None = None
        self._policies: dict[str, tuple[float, RetryPolicy]] = {}

    @property
    def client(self) -> tasks_v2.CloudTasksClient:
        with self._lock:
            if self._client is None:
                if self.emulator_host:
                    channel = grpc.insecure_channel(self.emulator_host)
                    self._client = tasks_v2.CloudTasksClient(
                        transport=CloudTasksGrpcTransport(channel=channel)
                    )
                else:
                    self._client = tasks_v2.CloudTasksClient()
            return self._client

    def _call(self, method: Callable[..., Any], **kwargs: Any) -> Any:
        if not self.emulator_host:
            return method(**kwargs)
        try:
            return method(**kwargs, retry=None, timeout=EMULATOR_CALL_TIMEOUT_SECONDS)
        except (api_exceptions.ServiceUnavailable, api_exceptions.DeadlineExceeded) as exc:
            raise EmulatorUnavailableError(
                f"The Cloud Tasks emulator at {self.emulator_host} does not answer ({exc}). "
                "Start it (`uv run just dev` or `python -m emulator`), or unset "
                "CLOUD_TASKS_EMULATOR_HOST / OPTIONS['emulator_host'] to use Google."
            ) from exc

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

    def _create_queue(self, queue_path: str) -> None:
        parent = queue_path.rsplit("/queues/", 1)[0]
        with contextlib.suppress(api_exceptions.AlreadyExists):
            self._call(self.client.create_queue, parent=parent, queue={"name": queue_path})
