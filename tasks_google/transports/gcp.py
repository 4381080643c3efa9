"""The `gcp` channel: Google's official clients, against Google or an emulator server.

With an emulator host (OPTIONS["emulator_host"] or CLOUD_TASKS_EMULATOR_HOST) the client talks
to it over an insecure gRPC channel, without credentials or retries: an emulator that is down is
reported at once (EmulatorUnavailableError, naming its host) instead of hanging in the client's
retry loop. An UNAVAILABLE or DEADLINE_EXCEEDED that an emulator fault rule injects is not an
emulator that is down: the caller gets Google's error, as it would from Google.
"""

import itertools
import threading
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

from tasks_google.transports.cloud import CloudTransport, Service
from tasks_google.transports.unreachable_emulator import emulator_unavailable

#: Per-call timeout against the emulator (it answers in milliseconds when it is up).
EMULATOR_CALL_TIMEOUT_SECONDS = 10.0
#: What the message of every error an emulator fault rule injects holds (the emulator's
#: `emulator.kit.faults.INJECTED_FAULT_MARKER`, not imported: that would load the whole emulator).
INJECTED_FAULT_MARKER = "Injected fault"

#: The official client of each service, and its gRPC transport (for an emulator's channel).
CLIENTS: dict[Service, tuple[type, type]] = {
    Service.CLOUD_TASKS: (tasks_v2.CloudTasksClient, CloudTasksGrpcTransport),
    Service.SCHEDULER: (scheduler_v1.CloudSchedulerClient, CloudSchedulerGrpcTransport),
    Service.RUN_JOBS: (run_v2.JobsClient, JobsGrpcTransport),
    Service.RUN_EXECUTIONS: (run_v2.ExecutionsClient, ExecutionsGrpcTransport),
    Service.RUN_TASKS: (run_v2.TasksClient, TasksGrpcTransport),
}


def gcp_transport(emulator_host: str | None = None) -> CloudTransport:
    """The transport over the official clients: to Google, or to the emulator at `emulator_host`."""
    return CloudTransport(GrpcChannel(emulator_host), emulated=bool(emulator_host))


class GrpcChannel:
    """One official client per service, created on first use."""

    def __init__(self, emulator_host: str | None = None) -> None:
        self.emulator_host = emulator_host
        self._lock = threading.Lock()
        self._clients: dict[Service, Any] = {}

    def client(self, service: Service) -> Any:
        with self._lock:
            if service not in self._clients:
                client_class, grpc_transport_class = CLIENTS[service]
                if self.emulator_host:
                    # Own subchannels: an emulator restarted on the same port is reached
                    # at once, not through a shared subchannel still backing off.
                    channel = grpc.insecure_channel(
                        self.emulator_host, options=[("grpc.use_local_subchannel_pool", 1)]
                    )
                    client = client_class(transport=grpc_transport_class(channel=channel))
                else:
                    client = client_class()
                self._clients[service] = client
            return self._clients[service]

    def call(self, service: Service, method: str, request: Any) -> Any:
        call = getattr(self.client(service), method)
        if not self.emulator_host:
            return call(request=request)
        try:
            return call(request=request, retry=None, timeout=EMULATOR_CALL_TIMEOUT_SECONDS)
        except (api_exceptions.ServiceUnavailable, api_exceptions.DeadlineExceeded) as exc:
            if INJECTED_FAULT_MARKER in exc.message:
                # The emulator answered, with what Google would answer: the caller gets
                # Google's error, which says where it comes from.
                exc.message += f" (a fault rule of the emulator at {self.emulator_host})"
                raise
            raise emulator_unavailable(self.emulator_host, str(exc)) from exc

    def list(self, service: Service, method: str, request: Any, field: str, limit: int) -> list:
        pages = self.call(service, method, request)  # a pager: iterating it fetches the pages
        return list(itertools.islice(pages, limit) if limit else pages)

    def execution_name(self, operation: Any) -> str:
        return operation.metadata.name
