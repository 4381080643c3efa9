"""Cloud Scheduler job names (S9): parsing, validation and the INVALID_ARGUMENT messages."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass

from google.api_core.exceptions import InvalidArgument

from emulator.kit.names import LOCATION_PATTERN, LocatedName, parse_location

_JOB = re.compile(LOCATION_PATTERN + r"/jobs/([^/]*)")
_JOB_ID = re.compile(r"[A-Za-z0-9_\-]{1,500}")

JOB_NAME_MESSAGE = (
    'Job name must be formatted: "projects/<PROJECT_ID>/locations/<LOCATION_ID>/jobs/<JOB_ID>".'
)

__all__ = ["JOB_NAME_MESSAGE", "JobName", "new_job_id", "parse_job_name", "parse_location"]


@dataclass(frozen=True)
class JobName(LocatedName):
    """A parsed ``projects/P/locations/L/jobs/J`` name."""

    job_id: str

    @property
    def full(self) -> str:
        """The full job name."""
        return f"{self.parent}/jobs/{self.job_id}"


def parse_job_name(name: str) -> JobName:
    """Parse a full job name; a bad format or job id is INVALID_ARGUMENT (S9)."""
    match = _JOB.fullmatch(name)
    if not match:
        raise InvalidArgument(JOB_NAME_MESSAGE)
    if not _JOB_ID.fullmatch(match.group(3)):
        raise InvalidArgument(
            f'Job ID "{match.group(3)}" can contain only letters ([A-Za-z]), numbers ([0-9]), '
            "hyphens (-), or underscores (_), and must be between 1 and 500 characters long."
        )
    return JobName(*match.groups())


def new_job_id() -> str:
    """A random id for a job created without a name: 20 hex digits."""
    return secrets.token_hex(10)
