"""Helpers for Cloud Scheduler tests: building jobs, reading what was delivered, and the
official client pointed at an emulator server."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta

from google.cloud import scheduler_v1
from google.cloud.scheduler_v1.services.cloud_scheduler.transports import (
    CloudSchedulerGrpcTransport,
)

from emulator import VirtualClock
from emulator.scheduler import SchedulerEngine
from tests.emulator.channels import emulator_channel

from .conftest import PARENT, URL, RecordingDispatcher

ACCOUNT = "scheduler@demo.iam.gserviceaccount.com"


@contextmanager
def scheduler_client(grpc_target: str) -> Iterator[scheduler_v1.CloudSchedulerClient]:
    """The unmodified official client on an insecure channel, as the docs say."""
    channel = emulator_channel(grpc_target)
    try:
        yield scheduler_v1.CloudSchedulerClient(
            transport=CloudSchedulerGrpcTransport(channel=channel)
        )
    finally:
        channel.close()


def job_name(job_id: str = "report") -> str:
    return f"{PARENT}/jobs/{job_id}"


def job_spec(
    job_id: str | None = "report",
    schedule: str = "* * * * *",
    *,
    url: str = URL,
    time_zone: str = "",
    body: bytes = b"",
    headers: dict[str, str] | None = None,
    http_method: scheduler_v1.HttpMethod = scheduler_v1.HttpMethod.POST,
    retry: dict | None = None,
    oidc: scheduler_v1.OidcToken | None = None,
    **fields: object,
) -> scheduler_v1.Job:
    """A Job message as a caller would send it."""
    target = scheduler_v1.HttpTarget(
        uri=url, body=body, headers=headers or {}, http_method=http_method
    )
    if oidc is not None:
        target.oidc_token = oidc
    job = scheduler_v1.Job(http_target=target, schedule=schedule, time_zone=time_zone, **fields)
    if job_id is not None:
        job.name = job_name(job_id)
    if retry is not None:
        job.retry_config = scheduler_v1.RetryConfig(**retry)
    return job


def create_job(
    engine: SchedulerEngine, job_id: str | None = "report", schedule: str = "* * * * *", **kw
) -> scheduler_v1.Job:
    """CreateJob through the engine."""
    request = scheduler_v1.CreateJobRequest(parent=PARENT, job=job_spec(job_id, schedule, **kw))
    return engine.create_job(request)


def track_times(dispatcher: RecordingDispatcher, clock: VirtualClock) -> list[datetime]:
    """A list that receives the clock's time at each delivery."""
    times: list[datetime] = []
    dispatcher.on_delivery = lambda _delivery: times.append(clock.now())
    return times


def schedule_times(dispatcher: RecordingDispatcher) -> list[str]:
    """The ``X-CloudScheduler-ScheduleTime`` of every delivery so far."""
    return [d.headers["X-CloudScheduler-ScheduleTime"] for d in dispatcher.deliveries]


def utc(text: str) -> datetime:
    """``"2025-01-06T09:01:00Z"`` as an aware datetime."""
    return datetime.fromisoformat(text)


def minutes(count: float) -> timedelta:
    return timedelta(minutes=count)
