"""Cloud Scheduler job RPCs in process: validation (S5, S7, S9), states and output fields (S10),
UpdateJob's field mask, listing and errors."""

from __future__ import annotations

from datetime import timedelta

import pytest
from google.api_core.exceptions import (
    AlreadyExists,
    FailedPrecondition,
    InvalidArgument,
    MethodNotImplemented,
    NotFound,
)
from google.cloud import scheduler_v1
from google.protobuf import field_mask_pb2
from google.rpc import code_pb2

from tests.emulator.conftest import PARENT, START, URL
from tests.emulator.scheduler_support import create_job, job_name, job_spec, minutes

State = scheduler_v1.Job.State


@pytest.fixture
def scheduler(cloud):
    return cloud.scheduler


def update(scheduler, job: scheduler_v1.Job, *paths: str) -> scheduler_v1.Job:
    request = scheduler_v1.UpdateJobRequest(job=job)
    if paths:
        request.update_mask = field_mask_pb2.FieldMask(paths=list(paths))
    return scheduler.update_job(request)


def get(scheduler, job_id: str = "report") -> scheduler_v1.Job:
    return scheduler.get_job(scheduler_v1.GetJobRequest(name=job_name(job_id)))


# ----------------------------------------------------------------------------------- S5


def test_s5_retry_config_defaults(scheduler):
    job = create_job(scheduler)

    config = job.retry_config
    assert config.retry_count == 0
    assert config.max_retry_duration == timedelta(0)
    assert config.min_backoff_duration == timedelta(seconds=5)
    assert config.max_backoff_duration == timedelta(hours=1)
    assert config.max_doublings == 5


def test_s5_retry_config_is_kept_as_sent(scheduler):
    retry = {
        "retry_count": 5,
        "max_retry_duration": timedelta(minutes=10),
        "min_backoff_duration": timedelta(seconds=0.5),
        "max_backoff_duration": timedelta(seconds=0),
        "max_doublings": 2,
    }
    with pytest.raises(InvalidArgument, match="minBackoffDuration must be less than or equal"):
        create_job(scheduler, retry=retry)

    retry["max_backoff_duration"] = timedelta(seconds=30)
    config = create_job(scheduler, retry=retry).retry_config
    assert (config.retry_count, config.max_doublings) == (5, 2)
    assert config.min_backoff_duration == timedelta(seconds=0.5)
    assert config.max_retry_duration == timedelta(minutes=10)


@pytest.mark.parametrize(
    ("retry", "message"),
    [
        ({"retry_count": 6}, "retryCount must be between 0 and 5, got 6"),
        ({"retry_count": -1}, "retryCount must be between 0 and 5, got -1"),
        ({"max_doublings": -1}, "maxDoublings cannot be negative"),
        ({"max_retry_duration": timedelta(seconds=-1)}, "maxRetryDuration cannot be negative"),
        ({"min_backoff_duration": timedelta(seconds=-1)}, "minBackoffDuration cannot be negative"),
        ({"min_backoff_duration": timedelta(hours=2)}, "must be less than or equal to"),
    ],
)
def test_s5_retry_config_out_of_range_is_invalid_argument(scheduler, retry, message):
    with pytest.raises(InvalidArgument, match=message):
        create_job(scheduler, retry=retry)


# ----------------------------------------------------------------------------------- S7


def test_s7_attempt_deadline_default_and_bounds(scheduler):
    assert create_job(scheduler, "a").attempt_deadline == timedelta(minutes=3)
    assert create_job(
        scheduler, "b", attempt_deadline=timedelta(seconds=15)
    ).attempt_deadline == timedelta(seconds=15)
    assert create_job(
        scheduler, "c", attempt_deadline=timedelta(minutes=30)
    ).attempt_deadline == timedelta(minutes=30)
    for wrong in (timedelta(seconds=14), timedelta(minutes=30, seconds=1)):
        with pytest.raises(InvalidArgument, match=r"attemptDeadline must be between \[15s, 30m\]"):
            create_job(scheduler, "d", attempt_deadline=wrong)


# ----------------------------------------------------------------------------------- S9


