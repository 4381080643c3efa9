"""What Cloud Tasks accepts in a CreateTask's HTTP task (T11, T22, T27, T28): its URL, method and
body, headers, dispatch deadline, schedule time and size, with Google's errors for the rest."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from google.api_core.exceptions import InvalidArgument, MethodNotImplemented
from google.cloud import tasks_v2

from emulator.cloud_tasks.headers import task_headers
from emulator.kit.delivery import BODY_METHODS, MAX_HEADERS_BYTES, headers_size
from emulator.kit.timestamps import EPOCH

DEFAULT_DISPATCH_DEADLINE = timedelta(minutes=10)
MIN_DISPATCH_DEADLINE = timedelta(seconds=15)
MAX_DISPATCH_DEADLINE = timedelta(minutes=30)
MAX_SCHEDULE_AHEAD = timedelta(days=30)
MAX_URL_LENGTH = 2083
MAX_TASK_BYTES = 1_000_000

_PACIFIC = ZoneInfo("America/Los_Angeles")  # Google renders the too-far schedule time in it


def validate_http_task(spec: tasks_v2.Task, now: datetime) -> dict:
    """Check an HTTP task's fields; return them ready for ``TaskState`` (T11, T22, T27, T28)."""
    if "app_engine_http_request" in spec:
        raise MethodNotImplemented("App Engine tasks are not supported by the emulator.")
    http = spec.http_request
    if not http.url:
        raise InvalidArgument("HttpRequest.url is required.")
    if not http.url.startswith(("http://", "https://")):
        raise InvalidArgument("HttpTarget.url must start with 'http://' or 'https://'.")
    if len(http.url) > MAX_URL_LENGTH:
        raise InvalidArgument(f"HttpRequest.url must be at most {MAX_URL_LENGTH} characters long.")
    method = tasks_v2.HttpMethod(http.http_method).name
    if method == "HTTP_METHOD_UNSPECIFIED":
        method = "POST"
    if http.body and method not in BODY_METHODS:
        raise InvalidArgument(
            f"HttpRequest.body is allowed only for POST, PUT and PATCH requests, not {method}."
        )
    headers = task_headers(http.headers)
    if headers_size(headers) >= MAX_HEADERS_BYTES:
        raise InvalidArgument("HttpRequest.headers must be smaller than 80KB in total.")
    deadline = DEFAULT_DISPATCH_DEADLINE
    if "dispatch_deadline" in spec and spec.dispatch_deadline != timedelta(0):
        deadline = spec.dispatch_deadline
        if not MIN_DISPATCH_DEADLINE <= deadline <= MAX_DISPATCH_DEADLINE:
            raise InvalidArgument("Task.dispatchDeadline must be between [15s, 30m].")
    schedule_time = now
    if "schedule_time" in spec:
        requested = EPOCH + (spec.schedule_time - EPOCH)  # a plain datetime, in UTC
        if requested - now > MAX_SCHEDULE_AHEAD:
            shown = requested.astimezone(_PACIFIC).isoformat(timespec="seconds")
            raise InvalidArgument(
                f"The Task.scheduleTime, {shown}, is too far in the future. Schedule time must be "
                "no more than 720h in the future."
            )
        schedule_time = max(now, requested)
    if tasks_v2.Task.pb(spec).ByteSize() > MAX_TASK_BYTES:
        raise InvalidArgument("Task size too large")
    return {
        "url": http.url,
        "method": method,
        "headers": headers,
        "body": http.body,
        "oidc_token": tasks_v2.OidcToken(http.oidc_token) if "oidc_token" in http else None,
        "oauth_token": tasks_v2.OAuthToken(http.oauth_token) if "oauth_token" in http else None,
        "deadline": deadline,
        "schedule_time": schedule_time,
    }
