"""Cloud Scheduler job names (S9): parsing, validation and the INVALID_ARGUMENT messages."""

from __future__ import annotations

import secrets

from google.api_core.exceptions import InvalidArgument

from emulator.kit.names import LOCATION_PATTERN, JobName, child_shape, invalid, parse_location

JOB_NAME_MESSAGE = (
    'Job name must be formatted: "projects/<PROJECT_ID>/locations/<LOCATION_ID>/jobs/<JOB_ID>".'
)


def _bad_job_id(job_id: str) -> InvalidArgument:
    return InvalidArgument(
        f'Job ID "{job_id}" can contain only letters ([A-Za-z]), numbers ([0-9]), '
        "hyphens (-), or underscores (_), and must be between 1 and 500 characters long."
    )


_JOB = child_shape(
    LOCATION_PATTERN, "jobs", r"[A-Za-z0-9_\-]{1,500}", invalid(JOB_NAME_MESSAGE), _bad_job_id
)

__all__ = ["JOB_NAME_MESSAGE", "JobName", "new_job_id", "parse_job_name", "parse_location"]


def parse_job_name(name: str) -> JobName:
    """Parse a full job name; a bad format or job id is INVALID_ARGUMENT (S9)."""
    return JobName(*_JOB.parse(name))


def new_job_id() -> str:
    """A random id for a job created without a name: 20 hex digits."""
    return secrets.token_hex(10)
