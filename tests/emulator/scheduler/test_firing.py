"""Cloud Scheduler jobs firing on a virtual clock: no overlap (S3), RunJob (S4), retries and
backoff (S5), success and deadlines (S6, S7), request headers (S8) and OIDC tokens (S11)."""

from __future__ import annotations

import itertools
from datetime import timedelta

import pytest
from google.auth import jwt
from google.cloud import scheduler_v1
from google.rpc import code_pb2

from emulator import DeliveryResult
from tests.emulator.conftest import START, URL
from tests.emulator.scheduler_support import (
    ACCOUNT,
    create_job,
    job_name,
    minutes,
    schedule_times,
    track_times,
)


@pytest.fixture
def scheduler(cloud):
    return cloud.scheduler


def seconds(value: float) -> timedelta:
    return timedelta(seconds=value)


# ----------------------------------------------------------------------------------- S3


def test_s3_a_slow_run_delays_the_next_slot_and_missed_slots_collapse(
    scheduler, cloud, clock, dispatcher
):
    # The 09:01 run answers after 170 s: the 09:02 and 09:03 slots pass while it runs.
    dispatcher.script(DeliveryResult(200, elapsed=seconds(170)), 200)
    times = track_times(dispatcher, clock)
    create_job(scheduler)

    cloud.advance(minutes=5)

    assert times == [
        START + minutes(1),
        START + minutes(1) + seconds(170),  # delayed until the previous run ended
        START + minutes(4),
        START + minutes(5),
    ]
    assert schedule_times(dispatcher)[:2] == ["2025-01-06T09:01:00Z", "2025-01-06T09:03:00Z"]


def test_s3_s5_retries_end_before_the_next_slot_so_runs_never_overlap(
    scheduler, cloud, clock, dispatcher
):
    dispatcher.script(500, 500, 200)
    times = track_times(dispatcher, clock)
    create_job(
        scheduler,
        schedule="*/2 * * * *",
        retry={"retry_count": 3, "min_backoff_duration": seconds(50), "max_doublings": 1},
    )

    cloud.advance(minutes=5)

    # 09:02 fails, retried at +50 s; that fails, the next retry (+100 s) would pass 09:04: the
    # run gives up (S5) and 09:04 fires on time; never two runs at once.
    assert times == [START + minutes(2), START + minutes(2) + seconds(50), START + minutes(4)]
    assert [r.retry_count for r in scheduler.fires] == [0, 1, 0]


# ----------------------------------------------------------------------------------- S4


def test_s4_run_job_dispatches_now_even_while_a_run_is_in_flight(
    scheduler, cloud, clock, dispatcher
):
    create_job(scheduler, schedule="0 * * * *")
    forced: list[scheduler_v1.Job] = []
    calls: list[str] = []

    def during_the_scheduled_request(delivery):
        calls.append(delivery.headers["X-CloudScheduler-ScheduleTime"])
        if len(calls) == 1:  # the 10:00 run is in flight: force another one
            forced.append(scheduler.run_job(scheduler_v1.RunJobRequest(name=job_name())))

    dispatcher.on_delivery = during_the_scheduled_request
    clock.advance(minutes(59) + seconds(30))
    cloud.advance(seconds=30)

    assert len(dispatcher.deliveries) == 2
    assert schedule_times(dispatcher) == ["2025-01-06T10:00:00Z", "2025-01-06T10:00:00Z"]
    assert forced[0].name == job_name() and forced[0].last_attempt_time == START + minutes(60)


def test_s4_run_job_returns_the_job_and_is_retried_like_a_run(scheduler, cloud, clock, dispatcher):
    create_job(scheduler, schedule="0 0 1 1 *", retry={"retry_count": 1})
    clock.advance(seconds(12.5))
    dispatcher.script(503, 200)

    job = scheduler.run_job(scheduler_v1.RunJobRequest(name=job_name()))

    assert job.last_attempt_time == START + seconds(12.5)
    assert schedule_times(dispatcher) == ["2025-01-06T09:00:12.500000Z"]  # the RunJob time
    assert scheduler.get_job(scheduler_v1.GetJobRequest(name=job_name())).schedule_time == (
        START + seconds(12.5 + 5)  # the retry, 5 s (min backoff) after the failure
    )
    assert cloud.run_until_idle() == 1
    assert schedule_times(dispatcher)[1] == "2025-01-06T09:00:12.500000Z"


