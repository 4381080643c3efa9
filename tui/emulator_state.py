"""The emulator's own state for the dashboard: queues, Scheduler jobs, Run Jobs, clock, faults.

One small interface, two sources that return the same JSON shapes (the control API's):

- `HttpEmulatorSource` reads an emulator server's HTTP control API (`just dev`);
- `InProcessEmulatorSource` reads the in-process emulator of `tasks_google.transports.inprocess`
  (tests, `transport: "inprocess"`).

`emulator_source()` picks one from the tasks_google backends in settings, or None when every
backend targets Google Cloud. Reads are synchronous: the app calls them in a thread worker.
"""

import json
from dataclasses import dataclass, field
from datetime import UTC
from typing import Any, Protocol
from urllib.error import HTTPError, URLError
from urllib.parse import quote
from urllib.request import Request, urlopen

from django.tasks import task_backends

#: Seconds an HTTP control API call may take before the emulator counts as unreachable.
HTTP_TIMEOUT_SECONDS = 2.0
#: Run Jobs executions shown per job (newest first).
EXECUTIONS_PER_JOB = 3

JSON = dict[str, Any]


@dataclass(frozen=True)
class RunJobState:
    """One Run Jobs job and its newest executions (each with its `tasks`)."""

    job: JSON
    executions: list[JSON] = field(default_factory=list)


@dataclass(frozen=True)
class EmulatorState:
    """What the emulator view shows; `error` set (and the rest empty) when it could not be read."""

    where: str
    clock: str = ""
    queues: list[JSON] = field(default_factory=list)
    scheduler_jobs: list[JSON] = field(default_factory=list)
    run_jobs: list[RunJobState] = field(default_factory=list)
    faults: list[JSON] = field(default_factory=list)
    error: str | None = None


class EmulatorSource(Protocol):
    """Where the emulator's state comes from, and how a fault rule is switched."""

    where: str

    def read(self) -> EmulatorState: ...

    def set_fault_enabled(self, fault_id: str, enabled: bool) -> JSON: ...


class EmulatorUnreachable(Exception):
    """The control API did not answer (or answered with an error)."""


class HttpEmulatorSource:
    """An emulator server's HTTP control API at `url` (e.g. ``http://127.0.0.1:8124``)."""

    def __init__(self, url: str, timeout: float = HTTP_TIMEOUT_SECONDS) -> None:
        self.url = url.rstrip("/")
        self.where = self.url
        self.timeout = timeout

    def _call(self, method: str, path: str, body: JSON | None = None) -> Any:
        data = None if body is None else json.dumps(body).encode()
        request = Request(self.url + path, data=data, method=method)
        if data is not None:
            request.add_header("Content-Type", "application/json")
        try:
            with urlopen(request, timeout=self.timeout) as response:
                return json.loads(response.read())
        except HTTPError as error:
            try:
                message = json.loads(error.read())["error"]["message"]
            except Exception:
                message = error.reason
            raise EmulatorUnreachable(f"{method} {path}: HTTP {error.code}: {message}") from None
        except (URLError, OSError, ValueError) as error:
            reason = getattr(error, "reason", error)
            raise EmulatorUnreachable(f"control API {self.url} unreachable: {reason}") from None

    def read(self) -> EmulatorState:
        try:
            health = self._call("GET", "/health")
            jobs = self._call("GET", "/v1/run/jobs")["jobs"]
            return EmulatorState(
                where=self.where,
                clock=health.get("time", ""),
                queues=self._call("GET", "/v1/queues")["queues"],
                scheduler_jobs=self._call("GET", "/v1/scheduler/jobs")["jobs"],
                run_jobs=[
                    RunJobState(job, self._executions(job["name"])[:EXECUTIONS_PER_JOB])
                    for job in jobs
                ],
                faults=self._call("GET", "/v1/faults")["faults"],
            )
        except EmulatorUnreachable as error:
            return EmulatorState(where=self.where, error=str(error))

    def _executions(self, job: str) -> list[JSON]:
        return self._call("GET", f"/v1/run/executions?job={quote(job, safe='')}")["executions"]

    def set_fault_enabled(self, fault_id: str, enabled: bool) -> JSON:
        return self._call("PATCH", f"/v1/faults/{fault_id}", {"enabled": enabled})


class InProcessEmulatorSource:
    """The in-process emulator (`tasks_google.transports.inprocess.current_cloud()`)."""

    where = "in-process"

    def read(self) -> EmulatorState:
        from tasks_google.transports.inprocess import current_cloud

        cloud = current_cloud()
        newest = EXECUTIONS_PER_JOB
        try:
            clock = cloud.now().astimezone(UTC).isoformat(timespec="milliseconds")
            return EmulatorState(
                where=self.where,
                clock=clock.replace("+00:00", "Z"),
                queues=cloud.tasks.describe_queues(),
                scheduler_jobs=cloud.scheduler.describe_jobs(),
                run_jobs=[
                    RunJobState(job, cloud.run.describe_executions(job["name"])[:newest])
                    for job in cloud.run.describe_jobs()
                ],
                faults=[fault.to_json() for fault in cloud.faults.list()],
            )
        except Exception as error:  # a job deleted between the two reads, ...
            return EmulatorState(where=self.where, error=f"reading the emulator failed: {error}")

    def set_fault_enabled(self, fault_id: str, enabled: bool) -> JSON:
        from tasks_google.transports.inprocess import current_cloud

        faults = current_cloud().faults
        faults.set_enabled(fault_id, enabled)
        return faults.get(fault_id).to_json()


def emulator_source() -> EmulatorSource | None:
    """The emulator the tasks_google backends use: in-process first, then the first backend
    with an emulator control API URL (`emulator_url`, `TASKS_GOOGLE_EMULATOR_URL`, or derived
    from the emulator host); None when every backend targets Google Cloud."""
    url = None
    for backend in task_backends.all():
        try:
            config = backend.config
        except Exception:  # not a tasks_google backend
            continue
        if config.transport == "inprocess":
            return InProcessEmulatorSource()
        if url is None and config.emulator_host and config.emulator_url:
            url = config.emulator_url
    return HttpEmulatorSource(url) if url else None
