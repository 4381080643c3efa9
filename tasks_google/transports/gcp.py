"""The `gcp` transport: Google's official Cloud Tasks client."""

import contextlib
import threading
import time
from typing import Any

from google.api_core import exceptions as api_exceptions
from google.cloud import tasks_v2
from google.protobuf import timestamp_pb2

from tasks_google.transports import CloudTaskSpec, RetryPolicy

#: How long a queue's retry config is trusted before it is read again.
RETRY_POLICY_TTL_SECONDS = 300.0


class GcpTransport:
    """Talks to Cloud Tasks with application default credentials; the client is made lazily."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._client: tasks_v2.CloudTasksClient | None = None
        self._policies: dict[str, tuple[float, RetryPolicy]] = {}

    @property
    def client(self) -> tasks_v2.CloudTasksClient:
        with self._lock:
            if self._client is None:
                self._client = tasks_v2.CloudTasksClient()
            return self._client

    def create_task(self, spec: CloudTaskSpec) -> str:
        http_request: dict[str, Any] = {
            "url": spec.url,
            "http_method": tasks_v2.HttpMethod.POST,
            "headers": spec.headers,
            "body": spec.body,
        }
        if spec.oidc_service_account:
            http_request["oidc_token"] = {
                "service_account_email": spec.oidc_service_account,
                "audience": spec.oidc_audience or "",
            }
        task: dict[str, Any] = {"name": spec.task_name, "http_request": http_request}
        if spec.schedule_time is not None:
            stamp = timestamp_pb2.Timestamp()
            stamp.FromDatetime(spec.schedule_time)
            task["schedule_time"] = stamp
        try:
            return self.client.create_task(parent=spec.queue_path, task=task).name
        except api_exceptions.AlreadyExists:
            # The name is derived from the execution id: the task was created before.
            return spec.task_name

    def delete_task(self, name: str) -> None:
        with contextlib.suppress(api_exceptions.NotFound):
            self.client.delete_task(name=name)

    def retry_policy(self, queue_path: str) -> RetryPolicy:
        cached = self._policies.get(queue_path)
        if cached and time.monotonic() - cached[0] < RETRY_POLICY_TTL_SECONDS:
            return cached[1]
        config = self.client.get_queue(name=queue_path).retry_config
        policy = RetryPolicy(
            max_attempts=config.max_attempts, max_retry_duration=config.max_retry_duration
        )
        self._policies[queue_path] = (time.monotonic(), policy)
        return policy
