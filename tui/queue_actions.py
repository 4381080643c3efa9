"""Pause / resume / purge a queue from the dashboard, through the public tasks_google API.

The cloud view lists Cloud Tasks queues by resource name; an action applies to the backend
and Django queue name that own it. Queues that belong to no backend of this project are left
alone.
"""

from tasks_google import find_queue, pause_queue, purge_queue, resume_queue
from tui.cloud_state import resource_id


def set_queue_paused(name: str, paused: bool) -> str:
    """Pause or resume the queue `name` (a resource name); say what became of it."""
    owner = find_queue(name)
    if owner is None:
        return f"{resource_id(name)} is not a queue of this project's backends; left alone."
    backend, queue = owner
    result = (pause_queue if paused else resume_queue)(queue, backend=backend)
    return result.message


def purge(name: str) -> str:
    """Purge the queue `name` (a resource name); say what was deleted and cancelled."""
    owner = find_queue(name)
    if owner is None:
        return f"{resource_id(name)} is not a queue of this project's backends; left alone."
    backend, queue = owner
    return purge_queue(queue, backend=backend).message
