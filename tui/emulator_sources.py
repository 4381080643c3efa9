"""The emulator as the cloud view reads it: an emulator server's HTTP control API
(`just dev`), or the in-process emulator of `tasks_google.transports.inprocess` (tests,
`transport: "inprocess"`).

Both give the JSON of the emulator's state views (`emulator.views`: the control API serves them,
the in-process source calls them); it is turned into the cloud view's typed rows here, and only
here.
"""

import json
from dataclasses import fields
from datetime import datetime
from typing import TYPE_CHECKING, Any
from urllib.error import HTTPError, URLError
from urllib.parse import quote
from urllib.request import Request, urlopen

from tasks_google.config.dev_emulator import START_HINT
from tui.cloud_rows import (
    FaultRow,
    QueueRow,
    RunExecutionRow,
    RunJobRow,
    RunTaskRow,
    SchedulerJobRow,
    parse_time,
)
from tui.cloud_state import EXECUTIONS_PER_JOB, CloudState

if TYPE_CHECKING:
    from emulator import LocalCloud

JSON = dict[str, Any]

#: Seconds an HTTP control API call may take before the emulator counts as unreachable.
HTTP_TIMEOUT_SECONDS = 2.0


def _row[Row](kind: type[Row], *sources: JSON, **parsed: Any) -> Row:
    """A `kind` row from the control API's JSON: every key of `sources` named like one of its
    fields (the JSON's names are the rows' names), then the `parsed` fields."""
    names = {field.name for field in fields(kind)}
    values = {key: value for source in sources for key, value in source.items() if key in names}
    return kind(**{**values, **parsed})


def queue_row(queue: JSON) -> QueueRow:
    """A queue of `views.queues`."""
    return _row(
        QueueRow,
        queue,
        queue["retry_config"],
        queue["rate_limits"],
        next_dispatch_time=parse_time(queue.get("next_dispatch_time")),
    )


def scheduler_job_row(job: JSON) -> SchedulerJobRow:
    """A job of `views.scheduler_jobs`."""
    status = job.get("status") or {}
    return _row(
        SchedulerJobRow,
        job,
        next_fire_time=parse_time(job.get("next_fire_time")),
        last_attempt_time=parse_time(job.get("last_attempt_time")),
        status_code=status.get("code") or None,
        status_message=status.get("message") or "",
    )


def run_execution_row(execution: JSON) -> RunExecutionRow:
    """An execution of `views.executions`, with its tasks."""
    tasks = execution.get("tasks", ())
    return _row(
        RunExecutionRow,
        execution,
        start_time=parse_time(execution.get("start_time")),
        completion_time=parse_time(execution.get("completion_time")),
        tasks=tuple(
            _row(
                RunTaskRow,
                task,
                start_time=parse_time(task.get("start_time")),
                end_time=parse_time(task.get("end_time")),
            )
            for task in tasks
        ),
    )


def run_job_row(job: JSON, executions: list[JSON]) -> RunJobRow:
    """A job of `views.run_jobs` and its newest `executions`."""
    newest = executions[:EXECUTIONS_PER_JOB]
    return _row(RunJobRow, job, executions=tuple(run_execution_row(e) for e in newest))


def fault_row(fault: JSON) -> FaultRow:
    """A fault rule of `views.faults`."""
    effect = fault.get("effect", {})
    details = ", ".join(f"{k}={v}" for k, v in effect.items() if k not in ("type", "headers"))
    kind = effect.get("type", "?")
    return _row(FaultRow, fault, effect=f"{kind}({details})" if details else kind)


def cloud_state(
    where: str,
    clock: datetime | None,
    queues: list[JSON],
    scheduler_jobs: list[JSON],
    run_jobs: list[tuple[JSON, list[JSON]]],
    faults: list[JSON],
) -> CloudState:
    """The control API's answers as the cloud view's state."""
    return CloudState(
        where=where,
        clock=clock,
        queues=tuple(queue_row(queue) for queue in queues),
        scheduler_jobs=tuple(scheduler_job_row(job) for job in scheduler_jobs),
        run_jobs=tuple(run_job_row(job, executions) for job, executions in run_jobs),
        faults=tuple(fault_row(fault) for fault in faults),
    )


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
            return cloud_state(
                self.where,
                parse_time(health.get("time")),
                self._call("GET", "/v1/queues")["queues"],
                self._call("GET", "/v1/scheduler/jobs")["jobs"],
                [(job, self._executions(job["name"])) for job in jobs],
                self._call("GET", "/v1/faults")["faults"],
            )
        except EmulatorUnreachable as error:
            return CloudState(where=self.where, error=str(error))

    def _executions(self, job: str) -> list[JSON]:
        return self._call("GET", f"/v1/run/executions?job={quote(job, safe='')}")["executions"]

    def set_fault_enabled(self, fault_id: str, enabled: bool) -> FaultRow:
        return fault_row(self._call("PATCH", f"/v1/faults/{fault_id}", {"enabled": enabled}))


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
    """An emulator in this process: `cloud`, else the one of `tasks_google.transports.inprocess`
    (`current_cloud()`, looked up at each read). It reads the views the control API serves
    (`emulator.views`), without HTTP."""

    where = "in-process"
    emulated = True
    refresh_seconds = None

    def __init__(self, cloud: "LocalCloud | None" = None) -> None:
        self.cloud = cloud

    def _cloud(self) -> "LocalCloud":
        if self.cloud is not None:
            return self.cloud
        from tasks_google.transports.inprocess import current_cloud

        return current_cloud()

    def read(self) -> CloudState:
        from emulator import views

        cloud = self._cloud()
        try:
            return cloud_state(
                self.where,
                parse_time(views.clock(cloud)),
                views.queues(cloud),
                views.scheduler_jobs(cloud),
                [(job, views.executions(cloud, job["name"])) for job in views.run_jobs(cloud)],
                views.faults(cloud),
            )
        except Exception as error:  # a job deleted between the two reads, ...
            return CloudState(where=self.where, error=f"reading the emulator failed: {error}")

    def set_fault_enabled(self, fault_id: str, enabled: bool) -> FaultRow:
        from emulator import views

        cloud = self._cloud()
        cloud.faults.set_enabled(fault_id, enabled)
        return fault_row(views.fault(cloud, fault_id))