@pytest.mark.parametrize(
    ("job", "error", "message"),
    [
        (job_spec("bad.id"), InvalidArgument, 'Job ID "bad.id" can contain only letters'),
        (job_spec("x" * 501), InvalidArgument, "between 1 and 500 characters"),
        (
            scheduler_v1.Job(name="jobs/x", schedule="* * * * *"),
            InvalidArgument,
            'Job name must be formatted: "projects/<PROJECT_ID>/locations/<LOCATION_ID>/jobs/',
        ),
        (
            job_spec(None, name="projects/demo/locations/elsewhere/jobs/x"),
            InvalidArgument,
            f"must begin with {PARENT}",
        ),
        (job_spec(description="d" * 501), InvalidArgument, "description must be at most 500"),
        (job_spec(url="ftp://app.example.com/"), InvalidArgument, "must start with 'http://'"),
        (job_spec(url=""), InvalidArgument, "HttpTarget.uri is required"),
        (
            job_spec(url="https://app.example.com/" + "x" * 2060),
            InvalidArgument,
            "at most 2083 characters",
        ),
        (
            job_spec(body=b"x", http_method=scheduler_v1.HttpMethod.GET),
            InvalidArgument,
            "body is allowed only for POST, PUT and PATCH requests, not GET",
        ),
        (job_spec(body=b"x" * 1_000_001), InvalidArgument, "Job size too large"),
        (
            job_spec(headers={"X-Big": "v" * 82_000}),
            InvalidArgument,
            "headers must be smaller than 80KB",
        ),
        (
            scheduler_v1.Job(name=job_name(), schedule="* * * * *"),
            InvalidArgument,
            "httpTarget is required",
        ),
        (
            scheduler_v1.Job(
                name=job_name(),
                schedule="* * * * *",
                pubsub_target=scheduler_v1.PubsubTarget(topic_name="projects/demo/topics/t"),
            ),
            MethodNotImplemented,
            "Pub/Sub and App Engine targets are not supported",
        ),
        (job_spec(schedule=""), InvalidArgument, "Schedule or time zone is invalid."),
    ],
)
def test_s9_invalid_jobs_are_refused_with_the_field_named(scheduler, job, error, message):
    with pytest.raises(error, match=message.replace("(", r"\(").replace(")", r"\)")):
        scheduler.create_job(scheduler_v1.CreateJobRequest(parent=PARENT, job=job))


def test_s9_limits_themselves_are_accepted(scheduler):
    job = create_job(
        scheduler,
        "x" * 500,
        description="d" * 500,
        url="https://app.example.com/" + "x" * (2083 - 24),
        body=b"x" * 900_000,
    )

    assert len(job.http_target.uri) == 2083
    assert job.name.endswith("/jobs/" + "x" * 500)


# ---------------------------------------------------------------------------------- S10


def test_s10_output_fields_after_create(scheduler, clock):
    clock.advance(timedelta(seconds=20))
    job = create_job(scheduler, schedule="*/5 * * * *", body=b"{}", description="nightly")

    assert job.name == job_name()
    assert job.state == State.ENABLED
    assert job.schedule_time == START + minutes(5)  # the next run
    assert job.user_update_time == START + timedelta(seconds=20)
    assert "last_attempt_time" not in job and "status" not in job
    assert job.http_target.http_method == scheduler_v1.HttpMethod.POST
    assert (job.description, job.schedule, job.http_target.body) == (
        "nightly",
        "*/5 * * * *",
        b"{}",
    )


def test_s10_status_and_last_attempt_time_after_attempts(scheduler, cloud, dispatcher):
    create_job(scheduler)
    dispatcher.script(503, 200)

    cloud.advance(minutes=1)
    failed = get(scheduler)
    assert failed.last_attempt_time == START + minutes(1)
    assert failed.status.code == code_pb2.UNAVAILABLE
    assert failed.schedule_time == START + minutes(2)

    cloud.advance(minutes=1)
    assert get(scheduler).status.code == code_pb2.OK


def test_s10_pause_needs_enabled_and_resume_needs_paused(scheduler, cloud, dispatcher, clock):
    create_job(scheduler)
    with pytest.raises(
        FailedPrecondition, match="cannot be resumed: its state is ENABLED, and only PAUSED jobs"
    ):
        scheduler.resume_job(scheduler_v1.ResumeJobRequest(name=job_name()))

    paused = scheduler.pause_job(scheduler_v1.PauseJobRequest(name=job_name()))
    assert paused.state == State.PAUSED and "schedule_time" not in paused
    with pytest.raises(FailedPrecondition, match="only ENABLED jobs can be paused"):
        scheduler.pause_job(scheduler_v1.PauseJobRequest(name=job_name()))
    assert cloud.advance(minutes=10) == 0  # a paused job does not fire

    resumed = scheduler.resume_job(scheduler_v1.ResumeJobRequest(name=job_name()))
    assert resumed.state == State.ENABLED
    assert resumed.schedule_time == START + minutes(11)  # missed slots are not fired
    assert resumed.user_update_time == START + minutes(10)
    assert cloud.advance(minutes=1) == 1


