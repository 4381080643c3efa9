"""The emulator as the cloud view reads it: an emulator server's HTTP control API
(`just dev`), or the in-process emulator of `tasks_google.transports.inprocess` (tests,
`transport: "inprocess"`)."""

import json
from datetime import UTC
from typing import Any
from urllib.error import HTTPError, URLError
from urllib.parse import quote
from urllib.request import Request, urlopen

from tasks_google.dev_emulator import START_HINT
from tui.cloud_state import EXECUTIONS_PER_JOB, JSON, CloudState, RunJobState

#: Seconds an HTTP control API call may take before the emulator counts as unreachable.
HTTP_TIMEOUT_SECONDS = 2.0


class EmulatorUnreachable(Exception):
    """The control API did not answer (or answered with an error)."""


class HttpEmulatorSource:
    """An emulator server's HTTP control API at `url` (e.g. ``http://127.0.0.1:8124``)."""

    emulated = True
    refresh_seconds = None

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
            raise EmulatorUnreachable(
                f"control API {self.url} unreachable: {reason}. Is the emulator running?"
            ) from None

    def read(self) -> CloudState:
        try:
            health = self._call("GET", "/health")
            jobs = self._call("GET", "/v1/run/jobs")["jobs"]
            return CloudState(
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
            return CloudState(where=self.where, error=str(error))

    def _executions(self, job: str) -> list[JSON]:
        return self._call("GET", f"/v1/run/executions?job={quote(job, safe='')}")["executions"]

    def set_fault_enabled(self, fault_id: str, enabled: bool) -> JSON:
        return self._call("PATCH", f"/v1/faults/{fault_id}", {"enabled": enabled})


class MissingEmulatorSource:
    """No emulator is configured or running, for projects that exist only in one (`demo-`
    projects never reach Google): nothing to read, and the reason is no Google permission."""

    emulated = True
    refresh_seconds = None
    where = "not running"

    def __init__(self, projects: list[str]) -> None:
        self.projects = projects

    def read(self) -> CloudState:
        return CloudState(
            where=self.where,
            error=f"No emulator is configured or running for {', '.join(self.projects)}, "
            "which exists only in an emulator.",
            hint=f"{START_HINT} Then open the dashboard again: it finds the emulator that "
            "tasks_dev or tasks_emulator runs for this project.",
        )


class InProcessEmulatorSource:
    """The in-process emulator (`tasks_google.transports.inprocess.current_cloud()`)."""

    where = "in-process"
    emulated = True
    refresh_seconds = None

    def read(self) -> CloudState:
        from tasks_google.transports.inprocess import current_cloud

        cloud = current_cloud()
        newest = EXECUTIONS_PER_JOB
        try:
            clock = cloud.now().astimezone(UTC).isoformat(timespec="milliseconds")
            return CloudState(
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
            return CloudState(where=self.where, error=f"reading the emulator failed: {error}")

    def set_fault_enabled(self, fault_id: str, enabled: bool) -> JSON:
        from tasks_google.transports.inprocess import current_cloud

        faults = current_cloud().faults
        faults.set_enabled(fault_id, enabled)
        return faults.get(fault_id).to_json()
