"""Headers of a Cloud Scheduler HTTP job: what the job keeps and what each attempt carries (S8)."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import UTC, datetime

USER_AGENT = "Google-Cloud-Scheduler"
DEFAULT_CONTENT_TYPE = "application/octet-stream"
JOB_NAME_HEADER = "X-CloudScheduler-JobName"
SCHEDULE_TIME_HEADER = "X-CloudScheduler-ScheduleTime"

_REPLACED = {"host", "content-length", "user-agent"}
_RESERVED_PREFIXES = ("x-google-", "x-appengine-", "x-cloudscheduler")


def job_headers(caller_headers: Mapping[str, str]) -> dict[str, str]:
    """The caller's headers as the job keeps them (casing kept).

    Host, Content-Length and User-Agent are computed by Cloud Scheduler, and ``X-Google-*``,
    ``X-AppEngine-*`` and ``X-CloudScheduler*`` are reserved, so those are dropped.
    """
    return {
        name: value
        for name, value in caller_headers.items()
        if name.lower() not in _REPLACED and not name.lower().startswith(_RESERVED_PREFIXES)
    }


def format_schedule_time(moment: datetime) -> str:
    """RFC 3339 in UTC: ``2025-01-06T09:00:00Z``, with microseconds only when there are some."""
    text = moment.astimezone(UTC).replace(tzinfo=None).isoformat()
    return text + "Z"


def attempt_headers(
    stored: Mapping[str, str],
    *,
    job_id: str,
    schedule_time: datetime,
    has_body: bool,
    authorization: str | None = None,
) -> dict[str, str]:
    """The headers one attempt is delivered with (S8, S11).

    ``Content-Type: application/octet-stream`` is added when the job has a body and sets none.
    """
    headers = dict(stored)
    if has_body and not any(name.lower() == "content-type" for name in headers):
        headers["Content-Type"] = DEFAULT_CONTENT_TYPE
    headers.update(
        {
            "User-Agent": USER_AGENT,
            "X-CloudScheduler": "true",
            JOB_NAME_HEADER: job_id,
            SCHEDULE_TIME_HEADER: format_schedule_time(schedule_time),
        }
    )
    if authorization is not None:
        headers = {k: v for k, v in headers.items() if k.lower() != "authorization"}
        headers["Authorization"] = authorization
    return headers