def test_s4_run_job_works_on_a_paused_job(scheduler, dispatcher):
    create_job(scheduler)
    scheduler.pause_job(scheduler_v1.PauseJobRequest(name=job_name()))

    job = scheduler.run_job(scheduler_v1.RunJobRequest(name=job_name()))

    assert job.state == scheduler_v1.Job.State.PAUSED
    assert len(dispatcher.deliveries) == 1


# ----------------------------------------------------------------------------------- S5


def test_s5_retries_back_off_with_the_t4_formula(scheduler, cloud, clock, dispatcher):
    dispatcher.script(500)
    times = track_times(dispatcher, clock)
    retry = {
        "retry_count": 5,
        "min_backoff_duration": seconds(10),
        "max_backoff_duration": seconds(60),
        "max_doublings": 2,
    }
    create_job(scheduler, schedule="0 * * * *", retry=retry)

    cloud.advance(minutes=90)

    gaps = [(b - a).total_seconds() for a, b in itertools.pairwise(times)]
    assert gaps == [10, 20, 40, 60, 60]  # doubles twice, then linear (80) capped at max (60)
    assert len(times) == 6  # the first attempt and retry_count retries


def test_s5_retry_count_zero_means_no_retry(scheduler, cloud, dispatcher):
    dispatcher.script(500)
    create_job(scheduler, schedule="0 * * * *")

    cloud.advance(minutes=59)

    assert len(dispatcher.deliveries) == 0
    cloud.advance(minutes=30)
    assert len(dispatcher.deliveries) == 1


def test_s5_retries_stop_at_the_next_scheduled_time(scheduler, cloud, clock, dispatcher):
    dispatcher.script(500, 500, 500, 200)
    times = track_times(dispatcher, clock)
    create_job(scheduler, retry={"retry_count": 5, "min_backoff_duration": seconds(20)})

    cloud.advance(minutes=2)

    # 09:01:00 fails, retried at :20; the next retry (+40 s) would reach 09:02: given up.
    assert times == [START + minutes(1), START + minutes(1) + seconds(20), START + minutes(2)]
    assert schedule_times(dispatcher) == [
        "2025-01-06T09:01:00Z",
        "2025-01-06T09:01:00Z",
        "2025-01-06T09:02:00Z",
    ]


def test_s5_max_retry_duration_retries_until_both_limits_are_reached(
    scheduler, cloud, clock, dispatcher
):
    dispatcher.script(500)
    times = track_times(dispatcher, clock)
    retry = {
        "retry_count": 1,
        "max_retry_duration": seconds(60),
        "min_backoff_duration": seconds(10),
        "max_doublings": 5,
    }
    create_job(scheduler, schedule="0 * * * *", retry=retry)

    cloud.advance(minutes=90)

    offsets = [(t - times[0]).total_seconds() for t in times]
    assert offsets == [0, 10, 30, 70]  # 2 attempts reached at 10 s, 60 s elapsed at 70 s


# ------------------------------------------------------------------------------ S6, S7


@pytest.mark.parametrize(
    ("status", "retried"),
    [(200, False), (204, False), (299, False), (302, True), (404, True), (500, True)],
)
def test_s6_2xx_is_success_and_anything_else_a_failure(
    scheduler, cloud, dispatcher, status, retried
):
    dispatcher.script(status, 200)
    create_job(scheduler, schedule="0 * * * *", retry={"retry_count": 1})

    cloud.advance(minutes=61)

    assert len(dispatcher.deliveries) == (2 if retried else 1)


def test_s6_s7_no_response_within_the_deadline_is_a_failed_attempt(
    scheduler, cloud, clock, dispatcher
):
    deadline = seconds(30)
    dispatcher.script(DeliveryResult(200, elapsed=seconds(31)), None, 200)
    times = track_times(dispatcher, clock)
    create_job(scheduler, schedule="0 * * * *", attempt_deadline=deadline, retry={"retry_count": 2})

    cloud.advance(minutes=61)

    assert dispatcher.deliveries[0].deadline == deadline
    # A 200 after 31 s is too late: failed at the deadline (10:00:30), retried 5 s later;
    # no response at all fails too, retried 10 s later.
    first = START + minutes(60)
    assert times == [first, first + seconds(35), first + seconds(45)]
    assert scheduler.fires[0].response_status is None
    job = scheduler.get_job(scheduler_v1.GetJobRequest(name=job_name()))
    assert job.status.code == code_pb2.OK


