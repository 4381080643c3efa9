"""What Google's resource names have in common: a ``projects/P/locations/L`` location part.

Each engine's ``names`` module parses its own collections (queues and tasks, scheduler jobs, Cloud
Run jobs and executions) on top of these.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from google.api_core.exceptions import InvalidArgument

LOCATION_PATTERN = r"projects/([A-Za-z0-9\-:.]+)/locations/([A-Za-z0-9\-]+)"
"""A location name as Cloud Tasks and Cloud Scheduler accept it (groups: project, location)."""

INVALID_PARENT_MESSAGE = "Invalid resource field value in the request."

_LOCATION = re.compile(LOCATION_PATTERN)


@dataclass(frozen=True)
class LocatedName:
    """The ``projects/P/locations/L`` part of a parsed resource name."""

    project: str
    location: str

    @property
    def parent(self) -> str:
        """The location name, ``projects/P/locations/L``."""
        return f"projects/{self.project}/locations/{self.location}"


def parse_location(parent: str) -> str:
    """Validate a ``projects/P/locations/L`` parent and return it (Google's INVALID_ARGUMENT)."""
    if not _LOCATION.fullmatch(parent):
        raise InvalidArgument(INVALID_PARENT_MESSAGE)
    return parent
