"""Cloud Run resource names: jobs, executions, tasks and operations; parsing, ids, messages."""

from __future__ import annotations

import secrets
import string
import uuid
from collections.abc import Callable
from dataclasses import dataclass

from google.api_core.exceptions import InvalidArgument, NotFound

from emulator.kit.names import JobName, LocatedName, NameShape, child_shape

_SUFFIX_ALPHABET = string.ascii_lowercase + string.digits
_ANY_ID = r"[^/]+"

JOB_ID_MESSAGE = (
    "Job name must use only lowercase alphanumeric characters and dashes, begin with a letter, "
    "not end with a dash, and be at most 63 characters long."
)


def _expected(what: str, form: str) -> Callable[[str], InvalidArgument]:
    """Cloud Run's error for a malformed ``what`` (e.g. "job name"): it shows the form expected."""
    return lambda value: InvalidArgument(f"Invalid {what} {value!r}: expected {form}.")


_LOCATION_FORM = "projects/<PROJECT>/locations/<LOCATION>"
_EXECUTION_FORM = _LOCATION_FORM + "/jobs/<JOB>/executions/<EXECUTION>"
_LOCATION = NameShape(r"projects/([^/]+)/locations/([^/]+)", _expected("parent", _LOCATION_FORM))
_JOB = child_shape(
    _LOCATION.pattern,
    "jobs",
    r"[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?",
    _expected("job name", _LOCATION_FORM + "/jobs/<JOB>"),
    lambda job_id: InvalidArgument(f"Invalid job id {job_id!r}. {JOB_ID_MESSAGE}"),
)
_EXECUTION = child_shape(
    _JOB.pattern, "executions", _ANY_ID, _expected("execution name", _EXECUTION_FORM)
)
_TASK = child_shape(
    _EXECUTION.pattern, "tasks", _ANY_ID, _expected("task name", _EXECUTION_FORM + "/tasks/<TASK>")
)
_OPERATION = child_shape(
    _LOCATION.pattern,
    "operations",
    _ANY_ID,
    _expected("operation name", _LOCATION_FORM + "/operations/<OPERATION>"),
)

__all__ = [
    "JOB_ID_MESSAGE",
    "ExecutionName",
    "JobName",
    "check_job_id",
    "location_of",
    "new_execution_id",
    "new_operation_name",
    "not_found",
    "parse_execution_name",
    "parse_job_name",
    "parse_location",
    "parse_operation_name",
    "parse_task_name",
]


@dataclass(frozen=True)
class ExecutionName:
    """A parsed ``.../jobs/J/executions/E`` name."""

    job: JobName
    execution_id: str

    @property
    def full(self) -> str:
        """The full execution name."""
        return f"{self.job.full}/executions/{self.execution_id}"

    def task(self, index: int) -> str:
        """The full name of the execution's task ``index`` (``<execution id>-task<index>``)."""
        return f"{self.full}/tasks/{self.execution_id}-task{index}"


def parse_location(parent: str) -> str:
    """Validate a ``projects/P/locations/L`` parent and return it (INVALID_ARGUMENT if bad)."""
    _LOCATION.match(parent)
    return parent


def location_of(parent: str) -> LocatedName:
    """The parsed ``projects/P/locations/L`` parent (INVALID_ARGUMENT if bad)."""
    return LocatedName(*_LOCATION.match(parent))


def check_job_id(job_id: str) -> str:
    """Return ``job_id`` if Cloud Run accepts it as a job id; INVALID_ARGUMENT otherwise."""
    return _JOB.check_id(job_id)


def parse_job_name(name: str) -> JobName:
    """Parse a full job name; INVALID_ARGUMENT for a bad format or job id."""
    return JobName(*_JOB.parse(name))


def parse_execution_name(name: str) -> ExecutionName:
    """Parse a full execution name; INVALID_ARGUMENT for a bad format."""
    project, location, job_id, execution_id = _EXECUTION.match(name)
    return ExecutionName(JobName(project, location, job_id), execution_id)


def parse_task_name(name: str) -> tuple[ExecutionName, str]:
    """Parse a full task name into its execution and task id; INVALID_ARGUMENT if bad."""
    project, location, job_id, execution_id, task_id = _TASK.match(name)
    return ExecutionName(JobName(project, location, job_id), execution_id), task_id


def parse_operation_name(name: str) -> str:
    """Validate a ``projects/P/locations/L/operations/O`` name and return it."""
    _OPERATION.match(name)
    return name


def new_execution_id(job_id: str) -> str:
    """An execution id like Cloud Run's: the job id, a dash and five random characters."""
    suffix = "".join(secrets.choice(_SUFFIX_ALPHABET) for _ in range(5))
    return f"{job_id}-{suffix}"


def new_operation_name(parent: str) -> str:
    """A fresh operation name in ``parent`` (a location)."""
    return f"{parent}/operations/{uuid.uuid4()}"


def not_found(kind: str, resource_id: str, project: str, location: str) -> NotFound:
    """Cloud Run's NOT_FOUND for a missing job, execution or task (``kind`` e.g. ``"JOB"``)."""
    return NotFound(
        f"Resource '{resource_id}' of kind '{kind}' in region '{location}' in project "
        f"'{project}' does not exist."
    )
