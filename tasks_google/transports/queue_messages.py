"""Cloud Tasks queue messages for `queue_config` settings, and the settings a queue has."""

from collections.abc import Iterable
from datetime import timedelta

from google.cloud import tasks_v2

from tasks_google.config.queue_config import QUEUE_SETTINGS, SECONDS, QueueSettings


def queue_message(queue_path: str, settings: QueueSettings) -> tasks_v2.Queue:
    """A Queue named `queue_path` with `settings` set (durations in seconds); the rest unset."""
    queue = tasks_v2.Queue(name=queue_path)
    for key, value in settings.items():
        setting = QUEUE_SETTINGS[key]
        message_name, field_name = setting.path.split(".")
        message = getattr(queue, message_name)
        setattr(message, field_name, timedelta(seconds=value) if setting.kind == SECONDS else value)
        setattr(queue, message_name, message)
    return queue


def update_mask_paths(settings: QueueSettings) -> list[str]:
    """The UpdateQueue field mask that changes exactly these settings."""
    return [QUEUE_SETTINGS[key].path for key in settings]


def queue_settings(queue: tasks_v2.Queue, keys: Iterable[str]) -> dict[str, int | float]:
    """The values a queue has for `keys` (durations in seconds, as float)."""
    found: dict[str, int | float] = {}
    for key in keys:
        setting = QUEUE_SETTINGS[key]
        message_name, field_name = setting.path.split(".")
        value = getattr(getattr(queue, message_name), field_name)
        found[key] = value.total_seconds() if setting.kind == SECONDS else value
    return found
