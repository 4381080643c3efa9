"""What Google's resource names have in common, and how a service parses its own.

A name is a location, ``projects/P/locations/L``, or a child of one: ``<parent>/<collection>/<id>``.
Each service's ``names`` module describes its collections (queues and tasks, scheduler jobs, Cloud
Run jobs and executions) as ``NameShape``s, with the ids and INVALID_ARGUMENT messages that
service has, and builds its name classes on ``LocatedChildName``.
"""

from __future__ import annotations

import inspect
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, ClassVar

from google.api_core.exceptions import InvalidArgument

LOCATION_PATTERN = r"projects/([A-Za-z0-9\-:.]+)/locations/([A-Za-z0-9\-]+)"
"""A location name as Cloud Tasks and Cloud Scheduler accept it (groups: project, location)."""

INVALID_PARENT_MESSAGE = "Invalid resource field value in the request."

ANY_ID = r"[^/]*"
"""One path segment, possibly empty: what a name's id part matches before the id is checked."""


@dataclass(frozen=True)
class NameShape:
    """The names a service accepts for one kind of resource, and the errors for the others.

    ``pattern`` is a regex whose groups are the name's parts; ``bad_format(name)`` is the error for
    a name that does not match it. With ``id_pattern``, the last part is an id checked on its
    own, ``bad_id(id)`` being the error for one the pattern refuses.
    """

    pattern: str
    bad_format: Callable[[str], Exception]
    id_pattern: str | None = None
    bad_id: Callable[[str], Exception] | None = None
    _regex: re.Pattern[str] = field(init=False, repr=False, compare=False)
    _id_regex: re.Pattern[str] | None = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "_regex", re.compile(self.pattern))
        id_regex = re.compile(self.id_pattern) if self.id_pattern is not None else None
        object.__setattr__(self, "_id_regex", id_regex)

    def match(self, name: str) -> tuple[str, ...]:
        """The parts of ``name``; ``bad_format(name)`` if it is not of this shape."""
        match = self._regex.fullmatch(name)
        if not match:
            raise self.bad_format(name)
        return match.groups()

    def check_id(self, resource_id: str) -> str:
        """Return ``resource_id`` if the id pattern accepts it; ``bad_id(resource_id)`` if not."""
        if self._id_regex is None or self.bad_id is None or self._id_regex.fullmatch(resource_id):
            return resource_id
        raise self.bad_id(resource_id)

    def parse(self, name: str) -> tuple[str, ...]:
        """The parts of ``name``, its id checked: ``match`` then ``check_id``."""
        parts = self.match(name)
        self.check_id(parts[-1])
        return parts


def child_shape(
    parent: str,
    collection: str,
    id_pattern: str,
    bad_format: Callable[[str], Exception],
    bad_id: Callable[[str], Exception] | None = None,
) -> NameShape:
    """The shape ``<parent>/<collection>/<id>`` (``parent`` a regex with groups).

    Without ``bad_id``, a name whose id ``id_pattern`` refuses is a bad format like any other; with
    it, any segment is taken as the id and a refused one is ``bad_id(id)``.
    """
    if bad_id is None:
        return NameShape(f"{parent}/{collection}/({id_pattern})", bad_format)
    return NameShape(f"{parent}/{collection}/({ANY_ID})", bad_format, id_pattern, bad_id)


def invalid(message: str) -> Callable[[str], InvalidArgument]:
    """``bad_format`` for a service whose message does not name the value: always ``message``."""
    return lambda _: InvalidArgument(message)


LOCATION = NameShape(LOCATION_PATTERN, invalid(INVALID_PARENT_MESSAGE))
"""A location as Cloud Tasks and Cloud Scheduler accept it, with Google's INVALID_ARGUMENT."""


@dataclass(frozen=True)
class LocatedName:
    """The ``projects/P/locations/L`` part of a parsed resource name."""

    project: str
    location: str

    @property
    def parent(self) -> str:
        """The location name, ``projects/P/locations/L``."""
        return f"projects/{self.project}/locations/{self.location}"


@dataclass(frozen=True)
class LocatedChildName(LocatedName):
    """A parsed ``projects/P/locations/L/<collection>/<id>`` name.

    A subclass passes its collection as a class argument and declares the id as its one field
    (``queue_id``, ``job_id``).
    """

    collection: ClassVar[str]
    id_field: ClassVar[str]

    def __init_subclass__(cls, *, collection: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls.collection = collection
        (cls.id_field,) = inspect.get_annotations(cls)

    @property
    def full(self) -> str:
        """The full name."""
        return f"{self.parent}/{self.collection}/{getattr(self, self.id_field)}"


@dataclass(frozen=True)
class JobName(LocatedChildName, collection="jobs"):
    """A parsed ``projects/P/locations/L/jobs/J`` name: a Cloud Scheduler or a Cloud Run job."""

    job_id: str


def parse_location(parent: str) -> str:
    """Validate a ``projects/P/locations/L`` parent and return it (Google's INVALID_ARGUMENT)."""
    LOCATION.match(parent)
    return parent