def test_s7_the_status_of_a_timeout_is_deadline_exceeded(scheduler, cloud, dispatcher):
    dispatcher.script(DeliveryResult(200, elapsed=timedelta(minutes=4)))
    create_job(scheduler)

    cloud.advance(minutes=1)

    job = scheduler.get_job(scheduler_v1.GetJobRequest(name=job_name()))
    assert job.status.code == code_pb2.DEADLINE_EXCEEDED  # default deadline: 3 min


# ----------------------------------------------------------------------------------- S8


def test_s8_headers_method_and_body(scheduler, cloud, dispatcher):
    create_job(
        scheduler,
        "nightly-report",
        body=b"\x00\x01",
        headers={
            "X-Custom-Casing": "kept",
            "User-Agent": "mine",
            "X-CloudScheduler-JobName": "forged",
            "X-Google-Thing": "dropped",
        },
    )

    cloud.advance(minutes=1)

    (delivery,) = dispatcher.deliveries
    assert (delivery.url, delivery.http_method, delivery.body) == (URL, "POST", b"\x00\x01")
    assert delivery.headers == {
        "X-Custom-Casing": "kept",
        "Content-Type": "application/octet-stream",
        "User-Agent": "Google-Cloud-Scheduler",
        "X-CloudScheduler": "true",
        "X-CloudScheduler-JobName": "nightly-report",
        "X-CloudScheduler-ScheduleTime": "2025-01-06T09:01:00Z",
    }
    assert delivery.job_id == "nightly-report"


def test_s8_a_content_type_given_is_kept_and_none_is_added_without_body(
    scheduler, cloud, dispatcher
):
    create_job(scheduler, "json", body=b"{}", headers={"content-type": "application/json"})
    create_job(scheduler, "get", http_method=scheduler_v1.HttpMethod.GET)

    cloud.advance(minutes=1)

    by_job = {d.job_id: d for d in dispatcher.deliveries}
    assert by_job["json"].headers["content-type"] == "application/json"
    assert "Content-Type" not in by_job["json"].headers
    assert by_job["get"].http_method == "GET"
    assert not any(k.lower() == "content-type" for k in by_job["get"].headers)


def test_s8_the_schedule_time_is_the_slot_in_utc(scheduler, cloud, dispatcher):
    create_job(scheduler, schedule="0 11 * * *", time_zone="Europe/Paris")

    cloud.advance(hours=1)

    assert schedule_times(dispatcher) == ["2025-01-06T10:00:00Z"]


# ---------------------------------------------------------------------------------- S11


def test_s11_oidc_token_with_the_uri_as_default_audience(scheduler, cloud, dispatcher):
    create_job(scheduler, "a", oidc=scheduler_v1.OidcToken(service_account_email=ACCOUNT))
    create_job(
        scheduler,
        "b",
        oidc=scheduler_v1.OidcToken(service_account_email=ACCOUNT, audience="https://aud/"),
    )
    create_job(scheduler, "c")

    cloud.advance(minutes=1)

    by_job = {d.job_id: d.headers for d in dispatcher.deliveries}
    for job_id, audience in (("a", URL), ("b", "https://aud/")):
        scheme, _, token = by_job[job_id]["Authorization"].partition(" ")
        claims = jwt.decode(token, certs=cloud.oidc.pem_certs(), audience=audience)
        assert scheme == "Bearer" and claims["email"] == ACCOUNT
        assert claims["email_verified"] is True and claims["iss"] == cloud.oidc.issuer
    assert "Authorization" not in by_job["c"]


# ------------------------------------------------------------------------ LocalCloud


def test_run_until_idle_does_not_chase_recurring_slots(scheduler, cloud, clock, dispatcher):
    create_job(scheduler, schedule="*/10 * * * *")

    assert cloud.run_until_idle() == 0
    assert clock.now() == START


def test_run_until_idle_fires_slots_passed_on_the_way_to_other_work(
    scheduler, cloud, clock, dispatcher, queue, add_task
):
    create_job(scheduler, schedule="*/10 * * * *")
    add_task("later", schedule_time=START + minutes(25))

    assert cloud.run_until_idle() == 3  # 09:10 and 09:20 fire, then the task
    assert clock.now() == START + minutes(25)
