"""Cloud Tasks resource names (T24): parsing, validation and Google's INVALID_ARGUMENT messages."""

from __future__ import annotations

import secrets
from dataclasses import dataclass

from google.api_core.exceptions import InvalidArgument

from emulator.kit.error_details import help_link, project_permission_denied
from emulator.kit.names import (
    INVALID_PARENT_MESSAGE,
    LOCATION_PATTERN,
    LocatedChildName,
    child_shape,
    invalid,
    parse_location,
)

QUEUE_NAME_MESSAGE = (
    'Queue name must be formatted: "projects/<PROJECT_ID>/locations/<LOCATION_ID>'
    '/queues/<QUEUE_ID>".'
)
TASK_NAME_MESSAGE = (
    'Task name must be formatted: "projects/<PROJECT_ID>/locations/<LOCATION_ID>/queues/<QUEUE_ID>'
    '/tasks/<TASK_ID>"'
)
SERVICE = "cloudtasks.googleapis.com"
_REFERENCE = "https://cloud.google.com/tasks/docs/reference/rest/v2/"
QUEUE_NAME_LINK = (
    "Definition of queue name",
    _REFERENCE + "projects.locations.queues#Queue.FIELDS.name",
)
"""The Help link Google attaches to QUEUE_NAME_MESSAGE (T37)."""
TASK_ID_LINK = (
    "Definition of task ID",
    _REFERENCE + "projects.locations.queues.tasks#Task.FIELDS.name",
)
"""The Help link Google attaches to an invalid task id's message (T37)."""


def _bad_queue_name(_: str) -> InvalidArgument:
    return InvalidArgument(QUEUE_NAME_MESSAGE, details=[help_link(*QUEUE_NAME_LINK)])


def _bad_task_id(task_id: str) -> InvalidArgument:
    return InvalidArgument(
        f'Task ID "{task_id}" can contain only letters ([A-Za-z]), numbers ([0-9]), '
        "hyphens (-), or underscores (_). Task ID must between 1 and 500 characters.",
        details=[help_link(*TASK_ID_LINK)],
    )


_QUEUE = child_shape(LOCATION_PATTERN, "queues", r"[A-Za-z0-9\-]{1,100}", _bad_queue_name)
_TASK = child_shape(
    r"(projects/[^/]+/locations/[^/]+/queues/[^/]+)",
    "tasks",
    r"[A-Za-z0-9_\-]{1,500}",
    invalid(TASK_NAME_MESSAGE),
    _bad_task_id,
)

__all__ = [
    "INVALID_PARENT_MESSAGE",
    "QUEUE_NAME_MESSAGE",
    "TASK_NAME_MESSAGE",
    "QueueName",
    "TaskName",
    "new_task_id",
    "parse_location",
    "parse_parent",
    "parse_queue_name",
    "parse_task_name",
]


@dataclass(frozen=True)
class QueueName(LocatedChildName, collection="queues"):
    """A parsed ``projects/P/locations/L/queues/Q`` name."""

    queue_id: str


@dataclass(frozen=True, slots=True)
class TaskName:
    """A parsed ``projects/P/locations/L/queues/Q/tasks/T`` name (one per task: slots)."""

    queue: QueueName
    task_id: str

    @property
    def full(self) -> str:
        """The full task name."""
        return f"{self.queue.full}/tasks/{self.task_id}"


def parse_queue_name(name: str) -> QueueName:
    """Parse a full queue name; a bad format or queue id is INVALID_ARGUMENT."""
    return QueueName(*_QUEUE.parse(name))


def parse_parent(parent: str) -> str:
    """Validate the ``projects/P/locations/L`` parent of CreateQueue or ListQueues.

    A parent without a ``/`` cannot be a resource name, so Google's front end reads all of it as
    a project id and refuses it: PERMISSION_DENIED with its ErrorInfo (T38). Other malformed
    parents are INVALID_ARGUMENT, as for the other services.
    """
    if parent and "/" not in parent:
        raise project_permission_denied(parent, SERVICE)
    return parse_location(parent)


def parse_task_name(name: str, *, in_queue: QueueName | None = None) -> TaskName:
    """Parse a full task name.

    With ``in_queue`` (CreateTask), a task named for another queue is INVALID_ARGUMENT with
    Google's message naming both queues.
    """
    queue_part, task_id = _TASK.match(name)
    if in_queue is not None and queue_part != in_queue.full:
        raise InvalidArgument(
            f"The queue name from request ('{in_queue.full}') must be the same as the queue name "
            f"in the named task ('{queue_part}')."
        )
    _TASK.check_id(task_id)
    return TaskName(parse_queue_name(queue_part), task_id)


def new_task_id() -> str:
    """A random task id like Google's for unnamed tasks (T25): a 19-digit number."""
    return str(10**18 + secrets.randbelow(9 * 10**18))
