"""Cloud Run resource names: jobs, executions, tasks and operations; parsing, ids, messages."""

from __future__ import annotations

import re
import secrets
import string
import uuid
from dataclasses import dataclass

from google.api_core.exceptions import InvalidArgument, NotFound

from emulator.kit.names import LocatedName

_LOCATION = re.compile(r"projects/([^/]+)/locations/([^/]+)")
_JOB = re.compile(_LOCATION.pattern + r"/jobs/([^/]*)")
_EXECUTION = re.compile(_JOB.pattern + r"/executions/([^/]*)")
_TASK = re.compile(_EXECUTION.pattern + r"/tasks/([^/]*)")
_OPERATION = re.compile(_LOCATION.pattern + r"/operations/([^/]+)")
_JOB_ID = re.compile(r"[a-z](?:[-a-z0-9]{0,61}[a-z0-9])?")
_SUFFIX_ALPHABET = string.ascii_lowercase + string.digits

JOB_ID_MESSAGE = (
    "Job name must use only lowercase alphanumeric characters and dashes, begin with a letter, "
    "not end with a dash, and be at most 63 characters long."
)


@dataclass(frozen=True)
class JobName(LocatedName):
    """A parsed ``projects/P/locations/L/jobs/J`` name."""

    job_id: str

    @property
    def full(self) -> str:
        """The full job name."""
        return f"{self.parent}/jobs/{self.job_id}"


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
    if not _LOCATION.fullmatch(parent):
        raise InvalidArgument(
            f"Invalid parent {parent!r}: expected projects/<PROJECT>/locations/<LOCATION>."
        )
    return parent


def check_job_id(job_id: str) -> str:
    """Return ``job_id`` if Cloud Run accepts it as a job id; INVALID_ARGUMENT otherwise."""
    if not _JOB_ID.fullmatch(job_id):
        raise InvalidArgument(f"Invalid job id {job_id!r}. {JOB_ID_MESSAGE}")
    return job_id


def parse_job_name(name: str) -> JobName:
    """Parse a full job name; INVALID_ARGUMENT for a bad format or job id."""
    match = _JOB.fullmatch(name)
    if not match:
        raise InvalidArgument(
            f"Invalid job name {name!r}: expected "
            "projects/<PROJECT>/locations/<LOCATION>/jobs/<JOB>."
        )
    project, location, job_id = match.groups()
    return JobName(project, location, check_job_id(job_id))


def parse_execution_name(name: str) -> ExecutionName:
    """Parse a full execution name; INVALID_ARGUMENT for a bad format."""
    match = _EXECUTION.fullmatch(name)
    if not match or not match.group(4):
        raise InvalidArgument(
            f"Invalid execution name {name!r}: expected "
            "projects/<PROJECT>/locations/<LOCATION>/jobs/<JOB>/executions/<EXECUTION>."
        )
    project, location, job_id, execution_id = match.groups()
    return ExecutionName(JobName(project, location, job_id), execution_id)


def parse_task_name(name: str) -> tuple[ExecutionName, str]:
    """Parse a full task name into its execution and task id; INVALID_ARGUMENT if bad."""
    match = _TASK.fullmatch(name)
    if not match or not match.group(4) or not match.group(5):
        raise InvalidArgument(
            f"Invalid task name {name!r}: expected projects/<PROJECT>/locations/<LOCATION>/jobs/"
            "<JOB>/executions/<EXECUTION>/tasks/<TASK>."
        )
    project, location, job_id, execution_id, task_id = match.groups()
    return ExecutionName(JobName(project, location, job_id), execution_id), task_id


def parse_operation_name(name: str) -> str:
    """Validate a ``projects/P/locations/L/operations/O`` name and return it."""
    if not _OPERATION.fullmatch(name):
        raise InvalidArgument(
            f"Invalid operation name {name!r}: expected "
            "projects/<PROJECT>/locations/<LOCATION>/operations/<OPERATION>."
        )
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
