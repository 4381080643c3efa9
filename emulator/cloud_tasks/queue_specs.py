"""Queues declared on the command line: ``QUEUE_ID[:key=value,...]`` (``--queue``).

A spec is applied at start with UpdateQueue and a field mask naming only the keys given, so a
restart on a data directory changes those settings and keeps the rest (T36: UpdateQueue creates a
missing queue).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta

from google.api_core.exceptions import GoogleAPICallError, NotFound
from google.cloud import tasks_v2
from google.protobuf import field_mask_pb2

from emulator.cloud_tasks.engine import CloudTasksEngine
from emulator.cloud_tasks.names import QUEUE_NAME_MESSAGE, parse_queue_name
from emulator.kit.key_value_specs import SpecFormat

# key -> (field mask path, type of the value)
SPEC_KEYS: Mapping[str, tuple[str, type]] = {
    "max_attempts": ("retry_config.max_attempts", int),
    "min_backoff": ("retry_config.min_backoff", timedelta),
    "max_backoff": ("retry_config.max_backoff", timedelta),
    "max_doublings": ("retry_config.max_doublings", int),
    "max_retry_duration": ("retry_config.max_retry_duration", timedelta),
    "max_dispatches_per_second": ("rate_limits.max_dispatches_per_second", float),
    "max_concurrent_dispatches": ("rate_limits.max_concurrent_dispatches", int),
}
_FORMAT = SpecFormat(
    noun="queue",
    check_id=lambda queue_id: parse_queue_name(f"projects/p/locations/l/queues/{queue_id}"),
    id_rule="use 1-100 letters, digits or hyphens.",
    kinds={key: kind for key, (_, kind) in SPEC_KEYS.items()},
    wording={int: "an integer", timedelta: "a number (seconds)", float: "a number"},
)


@dataclass(frozen=True)
class QueueSpec:
    """A queue id and the settings given for it (durations in seconds)."""

    queue_id: str
    settings: Mapping[str, int | float] = field(default_factory=dict)


def parse_queue_spec(text: str) -> QueueSpec:
    """Parse ``QUEUE_ID[:key=value,...]``; ValueError naming the problem and the allowed keys."""
    return QueueSpec(*_FORMAT.parse(text))


def apply_queue_spec(engine: CloudTasksEngine, parent: str, spec: QueueSpec) -> tasks_v2.Queue:
    """Create the queue, or update the settings the spec names; ValueError if Google would refuse
    them (the message is Google's, e.g. min_backoff above max_backoff)."""
    name = f"{parent}/queues/{spec.queue_id}"
    try:
        if not spec.settings:
            try:
                return engine.get_queue(tasks_v2.GetQueueRequest(name=name))
            except NotFound:
                return engine.create_queue(
                    tasks_v2.CreateQueueRequest(parent=parent, queue=tasks_v2.Queue(name=name))
                )
        queue = tasks_v2.Queue(name=name)
        paths = []
        for key, value in spec.settings.items():
            path, kind = SPEC_KEYS[key]
            message_name, field_name = path.split(".")
            message = getattr(queue, message_name)
            setattr(message, field_name, timedelta(seconds=value) if kind is timedelta else value)
            setattr(queue, message_name, message)
            paths.append(path)
        return engine.update_queue(
            tasks_v2.UpdateQueueRequest(
                queue=queue, update_mask=field_mask_pb2.FieldMask(paths=paths)
            )
        )
    except GoogleAPICallError as error:
        message = error.message
        if message == QUEUE_NAME_MESSAGE:
            message = f"{name!r} is not a valid queue name."
        raise ValueError(message) from None
