"""Pause / resume / purge a queue from the dashboard, through the public tasks_google API.

The cloud view lists Cloud Tasks queues by resource name; an action applies to the backend
and Django queue name that own it. Queues that belong to no backend of this project are left
alone.
"""

from tasks_google.queues import find_queue

from tasks_google import pause_queue, purge_queue, resume_queue


def _owner(name: str) -> tuple[str, str] | None:
    return find_queue(name)


def set_queue_paused(name: str, paused: bool) -> str:
    owner = _owner(name)
    if owner is None:
        return f"{short(name)} is not a queue of this project's backends; left alone."
    backend, queue = owner
    result = (pause_queue if paused else resume_queue)(queue, backend=backend)
    return result.message


def purge(name: str) -> str:
    owner = _owner(name)
    if owner is None:
        return f"{short(name)} is not a queue of this project's backends; left alone."
    backend, queue = owner
    return purge_queue(queue, backend=backend).message


def short(name: str) -> str:
    """A queue's id, the last part of its full name."""
    return name.rsplit("/", 1)[-1]
