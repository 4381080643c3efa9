"""A job's user-settable fields, validated and completed with defaults (S1, S2, S5, S7, S9).

``resolve_job_config`` is what CreateJob and UpdateJob apply: every error a caller can cause is
INVALID_ARGUMENT with a message naming the field (schedule and time zone errors start with
Google's "Schedule or time zone is invalid.").
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from zoneinfo import ZoneInfo

from google.api_core.exceptions import InvalidArgument, MethodNotImplemented
from google.cloud import scheduler_v1

from emulator.kit.delivery import BODY_METHODS, MAX_HEADERS_BYTES, headers_size
from emulator.scheduler.headers import job_headers
from emulator.scheduler.retry import resolve_retry_config
from emulator.scheduler.schedule import Schedule, ScheduleError, parse_schedule, parse_time_zone

DEFAULT_ATTEMPT_DEADLINE = timedelta(minutes=3)
MIN_ATTEMPT_DEADLINE = timedelta(seconds=15)
MAX_ATTEMPT_DEADLINE = timedelta(minutes=30)
DEFAULT_TIME_ZONE_NAME = "Etc/UTC"
"""What a job created without ``time_zone`` reports."""
MAX_URI_LENGTH = 2083
MAX_JOB_BYTES = 1_000_000
MAX_DESCRIPTION_LENGTH = 500
SCHEDULE_INVALID = "Schedule or time zone is invalid."

USER_FIELDS = (
    "description",
    "http_target",
    "pubsub_target",
    "app_engine_http_target",
    "schedule",
    "time_zone",
    "retry_config",
    "attempt_deadline",
)
"""The Job fields a caller sets; the others are output only."""


@dataclass(frozen=True)
class JobConfig:
    """A job's resolved settings: ``job`` carries only user fields, defaults filled in."""

    job: scheduler_v1.Job
    schedule: Schedule
    time_zone: ZoneInfo


def resolve_job_config(job: scheduler_v1.Job) -> JobConfig:
    """Validate the user fields of ``job`` and fill in the defaults."""
    if "pubsub_target" in job or "app_engine_http_target" in job:
        raise MethodNotImplemented(
            "Pub/Sub and App Engine targets are not supported by the emulator; use http_target."
        )
    if "http_target" not in job:
        raise InvalidArgument("Job.httpTarget is required (the emulator supports HTTP targets).")
    if len(job.description) > MAX_DESCRIPTION_LENGTH:
        raise InvalidArgument(
            f"Job.description must be at most {MAX_DESCRIPTION_LENGTH} characters long."
        )
    try:
        schedule = parse_schedule(job.schedule)
        time_zone = parse_time_zone(job.time_zone)
    except ScheduleError as error:
        raise InvalidArgument(f"{SCHEDULE_INVALID} {error}") from None
    resolved = scheduler_v1.Job(
        description=job.description,
        http_target=_resolve_http_target(job.http_target),
        schedule=job.schedule.strip(),
        time_zone=job.time_zone or DEFAULT_TIME_ZONE_NAME,
        retry_config=resolve_retry_config(job.retry_config if "retry_config" in job else None),
        attempt_deadline=_attempt_deadline(job),
    )
    if scheduler_v1.Job.pb(resolved).ByteSize() > MAX_JOB_BYTES:
        raise InvalidArgument(f"Job size too large: a job must be at most {MAX_JOB_BYTES} bytes.")
    return JobConfig(resolved, schedule, time_zone)


def _resolve_http_target(target: scheduler_v1.HttpTarget) -> scheduler_v1.HttpTarget:
    uri = target.uri
    if not uri:
        raise InvalidArgument("HttpTarget.uri is required.")
    if not uri.startswith(("http://", "https://")):
        raise InvalidArgument("HttpTarget.uri must start with 'http://' or 'https://'.")
    if len(uri) > MAX_URI_LENGTH:
        raise InvalidArgument(f"HttpTarget.uri must be at most {MAX_URI_LENGTH} characters long.")
    method = scheduler_v1.HttpMethod(target.http_method)
    if method == scheduler_v1.HttpMethod.HTTP_METHOD_UNSPECIFIED:
        method = scheduler_v1.HttpMethod.POST
    if target.body and method.name not in BODY_METHODS:
        raise InvalidArgument(
            f"HttpTarget.body is allowed only for POST, PUT and PATCH requests, not {method.name}."
        )
    headers = job_headers(target.headers)
    if headers_size(headers) >= MAX_HEADERS_BYTES:
        raise InvalidArgument("HttpTarget.headers must be smaller than 80KB in total.")
    resolved = scheduler_v1.HttpTarget(
        uri=uri, http_method=method, headers=headers, body=target.body
    )
    if "oidc_token" in target:
        resolved.oidc_token = target.oidc_token
    elif "oauth_token" in target:
        resolved.oauth_token = target.oauth_token
    return resolved


def _attempt_deadline(job: scheduler_v1.Job) -> timedelta:
    if "attempt_deadline" not in job or job.attempt_deadline == timedelta(0):
        return DEFAULT_ATTEMPT_DEADLINE
    deadline = job.attempt_deadline
    if not MIN_ATTEMPT_DEADLINE <= deadline <= MAX_ATTEMPT_DEADLINE:
        raise InvalidArgument("Job.attemptDeadline must be between [15s, 30m].")
    return deadline
