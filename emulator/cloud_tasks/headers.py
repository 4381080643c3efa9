"""Headers of an HTTP task: what is stored with the task and what each attempt carries (T15-T22)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

from emulator.kit.timestamps import EPOCH

USER_AGENT = "Google-Cloud-Tasks"
TIMEOUT_STATUS = 504
"""Reported as the previous response when an attempt got no response (timeout, no connection)."""

_REPLACED = {"host", "content-length", "user-agent"}
_RESERVED_PREFIXES = ("x-google-", "x-appengine-", "x-cloudtasks-")


def task_headers(caller_headers: Mapping[str, str]) -> dict[str, str]:
    """The headers stored with a task: the caller's (casing kept) plus ``User-Agent`` (T22).

    Host, Content-Length and User-Agent are computed by Cloud Tasks, and ``X-Google-*``,
    ``X-AppEngine-*`` and ``X-CloudTasks-*`` are reserved, so those caller headers are dropped.
    No Content-Type is added.
    """
    kept = {
        name: value
        for name, value in caller_headers.items()
        if name.lower() not in _REPLACED and not name.lower().startswith(_RESERVED_PREFIXES)
    }
    kept["User-Agent"] = USER_AGENT
    return kept


def format_eta(schedule_time: datetime) -> str:
    """Seconds since the epoch with microsecond precision, e.g. ``1700000000.250000`` (T19)."""
    delta = schedule_time - EPOCH
    return f"{delta.days * 86400 + delta.seconds}.{delta.microseconds:06d}"


def attempt_headers(
    stored: Mapping[str, str],
    *,
    queue_id: str,
    task_id: str,
    retry_count: int,
    execution_count: int,
    schedule_time: datetime,
    previous_response: int | None,
    authorization: str | None = None,
) -> dict[str, str]:
    """The headers one attempt is delivered with (T15-T21, T23).

    ``previous_response`` is None on the first attempt; retries carry it (504 after a timeout)
    and an empty ``X-CloudTasks-TaskRetryReason``.
    """
    added = {
        "X-CloudTasks-QueueName": queue_id,
        "X-CloudTasks-TaskName": task_id,
        "X-CloudTasks-TaskRetryCount": str(retry_count),
        "X-CloudTasks-TaskExecutionCount": str(execution_count),
        "X-CloudTasks-TaskETA": format_eta(schedule_time),
    }
    if previous_response is not None:
        added["X-CloudTasks-TaskPreviousResponse"] = str(previous_response)
        added["X-CloudTasks-TaskRetryReason"] = ""
    if authorization is not None:
        added["Authorization"] = authorization
    overridden = {name.lower() for name in added}
    headers = {name: value for name, value in stored.items() if name.lower() not in overridden}
    headers.update(added)
    return headers
