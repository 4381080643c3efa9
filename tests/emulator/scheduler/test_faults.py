"""Fault injection for Cloud Scheduler: drop a fire, fire twice, fire late, fail an attempt or
an RPC; rules matched by job id, and their JSON form."""

from __future__ import annotations

import pytest
from google.api_core.exceptions import InternalServerError, NotFound, ServiceUnavailable
from google.cloud import scheduler_v1

from emulator import (
    DropFire,
    Duplicate,
    FaultRule,
    FireLate,
    HttpStatus,
    LocalCloud,
    RpcError,
    Timeout,
    VirtualClock,
)
from emulator.kit.faults import rule_from_json, rule_to_json
from tests.emulator.conftest import START
from tests.emulator.scheduler_support import (
    create_job,
    job_name,
    job_spec,
    minutes,
    schedule_times,
    track_times,
)


@pytest.fixture
def scheduler(cloud):
    return cloud.scheduler


def fire_rule(effect, **fields) -> FaultRule:
    return FaultRule(service="scheduler", operation="fire", effect=effect, **fields)


def test_drop_fire_skips_one_slot(scheduler, cloud):
    cloud.faults.add(fire_rule(DropFire(), job="report", count=1))
    create_job(scheduler)
    create_job(scheduler, "other")

    cloud.advance(minutes=2)

    fired = sorted((r.schedule_time, r.job_id, r.fault) for r in scheduler.fires)
    assert fired == [
        (START + minutes(1), "other", None),
        (START + minutes(1), "report", "drop_fire"),
        (START + minutes(2), "other", None),
        (START + minutes(2), "report", None),
    ]


def test_duplicate_fire_sends_the_same_request_twice(scheduler, cloud, dispatcher):
    cloud.faults.add(fire_rule(Duplicate(), count=1))
    create_job(scheduler)

    cloud.advance(minutes=2)

    first, second, third = dispatcher.deliveries
    assert first.headers == second.headers  # same JobName + ScheduleTime: the de-duplication key
    assert schedule_times(dispatcher) == [
        "2025-01-06T09:01:00Z",
        "2025-01-06T09:01:00Z",
        "2025-01-06T09:02:00Z",
    ]
    assert [r.duplicate for r in scheduler.fires[:2]] == [False, True]
    assert third.headers["X-CloudScheduler-ScheduleTime"] == "2025-01-06T09:02:00Z"


def test_fire_late_keeps_the_schedule_time_and_holds_the_next_slot(
    scheduler, cloud, clock, dispatcher
):
    cloud.faults.add(fire_rule(FireLate(90), count=1))
    times = track_times(dispatcher, clock)
    create_job(scheduler)

    cloud.advance(minutes=4)

    # 09:01 is sent at 09:02:30; 09:02 passed meanwhile, so it waits for that run (S3).
    assert times[:3] == [START + minutes(2.5), START + minutes(2.5), START + minutes(3)]
    assert schedule_times(dispatcher)[:3] == [
        "2025-01-06T09:01:00Z",
        "2025-01-06T09:02:00Z",
        "2025-01-06T09:03:00Z",
    ]


def test_dispatch_faults_fail_attempts_which_are_retried(scheduler, cloud, dispatcher):
    cloud.faults.add(
        FaultRule(service="scheduler", operation="dispatch", effect=HttpStatus(503), count=1)
    )
    cloud.faults.add(
        FaultRule(service="scheduler", operation="dispatch", effect=Timeout(), count=1)
    )
    create_job(scheduler, schedule="0 * * * *", retry={"retry_count": 2})

    cloud.advance(minutes=65)  # the timeout ends its attempt 3 min (the deadline) after 10:00

    assert [(r.response_status, r.fault) for r in scheduler.fires] == [
        (503, "http_status"),
        (None, "timeout"),
        (200, None),
    ]
    assert len(dispatcher.deliveries) == 1  # the faults answered without calling the handler


def test_rpc_faults_match_the_job_id(scheduler, cloud):
    effect = RpcError("UNAVAILABLE", "try again")
    cloud.faults.add(
        FaultRule(service="scheduler", operation="CreateJob", job="flaky", effect=effect)
    )

    with pytest.raises(ServiceUnavailable, match="try again"):
        create_job(scheduler, "flaky")
    create_job(scheduler, "steady")


def test_s10_a_failed_update_leaves_the_job_update_failed_until_an_update_succeeds(
    scheduler, cloud, dispatcher
):
    create_job(scheduler)
    cloud.faults.add(
        FaultRule(service="scheduler", operation="UpdateJob", effect=RpcError("INTERNAL"), count=1)
    )
    request = scheduler_v1.UpdateJobRequest(job=job_spec(description="new"))

    with pytest.raises(InternalServerError, match="Injected fault"):
        scheduler.update_job(request)
    failed = scheduler.get_job(scheduler_v1.GetJobRequest(name=job_name()))
    assert failed.state == scheduler_v1.Job.State.UPDATE_FAILED
    assert cloud.advance(minutes=3) == 0  # an UPDATE_FAILED job does not fire

    assert scheduler.update_job(request).state == scheduler_v1.Job.State.ENABLED
    assert cloud.advance(minutes=1) == 1


def test_get_on_a_missing_job_is_not_found_even_with_faults_for_others(scheduler, cloud):
    cloud.faults.add(
        FaultRule(service="scheduler", operation="GetJob", job="x", effect=RpcError("INTERNAL"))
    )

    with pytest.raises(NotFound):
        scheduler.get_job(scheduler_v1.GetJobRequest(name=job_name("y")))


@pytest.mark.parametrize(
    ("fields", "message"),
    [
        ({"operation": "fire", "effect": HttpStatus(500)}, "needs a DropFire, FireLate or Dupl"),
        ({"operation": "dispatch", "effect": DropFire()}, "needs an HttpStatus"),
        ({"operation": "fire", "effect": Duplicate(), "queue": "q"}, "use job"),
        ({"operation": "fire", "effect": FireLate(-1)}, "must not be negative"),
        ({"operation": "PurgeQueue", "effect": RpcError("INTERNAL")}, "not an operation"),
    ],
)
def test_invalid_scheduler_rules_are_refused(fields, message):
    with pytest.raises(ValueError, match=message):
        FaultRule(service="scheduler", **fields)


def test_scheduler_rules_round_trip_through_json():
    rules = [
        fire_rule(DropFire(), job="report", count=1),
        fire_rule(FireLate(2.5), probability=0.5),
        fire_rule(Duplicate()),
        FaultRule(service="scheduler", operation="RunJob", job="x", effect=RpcError("INTERNAL")),
    ]
    for rule in rules:
        assert rule_from_json(rule_to_json(rule)) == rule
    assert rule_to_json(rules[1])["effect"] == {"type": "fire_late", "seconds": 2.5}


def test_probability_and_seed_make_faults_repeatable(dispatcher):
    def dropped(seed: int) -> list[bool]:
        cloud = LocalCloud(VirtualClock(START), dispatcher, fault_seed=seed)
        cloud.faults.add(fire_rule(DropFire(), probability=0.5))
        create_job(cloud.scheduler)
        cloud.advance(minutes=20)
        return [r.fault == "drop_fire" for r in cloud.scheduler.fires]

    assert dropped(7) == dropped(7)
    assert 0 < sum(dropped(7)) < 20