def test_s10_a_disabled_job_cannot_be_paused_or_resumed_and_does_not_fire(scheduler, cloud):
    create_job(scheduler)

    assert scheduler.disable_job(job_name()).state == State.DISABLED
    for call in (scheduler.pause_job, scheduler.resume_job):
        with pytest.raises(FailedPrecondition, match="its state is DISABLED"):
            call(scheduler_v1.PauseJobRequest(name=job_name()))
    assert cloud.advance(minutes=5) == 0


def test_s10_update_mask_changes_only_the_named_fields(scheduler, clock):
    create_job(scheduler, schedule="0 * * * *", description="old", headers={"X-A": "1"})
    clock.advance(minutes(5))

    change = job_spec(schedule="*/10 * * * *", description="new", url="https://other.example/")
    updated = update(scheduler, change, "description")

    assert updated.description == "new"
    assert updated.schedule == "0 * * * *" and updated.http_target.uri == URL
    assert updated.schedule_time == START + minutes(60)  # schedule unchanged
    assert updated.user_update_time == START + minutes(5)

    updated = update(scheduler, change, "schedule", "http_target.uri", "state", "schedule_time")
    assert updated.schedule == "*/10 * * * *"
    assert updated.http_target.uri == "https://other.example/"
    assert updated.http_target.headers == {"X-A": "1"}  # a sibling field kept
    assert updated.schedule_time == START + minutes(10)  # recomputed from now
    assert updated.state == State.ENABLED  # output-only paths are ignored


def test_s10_update_without_a_mask_replaces_the_fields_that_are_set(scheduler):
    create_job(scheduler, description="old", retry={"retry_count": 2})

    updated = update(scheduler, scheduler_v1.Job(name=job_name(), description="new"))

    assert updated.description == "new"
    assert updated.schedule == "* * * * *" and updated.retry_config.retry_count == 2


def test_s10_update_validates_like_create(scheduler):
    create_job(scheduler)

    with pytest.raises(InvalidArgument, match="Invalid update_mask paths: nope"):
        update(scheduler, job_spec(), "nope")
    with pytest.raises(InvalidArgument, match="Schedule or time zone is invalid"):
        update(scheduler, job_spec(time_zone="Mars/Olympus"), "time_zone")
    with pytest.raises(NotFound, match="Job not found"):
        update(scheduler, job_spec("missing"), "description")
    assert get(scheduler).time_zone == "Etc/UTC"


def test_create_get_list_delete(scheduler):
    for job_id in ("c", "a", "b"):
        create_job(scheduler, job_id)
    unnamed = create_job(scheduler, None)
    with pytest.raises(AlreadyExists, match=f"Job {job_name('a')} already exists."):
        create_job(scheduler, "a")

    assert unnamed.name.startswith(PARENT + "/jobs/")
    assert get(scheduler, "b").name == job_name("b")
    first = scheduler.list_jobs(scheduler_v1.ListJobsRequest(parent=PARENT, page_size=2))
    second = scheduler.list_jobs(
        scheduler_v1.ListJobsRequest(parent=PARENT, page_size=2, page_token=first.next_page_token)
    )
    names = [j.name for j in [*first.jobs, *second.jobs]]
    assert names == sorted(names) and len(names) == 4 and not second.next_page_token
    other = scheduler.list_jobs(scheduler_v1.ListJobsRequest(parent="projects/demo/locations/x"))
    assert list(other.jobs) == []

    scheduler.delete_job(scheduler_v1.DeleteJobRequest(name=job_name("a")))
    for call in (scheduler.get_job, scheduler.delete_job, scheduler.run_job):
        with pytest.raises(NotFound, match="Job not found"):
            call(scheduler_v1.GetJobRequest(name=job_name("a")))
    create_job(scheduler, "a")  # the name can be used again at once
